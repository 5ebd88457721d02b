"""Screening, enrollment and the visit schedule of a subject (audited)."""

from __future__ import annotations

import datetime as dt

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited, record
from trialdesk.clinical.calendar import (
    END_OF_TREATMENT,
    FIRST_DOSE,
    VisitState,
    plan_calendar,
    screening_window_check,
)
from trialdesk.protocol.model import consent_version_on
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.models import OperationalStatus, Site, Study
from trialdesk.studies.services import operational_status
from trialdesk.subjects.models import ON_STUDY, Consent, Subject, SubjectStatus, Visit


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
        .select_for_update(of=("self",))
        .select_related("site", "study")
        .get(pk=subject.pk)
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
        .filter(site=site, subject_code__isnull=False)
        .count()
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
    if site.activated_on is not None and screened_on < site.activated_on:
        # the site's activation date (set by the sponsor administrator): it opens for screening then
        raise SubjectActionRefused(
            _("This site opens for screening on %(date)s: no patient is screened there before that day.")
            % {"date": formats.date_format(site.activated_on, "DATE_FORMAT")}
        )
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
            (
                v
                for v in study.protocol.schedule.expanded_visits()
                if study.protocol.eligibility.form in v.forms
            ),
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
    previous = (
        Subject.objects.system("subject workflow, after its permission check")
        .select_for_update(of=("self",))
        .filter(pk=previous.pk)
        .first()
    )
    if previous is None or previous.site_id != site.pk:
        raise SubjectActionRefused(_("A patient is re-screened at the site that screened them."))
    if previous.status != SubjectStatus.SCREEN_FAILED:
        raise SubjectActionRefused(_("Only a screen failure can be re-screened."))
    if (
        Subject.objects.system("subject workflow, after its permission check")
        .filter(rescreen_of=previous)
        .exists()
    ):
        raise SubjectActionRefused(
            _("This screening episode was already re-screened; re-screen the latest episode instead.")
        )
    if screened_on < previous.screened_on:
        raise SubjectActionRefused(_("A re-screening cannot be dated before the screening it follows."))
    return previous


def _visit_label(subject: Subject, visit: Visit) -> str:
    return f"{subject.label} {visit.code}"


def _dates(visit) -> dict[str, str | None]:
    return {
        name: value.isoformat() if (value := getattr(visit, name)) else None
        for name in ("planned_date", "window_start", "window_end")
    }


def replan_visits(subject: Subject, actor: Actor, reason: str) -> list[Visit]:
    """Plan the subject's visits again from its anchors (the first dose given, else the one
    planned; the end of treatment once known) with :func:`trialdesk.clinical.calendar.plan_calendar`.

    A visit that took place (an actual date) or holds data keeps its dates; the others move.
    Visits of the schedule the subject does not have yet are created (one ``schedule`` event);
    each visit whose dates change gets a ``replan`` event with its old and new dates and
    ``reason``. Returns the visits whose dates changed.
    """
    from trialdesk.crf.models import FormRecord

    with audited():
        subject = _locked_row(subject)
        protocol = subject.study.protocol
        visits = {
            v.code: v
            for v in Visit.objects.system("re-planning the calendar of a subject being changed")
            .select_for_update(of=("self",))
            .filter(subject=subject)
        }
        with_data = set(
            FormRecord.objects.system("re-planning keeps the visits that hold data")
            .filter(subject=subject, visit__isnull=False)
            .values_list("visit__code", flat=True)
        )
        current = [
            VisitState(
                v.code, v.planned_date, v.window_start, v.window_end, v.actual_date, v.code in with_data
            )
            for v in visits.values()
        ]
        anchors = {FIRST_DOSE: subject.day_zero, END_OF_TREATMENT: subject.treatment_ended_on}
        created: list[Visit] = []
        changed: list[Visit] = []
        for planned in plan_calendar(protocol.schedule, anchors, current):
            visit = visits.get(planned.code)
            if visit is None:
                created.append(
                    Visit(
                        subject=subject,
                        code=planned.code,
                        title=planned.title,
                        sequence=planned.sequence,
                        planned_date=planned.planned_date,
                        window_start=planned.window_start,
                        window_end=planned.window_end,
                    )
                )
                continue
            old = _dates(visit)
            visit.planned_date, visit.window_start, visit.window_end = (
                planned.planned_date,
                planned.window_start,
                planned.window_end,
            )
            new = _dates(visit)
            if new == old:
                continue
            changed.append(visit)
            record(
                actor,
                "replan",
                study_id=subject.study_id,
                site=subject.site,
                object_type="visit",
                object_id=visit.pk,
                object_label=_visit_label(subject, visit),
                old_value=old,
                new_value=new,
                reason=reason,
            )
        if changed:
            Visit.objects.system("re-planning, after its permission check").bulk_update(
                changed, ["planned_date", "window_start", "window_end"]
            )
        if created:
            Visit.objects.bulk_create(created)
            day_zero = anchors[FIRST_DOSE]
            _audit_subject(
                actor,
                subject,
                "schedule",
                new_value={"day_zero": day_zero.isoformat() if day_zero else None, "visits": len(created)},
                reason=reason,
            )
    return changed


