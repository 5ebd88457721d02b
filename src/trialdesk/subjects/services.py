"""Screening, enrollment and the visit schedule of a subject (audited)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.audit.services import Actor, audited, record
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.models import Site
from trialdesk.subjects.models import Subject, SubjectStatus, Visit


class SubjectActionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _audit_subject(actor: Actor, subject: Subject, action: str, **values) -> None:
    record(
        actor,
        action,
        study_id=subject.study_id,
        site=subject.site,
        object_type="subject",
        object_id=subject.pk,
        object_label=subject.label,
        **values,
    )


def _locked_row(subject: Subject) -> Subject:
    """The subject re-read under a row lock; refused when it, its site or the study is locked."""
    from trialdesk.crf.services import lock_reason

    subject = (
        Subject.objects.system("subject workflow, after its permission check")
        .select_for_update(of=("self",)).select_related("site", "study").get(pk=subject.pk)
    )
    if (why := lock_reason(subject)) is not None:
        raise SubjectActionRefused(why)
    return subject


def next_screening_number(site: Site) -> str:
    count = Subject.objects.system("numbering counts every screening of the site").filter(site=site).count()
    return f"{site.code}-S{count + 1:02d}"


def next_subject_code(site: Site) -> str:
    count = (
        Subject.objects.system("numbering counts every enrollment of the site")
        .filter(site=site, subject_code__isnull=False).count()
    )
    return f"{site.code}-{count + 1:03d}"


def register_screening(
    user,
    site: Site,
    *,
    screened_on: dt.date,
    sex: str = "U",
    year_of_birth: int | None = None,
    initials: str = "",
    today: dt.date | None = None,
    age_at_screening: int | None = None,
    rescreen_of: Subject | None = None,
) -> Subject:
    """Open a screening episode at a site: a screening number and the screening visit.

    The patient is pseudonymised: a year of birth *or* an age at screening, never a
    full birth date. ``rescreen_of`` names the screen failure this episode re-screens:
    the new episode gets its own number and starts with no data of the previous one.
    """
    study = site.study
    access = study_access(user, study)
    require(access, Permission.SCREEN, site.pk)
    today = today or timezone.localdate()  # the trial's day (Europe/Paris), not the server's
    if screened_on > today:
        raise SubjectActionRefused(_("The screening date cannot be in the future."))
    if year_of_birth is not None and age_at_screening is not None:
        raise SubjectActionRefused(_("Give the year of birth or the age at screening, not both."))
    if year_of_birth is not None and not (today.year - 120 <= year_of_birth <= today.year):
        raise SubjectActionRefused(_("The year of birth is not plausible."))
    if age_at_screening is not None and not (0 <= age_at_screening <= 120):
        raise SubjectActionRefused(_("The age at screening is not plausible."))
    actor = Actor.for_user(user, access.role_for(Permission.SCREEN, site.pk))
    with audited():
        Site.objects.select_for_update().filter(pk=site.pk).first()  # serialise numbering per site
        previous = None
        if rescreen_of is not None:
            previous = _rescreenable(rescreen_of, site, screened_on)
        subject = Subject.objects.create(
            study=study,
            site=site,
            screening_number=next_screening_number(site),
            sex=sex,
            year_of_birth=year_of_birth,
            age_at_screening=age_at_screening,
            initials=initials.strip().upper()[:4],
            screened_on=screened_on,
            rescreen_of=previous,
        )
        if previous is None:
            _audit_subject(actor, subject, "create", new_value=SubjectStatus.SCREENING)
        else:
            _audit_subject(
                actor,
                subject,
                "create",
                new_value={"status": SubjectStatus.SCREENING, "rescreen_of": previous.screening_number},
            )
            _audit_subject(actor, previous, "rescreen", new_value={"rescreened_as": subject.screening_number})
        screening_visit = next(
            (v for v in study.protocol.schedule.expanded_visits() if study.protocol.eligibility.form in v.forms),
            None,
        )
        if screening_visit is not None:
            Visit.objects.create(
                subject=subject,
                code=screening_visit.code,
                title=screening_visit.title,
                sequence=0,
                planned_date=screened_on,
                actual_date=screened_on,
            )
    return subject


def _rescreenable(previous: Subject, site: Site, screened_on: dt.date) -> Subject:
    """The screen failure a new episode re-screens, locked; refused unless it can be."""
    previous = Subject.objects.system("subject workflow, after its permission check").select_for_update(of=("self",)).filter(pk=previous.pk).first()
    if previous is None or previous.site_id != site.pk:
        raise SubjectActionRefused(_("A patient is re-screened at the site that screened them."))
    if previous.status != SubjectStatus.SCREEN_FAILED:
        raise SubjectActionRefused(_("Only a screen failure can be re-screened."))
    if Subject.objects.system("subject workflow, after its permission check").filter(rescreen_of=previous).exists():
        raise SubjectActionRefused(
            _("This screening episode was already re-screened; re-screen the latest episode instead.")
        )
    if screened_on < previous.screened_on:
        raise SubjectActionRefused(_("A re-screening cannot be dated before the screening it follows."))
    return previous


def create_visit_schedule(subject: Subject, day_one: dt.date, actor: Actor) -> list[Visit]:
    """The subject's visits from the protocol. Visits anchored on the first dose (day 0 =
    ``day_one``) get their planned date and window; those anchored on the end of treatment,
    or with no day, get dates once that event is known."""
    visits = []
    existing = set(subject.visits.values_list("code", flat=True))
    for sequence, planned in enumerate(subject.study.protocol.schedule.expanded_visits(), start=1):
        if planned.code in existing:
            continue
        planned_date = window_start = window_end = None
        if planned.anchor == "first_dose" and planned.day is not None:
            planned_date = day_one + dt.timedelta(days=planned.day)
            window_start = planned_date - dt.timedelta(days=planned.window_before)
            window_end = planned_date + dt.timedelta(days=planned.window_after)
        visits.append(
            Visit(
                subject=subject,
                code=planned.code,
                title=planned.title,
                sequence=sequence,
                planned_date=planned_date,
                window_start=window_start,
                window_end=window_end,
            )
        )
    Visit.objects.bulk_create(visits)
    _audit_subject(actor, subject, "schedule", new_value={"day_one": day_one.isoformat(), "visits": len(visits)})
    return visits


def record_visit_dates(user, visit: Visit, *, planned_date: dt.date | None, actual_date: dt.date | None) -> None:
    """Set when a visit was planned and when it took place (audited)."""
    subject = visit.subject
    access = study_access(user, subject.study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    actor = Actor.for_user(user, access.role_for(Permission.ENTER_DATA, subject.site_id))
    with audited():
        _locked_row(subject)
        for name, new in (("planned_date", planned_date), ("actual_date", actual_date)):
            old = getattr(visit, name)
            if old == new:
                continue
            setattr(visit, name, new)
            record(
                actor,
                "change",
                study_id=subject.study_id,
                site=subject.site,
                object_type="visit",
                object_id=visit.pk,
                object_label=f"{subject.label} {visit.code}",
                field=name,
                old_value=old.isoformat() if old else None,
                new_value=new.isoformat() if new else None,
            )
        visit.save(update_fields=["planned_date", "actual_date"])


def set_status(subject: Subject, status: str, actor: Actor, reason: str = "") -> None:
    with audited():
        subject = _locked_row(subject)
        old = subject.status
        subject.status = status
        subject.save(update_fields=["status"])
        _audit_subject(actor, subject, "status", field="status", old_value=old, new_value=status, reason=reason)


_QUERY = object()


def screening_values(subject: Subject, record_=_QUERY) -> tuple[dict, dict[str, dt.date]]:
    """The subject's screening answers (typed) and the date each was measured.

    A value's date is its own ``<field>_date`` when the form has one, else the form's
    first date field (the date of the screening assessments), else the screening visit's.
    ``record_``: the subject's screening FormRecord (or None) when the caller loaded it
    already (lists load them in one query).
    """
    from trialdesk.crf.models import FormRecord
    from trialdesk.protocol.formdata import typed_values

    protocol = subject.study.protocol
    form = protocol.form(protocol.eligibility.form)
    if record_ is _QUERY:
        record_ = (
            FormRecord.objects.read_as(subject).filter(subject=subject, form_code=form.code).select_related("visit").first()
        )
    if record_ is None:
        return {}, {}
    values = typed_values(form, record_.data)
    form_date = next((values[f.code] for f in form.fields if f.type == "date" and values.get(f.code)), None)
    default_date = form_date or (record_.visit.actual_date if record_.visit else None) or subject.screened_on
    dates = {}
    for code in values:
        own = values.get(f"{code}_date")
        dates[code] = own if isinstance(own, dt.date) else default_date
    return {k: v for k, v in values.items() if v is not None}, dates


def assess(subject: Subject, as_of: dt.date | None, record_=_QUERY):
    from trialdesk.clinical.eligibility import assess_eligibility

    values, dates = screening_values(subject, record_)
    return assess_eligibility(subject.study.protocol, values, value_dates=dates, as_of=as_of)


def enroll(
    user,
    subject: Subject,
    *,
    consent_date: dt.date,
    enrolled_on: dt.date,
    today: dt.date | None = None,
) -> Subject:
    """Enroll an eligible, consented subject: its id, its visit schedule, status enrolled."""
    access = study_access(user, subject.study)
    require(access, Permission.ENROLL, subject.site_id)
    today = today or timezone.localdate()  # the trial's day (Europe/Paris), not the server's
    with audited():
        subject = _locked_row(subject)
        if subject.status != SubjectStatus.SCREENING:
            raise SubjectActionRefused(
                _("This screening episode is closed (%(status)s); it cannot be enrolled.")
                % {"status": subject.get_status_display()}
            )
        if enrolled_on > today:
            raise SubjectActionRefused(_("The enrollment date cannot be in the future."))
        if consent_date > enrolled_on:
            raise SubjectActionRefused(_("Consent must be given on or before the enrollment date."))
        if enrolled_on < subject.screened_on:
            raise SubjectActionRefused(_("The enrollment date cannot be before screening."))
        result = assess(subject, enrolled_on)
        if result.verdict != "eligible":
            names = ", ".join(c.code for c in result.criteria if c.status != "met")
            raise SubjectActionRefused(
                _("Not eligible on %(date)s (%(criteria)s): enrollment refused.")
                % {"date": enrolled_on.isoformat(), "criteria": names}
            )
        actor = Actor.for_user(user, access.role_for(Permission.ENROLL, subject.site_id))
        Site.objects.select_for_update().filter(pk=subject.site_id).first()
        subject.subject_code = next_subject_code(subject.site)
        subject.consent_date = consent_date
        subject.enrolled_on = enrolled_on
        subject.status = SubjectStatus.ENROLLED
        subject.save(update_fields=["subject_code", "consent_date", "enrolled_on", "status"])
        _audit_subject(
            actor,
            subject,
            "enroll",
            field="status",
            old_value=SubjectStatus.SCREENING,
            new_value={
                "status": SubjectStatus.ENROLLED,
                "subject_code": subject.subject_code,
                "consent_date": consent_date.isoformat(),
                "enrolled_on": enrolled_on.isoformat(),
                "eligibility": [c.code for c in result.criteria],
            },
        )
        create_visit_schedule(subject, enrolled_on, actor)
    return subject


def record_screen_failure(user, subject: Subject, *, as_of: dt.date | None = None, reason: str = "") -> list[str]:
    """Close the screening episode as a failure, recording the criteria not met."""
    access = study_access(user, subject.study)
    require(access, Permission.SCREEN, subject.site_id)
    with audited():
        subject = _locked_row(subject)
        if subject.status != SubjectStatus.SCREENING:
            raise SubjectActionRefused(_("This screening episode is already closed."))
        result = assess(subject, as_of or subject.screened_on)
        failed = [c.code for c in result.criteria if c.status == "not_met"]
        if not failed and not reason.strip():
            raise SubjectActionRefused(
                _("No criterion is failed: say why this patient is a screen failure (e.g. consent refused).")
            )
        actor = Actor.for_user(user, access.role_for(Permission.SCREEN, subject.site_id))
        subject.status = SubjectStatus.SCREEN_FAILED
        subject.screen_failure_criteria = failed
        subject.screen_failure_reason = reason.strip()
        subject.save(update_fields=["status", "screen_failure_criteria", "screen_failure_reason"])
        _audit_subject(
            actor,
            subject,
            "screen_failure",
            field="status",
            old_value=SubjectStatus.SCREENING,
            new_value={"status": SubjectStatus.SCREEN_FAILED, "criteria_not_met": failed},
            reason=reason,
        )
    return failed