def _window_refusal(subject: Subject, first_dose: dt.date) -> str | None:
    """Why a first dose on ``first_dose`` falls outside the screening window, or None."""
    window = subject.study.protocol.eligibility.window_days
    check = screening_window_check(subject.screened_on, first_dose, window)
    if check.ok:
        return None
    days = (first_dose - subject.screened_on).days
    if days < 0:
        return _("The first dose (%(first_dose)s) cannot be before screening (%(screened)s).") % {
            "first_dose": first_dose.isoformat(),
            "screened": subject.screened_on.isoformat(),
        }
    return _(
        "Screening on %(screened)s is %(days)d days before the first dose on %(first_dose)s: "
        "the protocol allows at most %(window)d days. Screen the patient again."
    ) % {
        "screened": subject.screened_on.isoformat(),
        "days": days,
        "first_dose": first_dose.isoformat(),
        "window": window,
    }


def record_first_dose(subject: Subject, first_dose: dt.date | None, actor: Actor) -> list[Visit]:
    """The first infusion was given on ``first_dose`` (None: no infusion any more): day 0
    moves to it and the visits not yet done are planned again from it."""
    reason = reasons.FIRST_DOSE_ON(day=first_dose.isoformat()) if first_dose else reasons.NO_INFUSION_ANY_MORE()
    return _move_anchor(
        subject, "first_dose_on", first_dose, actor, source=reasons.THE_FIRST_INFUSION(), replan_reason=reason
    )


def record_end_of_treatment(subject: Subject, ended_on: dt.date | None, actor: Actor) -> list[Visit]:
    """Treatment ended on ``ended_on``: the end-of-treatment and follow-up visits are planned from it."""
    reason = reasons.END_OF_TREATMENT_ON(day=ended_on.isoformat()) if ended_on else reasons.END_OF_TREATMENT_CLEARED()
    return _move_anchor(
        subject,
        "treatment_ended_on",
        ended_on,
        actor,
        source=reasons.THE_END_OF_TREATMENT_FORM(),
        replan_reason=reason,
    )


def _move_anchor(
    subject: Subject, field: str, day: dt.date | None, actor: Actor, *, source: str, replan_reason: str
) -> list[Visit]:
    """Set one anchor date of the calendar (audited) and plan again what has not happened yet."""
    with audited():
        subject = _locked_row(subject)
        old = getattr(subject, field)
        if old == day:
            return []
        setattr(subject, field, day)
        subject.save(update_fields=[field])
        _audit_subject(
            actor,
            subject,
            "change",
            field=field,
            old_value=old.isoformat() if old else None,
            new_value=day.isoformat() if day else None,
            reason=source,
        )
        return replan_visits(subject, actor, replan_reason)


_UNCHANGED = object()


def open_visit(user, subject: Subject, code: str, *, on: dt.date) -> Visit:
    """Open an event-driven visit of the schedule (one with no day: the end of study) on
    ``on`` for a subject that has no calendar (a screen failure's end of study)."""
    schedule = list(subject.study.protocol.schedule.expanded_visits())
    position = next((i for i, v in enumerate(schedule, start=1) if v.code == code), None)
    if position is None or schedule[position - 1].day is not None:
        raise SubjectActionRefused(_("Only an event-driven visit of the schedule can be opened."))
    planned = schedule[position - 1]
    access = study_access(user, subject.study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    actor = Actor.for_user(user, access.role_for(Permission.ENTER_DATA, subject.site_id))
    with audited():
        subject = _locked_row(subject)
        visit = (
            Visit.objects.system("opening a visit, after its permission check")
            .filter(subject=subject, code=code)
            .first()
        )
        if visit is not None:
            return visit
        visit = Visit.objects.create(
            subject=subject,
            code=code,
            title=planned.title,
            sequence=position,
            planned_date=on,
            actual_date=on,
        )
        record(
            actor,
            "create",
            study_id=subject.study_id,
            site=subject.site,
            object_type="visit",
            object_id=visit.pk,
            object_label=_visit_label(subject, visit),
            new_value={"planned_date": on.isoformat(), "actual_date": on.isoformat()},
        )
    return visit


def record_visit_dates(user, visit: Visit, *, planned_date=_UNCHANGED, actual_date=_UNCHANGED) -> None:
    """Set when a visit was planned and when it took place (audited); a date not given stays as it is."""
    subject = visit.subject
    access = study_access(user, subject.study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    actor = Actor.for_user(user, access.role_for(Permission.ENTER_DATA, subject.site_id))
    with audited():
        _locked_row(subject)
        # the row as it stands (a re-planning may have moved it since the caller read it)
        current = (
            Visit.objects.system("visit dates, after their permission check")
            .select_for_update(of=("self",))
            .get(pk=visit.pk)
        )
        changed = []
        for name, new in (("planned_date", planned_date), ("actual_date", actual_date)):
            old = getattr(current, name)
            if new is _UNCHANGED:
                setattr(visit, name, old)
                continue
            setattr(visit, name, new)
            if old == new:
                continue
            setattr(current, name, new)
            changed.append(name)
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
        if changed:
            current.save(update_fields=changed)


def set_status(subject: Subject, status: str, actor: Actor, reason: str = "") -> None:
    with audited():
        subject = _locked_row(subject)
        old = subject.status
        subject.status = status
        subject.save(update_fields=["status"])
        _audit_subject(
            actor, subject, "status", field="status", old_value=old, new_value=status, reason=reason
        )


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
            FormRecord.objects.read_as(subject)
            .filter(subject=subject, form_code=form.code)
            .select_related("visit")
            .first()
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


def assess(subject: Subject, as_of: dt.date | None, record_=_QUERY, *, in_users_language: bool = False):
    """The subject's eligibility on ``as_of``. Its explanations are English (what the system
    writes into queries and the trail), or in the user's language for a page."""
    from trialdesk.clinical.eligibility import assess_eligibility

    values, dates = screening_values(subject, record_)
    wording = explanation_wording() if in_users_language else None
    return assess_eligibility(subject.study.protocol, values, value_dates=dates, as_of=as_of, wording=wording)


def explanation_wording():
    """The eligibility explanations' words in the active language: each English template of
    the core is a msgid of this app's catalogue, and the protocol's labels in that language."""
    from django.utils.translation import get_language, gettext

    from trialdesk.clinical.eligibility import ENGLISH, Wording

    french = (get_language() or "en").startswith("fr")
    return Wording(
        **{name: gettext(template) for name, template in ENGLISH.templates().items()},
        label_attribute="label_fr" if french else "label",
    )


def enroll(
    user,
    subject: Subject,
    *,
    consent_date: dt.date,
    enrolled_on: dt.date,
    planned_first_dose_on: dt.date | None = None,
    consent_version: str | None = None,
    today: dt.date | None = None,
) -> Subject:
    """Enroll an eligible, consented subject: its id, status enrolled, and its visits planned
    from the planned first dose (day 0; the enrollment date when not given), which must fall
    within the screening window.

    The study must be recruiting on the enrollment date (its operational status). The consent
    records the consent form's version: ``consent_version``, else the one in force on the
    consent date. Once the study's enrollment target is reached, an eligible patient waits as
    *pending enrollment* until a data manager confirms (:func:`confirm_enrollment`)."""
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
        if planned_first_dose_on is None:
            planned_first_dose_on = enrolled_on
        if planned_first_dose_on < enrolled_on:
            raise SubjectActionRefused(_("The planned first dose cannot be before the enrollment date."))
        result = assess(subject, enrolled_on)
        if result.verdict != "eligible":
            names = ", ".join(c.code for c in result.criteria if c.status != "met")
            raise SubjectActionRefused(
                _("Not eligible on %(date)s (%(criteria)s): enrollment refused.")
                % {"date": enrolled_on.isoformat(), "criteria": names}
            )
        if (why := _window_refusal(subject, planned_first_dose_on)) is not None:
            raise SubjectActionRefused(why)
        _require_recruiting(subject, enrolled_on)
        version = _consent_version(subject, consent_date, consent_version)
        actor = Actor.for_user(user, access.role_for(Permission.ENROLL, subject.site_id))
        # enrollments of every site count against one target: one at a time per study
        Study.objects.select_for_update().filter(pk=subject.study_id).first()
        subject.consent_date = consent_date
        subject.consent_version = version
        subject.planned_first_dose_on = planned_first_dose_on
        _record_consent(actor, subject, version, consent_date, "consent")
        target = subject.study.protocol.identification.enrollment.count
        if enrolled_count(subject.study) >= target:
            subject.status = SubjectStatus.PENDING_ENROLLMENT
            subject.enrollment_requested_on = enrolled_on
            subject.save(
                update_fields=[
                    "consent_date",
                    "consent_version",
                    "planned_first_dose_on",
                    "status",
                    "enrollment_requested_on",
                ]
            )
            _audit_subject(
                actor,
                subject,
                "enrollment_pending",
                field="status",
                old_value=SubjectStatus.SCREENING,
                new_value={
                    "status": SubjectStatus.PENDING_ENROLLMENT,
                    "requested_on": enrolled_on.isoformat(),
                    "target": target,
                    "eligibility": [c.code for c in result.criteria],
                },
                reason=reasons.ENROLLMENT_TARGET_REACHED(n=target),
            )
            return subject
        _enroll_now(actor, subject, enrolled_on, result, old_status=SubjectStatus.SCREENING)
    return subject


def enrolled_count(study) -> int:
    """Subjects enrolled at some point, at every site (what the enrollment target counts)."""
    return (
        Subject.objects.system("the enrollment target counts every site's enrollments")
        .filter(study=study, status__in=ON_STUDY)
        .count()
    )


def _require_recruiting(subject: Subject, enrolled_on: dt.date) -> None:
    status = operational_status(subject.study, enrolled_on)
    if status != OperationalStatus.RECRUITING:
        raise SubjectActionRefused(
            _("The study is not recruiting on %(date)s (its status is “%(status)s”): enrollment refused.")
            % {"date": enrolled_on.isoformat(), "status": OperationalStatus(status).label}
        )


def _consent_version(subject: Subject, consented_on: dt.date, version: str | None) -> str:
    """The consent form's version signed on ``consented_on``: the one named (it must be in
    force by then), else the one in force that day; "" when the protocol declares none."""
    protocol = subject.study.protocol
    if not protocol.consent_versions:
        if version:
            raise SubjectActionRefused(_("The protocol declares no consent form versions."))
        return ""
    if not version:
        in_force = consent_version_on(protocol, consented_on)
        if in_force is None:
            raise SubjectActionRefused(
                _("No consent form version was in force on %(date)s.") % {"date": consented_on.isoformat()}
            )
        return in_force.version
    declared = next((v for v in protocol.consent_versions if v.version == version), None)
    if declared is None:
        raise SubjectActionRefused(_("Choose a consent form version of the protocol."))
    if declared.effective_from > consented_on:
        raise SubjectActionRefused(
            _("Consent form version %(version)s takes effect on %(from)s, after the consent date %(date)s.")
            % {
                "version": version,
                "from": declared.effective_from.isoformat(),
                "date": consented_on.isoformat(),
            }
        )
    return version


def _record_consent(
    actor: Actor, subject: Subject, version: str, consented_on: dt.date, action: str
) -> Consent:
    consent = Consent.objects.create(subject=subject, version=version, consented_on=consented_on)
    _audit_subject(
        actor,
        subject,
        action,
        field="consent_version",
        new_value={"version": version, "consented_on": consented_on.isoformat()},
    )
    return consent


def _enroll_now(actor: Actor, subject: Subject, enrolled_on: dt.date, result, *, old_status: str) -> None:
    """The subject (row locked, study row locked) gets its id, status enrolled and visits."""
    Site.objects.select_for_update().filter(pk=subject.site_id).first()
    subject.subject_code = next_subject_code(subject.site)
    subject.enrolled_on = enrolled_on
    subject.status = SubjectStatus.ENROLLED
    subject.save(
        update_fields=[
            "subject_code",
            "consent_date",
            "consent_version",
            "enrolled_on",
            "planned_first_dose_on",
            "status",
        ]
    )
    planned_first_dose_on = subject.planned_first_dose_on
    _audit_subject(
        actor,
        subject,
        "enroll",
        field="status",
        old_value=old_status,
        new_value={
            "status": SubjectStatus.ENROLLED,
            "subject_code": subject.subject_code,
            "consent_date": subject.consent_date.isoformat(),
            "consent_version": subject.consent_version,
            "enrolled_on": enrolled_on.isoformat(),
            "planned_first_dose_on": planned_first_dose_on.isoformat(),
            "eligibility": [c.code for c in result.criteria],
        },
    )
    replan_visits(subject, actor, f"enrollment: first dose planned on {planned_first_dose_on.isoformat()}")


def confirm_enrollment(user, subject: Subject, *, today: dt.date | None = None) -> Subject:
    """A data manager enrolls a patient who waits past the enrollment target, on the date
    the site asked for; the study must have been recruiting then and the patient eligible."""
    access = study_access(user, subject.study)
    require(access, Permission.CONFIRM_ENROLLMENT, subject.site_id)
    with audited():
        subject = _locked_row(subject)
        if subject.status != SubjectStatus.PENDING_ENROLLMENT:
            raise SubjectActionRefused(_("This patient is not waiting for enrollment."))
        enrolled_on = subject.enrollment_requested_on
        _require_recruiting(subject, enrolled_on)
        result = assess(subject, enrolled_on)
        if result.verdict != "eligible":
            names = ", ".join(c.code for c in result.criteria if c.status != "met")
            raise SubjectActionRefused(
                _("Not eligible on %(date)s (%(criteria)s): enrollment refused.")
                % {"date": enrolled_on.isoformat(), "criteria": names}
            )
        actor = Actor.for_user(user, access.role_for(Permission.CONFIRM_ENROLLMENT, subject.site_id))
        Study.objects.select_for_update().filter(pk=subject.study_id).first()
        _enroll_now(actor, subject, enrolled_on, result, old_status=SubjectStatus.PENDING_ENROLLMENT)
    return subject


def record_reconsent(
    user, subject: Subject, *, version: str, consented_on: dt.date, today: dt.date | None = None
) -> Consent:
    """The patient signed a new version of the consent form (audited, like the first)."""
    access = study_access(user, subject.study)
    require(access, Permission.ENTER_DATA, subject.site_id)
    today = today or timezone.localdate()
    with audited():
        subject = _locked_row(subject)
        if (
            subject.status not in ON_STUDY | {SubjectStatus.PENDING_ENROLLMENT}
            or subject.consent_date is None
        ):
            raise SubjectActionRefused(_("Only a consented, enrolled patient can be re-consented."))
        if consented_on > today:
            raise SubjectActionRefused(_("The consent date cannot be in the future."))
        latest = (
            Consent.objects.system("re-consent, after its permission check")
            .filter(subject=subject)
            .order_by("-consented_on", "-pk")
            .first()
        )
        if consented_on < (latest.consented_on if latest else subject.consent_date):
            raise SubjectActionRefused(_("A re-consent cannot be dated before the previous consent."))
        versions = [v.version for v in subject.study.protocol.consent_versions]
        if version not in versions:
            raise SubjectActionRefused(_("Choose a consent form version of the protocol."))
        current = subject.consent_version
        if current in versions and versions.index(version) <= versions.index(current):
            raise SubjectActionRefused(
                _("A re-consent is to a later version than %(version)s.") % {"version": current}
            )
        version = _consent_version(subject, consented_on, version)
        actor = Actor.for_user(user, access.role_for(Permission.ENTER_DATA, subject.site_id))
        consent = _record_consent(actor, subject, version, consented_on, "reconsent")
        subject.consent_version = version
        subject.save(update_fields=["consent_version"])
    return consent


def record_screen_failure(
    user,
    subject: Subject,
    *,
    as_of: dt.date | None = None,
    reason: str = "",
    consent_date: dt.date | None = None,
) -> list[str]:
    """Close the screening episode as a failure, recording the criteria not met (and the
    date the patient consented to screening, when given)."""
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
        if consent_date is not None and consent_date > (as_of or subject.screened_on):
            raise SubjectActionRefused(
                _("Consent must be given on or before the screen failure is recorded.")
            )
        actor = Actor.for_user(user, access.role_for(Permission.SCREEN, subject.site_id))
        subject.status = SubjectStatus.SCREEN_FAILED
        subject.screen_failure_criteria = failed
        subject.screen_failure_reason = reason.strip()
        fields = ["status", "screen_failure_criteria", "screen_failure_reason"]
        if consent_date is not None:
            subject.consent_date = consent_date
            fields.append("consent_date")
        subject.save(update_fields=fields)
        _audit_subject(
            actor,
            subject,
            "screen_failure",
            field="status",
            old_value=SubjectStatus.SCREENING,
            new_value={
                "status": SubjectStatus.SCREEN_FAILED,
                "criteria_not_met": failed,
                **({"consent_date": consent_date.isoformat()} if consent_date else {}),
            },
            reason=reason,
        )
    return failed
