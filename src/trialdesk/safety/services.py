"""Safety services: a serious adverse event's report and notification, the safety officer's
acknowledgement and expectedness assessment, the SAE and AE listings, tolerance counts.

- ``on_form_saved`` (a ``FormSaved`` subscriber, inside the save's transaction): an adverse
  event saved serious for the first time gets its ``SaeReport`` (audited) and, once the
  transaction commits (``transaction.on_commit``), one e-mail to the site's investigators and
  the study's safety officers; a rolled-back save sends nothing. A grade 5 event, or a death
  form that changes, is checked against the death the casebook records
  (``clinical.safety.fatal_event_problem``): a discrepancy raises a system query.
- ``acknowledge`` and ``assess_expectedness``: the safety officer (ASSESS_SAE), audited.
- ``sae_rows`` / ``ae_rows``: what the pages list, read through the scoped layer for the
  viewer (site scope, pseudonymisation); the rules come from ``clinical.safety``.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialdesk.audit.services import Actor, audited, record
from trialdesk.clinical import ctcae
from trialdesk.clinical import safety as rules
from trialdesk.crf.events import FormSaved, RecordVoided
from trialdesk.crf.models import FormRecord
from trialdesk.protocol.formdata import typed_values
from trialdesk.safety.models import Expectedness, SaeReport
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.models import Membership, Role

log = logging.getLogger(__name__)

WHY = "safety: the SAE report of a saved adverse event, after the save's permission check"
FATAL_CHECK = "SAFETY-GRADE5-DEATH"
#: why that query closes (``queries.wording``: stored in English, shown in the reader's language)
T_FATAL_AGREES = gettext_noop("the event and the recorded death now agree.")
DEATH_CONCEPT = "date_of_death"


class SafetyActionRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- the protocol's AE form


def ae_form_code(protocol) -> str | None:
    """The form that records adverse events (None when the protocol has no safety section)."""
    if protocol.safety is None or not protocol.has_concept(rules.SERIOUS):
        return None
    return protocol.concept_form(rules.SERIOUS)


def _typed(protocol, record: FormRecord) -> dict[str, Any]:
    return typed_values(protocol.form(record.form_code), record.data)


def coded(protocol, form_code: str, data) -> tuple[str, str, str]:
    """The event's CTCAE term, MedDRA code and SOC. The code and SOC are read from the CTCAE
    list by the term (what the form stored from it): a pseudonymised read, which masks the
    text fields, still reads them."""
    term = protocol.read_concept(rules.TERM, form_code, data) or ""
    found = ctcae.pick(term) if term else None
    if found is not None:
        return found.term, str(found.meddra_code), found.soc
    meddra = protocol.read_concept(rules.MEDDRA, form_code, data)
    soc = protocol.read_concept(rules.SOC, form_code, data) if protocol.has_concept(rules.SOC) else None
    return term, str(meddra or ""), soc or ""


# --------------------------------------------------------------------------- the save subscriber


def on_form_saved(event: FormSaved) -> None:
    form_record = event.record
    subject = form_record.subject
    protocol = subject.study.protocol
    form_code = ae_form_code(protocol)
    if form_code is None:
        return
    if form_record.form_code in _death_forms(protocol):
        _recheck_fatal_events(subject, protocol)
        return
    if form_record.form_code != form_code or isinstance(event, RecordVoided) or form_record.voided_at:
        return
    data = _typed(protocol, form_record)
    _check_fatal_event(form_record, protocol, data)
    if protocol.read_concept(rules.SERIOUS, form_code, data) is not True:
        return
    if SaeReport.objects.system(WHY).filter(record=form_record).exists():
        return  # reported (and notified) when it first became serious
    now = timezone.now()
    with audited():
        report = SaeReport.objects.create(study=subject.study, record=form_record, reported_at=now)
        record(
            event.actor,
            "serious_event_reported",
            study_id=subject.study_id,
            site=subject.site,
            object_type="sae",
            object_id=report.pk,
            object_label=f"{subject.label} · {data.get(protocol.concept_field(rules.TERM, form_code)) or ''}",
            new_value={"record": form_record.pk},
        )
    transaction.on_commit(partial(notify, report.pk))


def _death_forms(protocol) -> dict[str, str]:
    if not protocol.has_concept(DEATH_CONCEPT):
        return {}
    found: dict[str, str] = {}
    for ref in protocol.concept(DEATH_CONCEPT):
        found.setdefault(ref.form, ref.field)
    return found


def recorded_death_date(subject) -> dt.date | None:
    """The death date the casebook records (the death concept's precedence), or None."""
    protocol = subject.study.protocol
    forms = _death_forms(protocol)
    if not forms:
        return None
    rows = FormRecord.objects.system(WHY).filter(
        subject=subject, form_code__in=list(forms), voided_at__isnull=True
    )
    by_form: dict[str, dict] = {}
    for row in sorted(rows, key=lambda r: -r.pk):
        by_form.setdefault(row.form_code, typed_values(protocol.form(row.form_code), row.data))
    value = protocol.read_concept_first(DEATH_CONCEPT, by_form)
    return value if isinstance(value, dt.date) else None


def _check_fatal_event(form_record: FormRecord, protocol, data: dict[str, Any], death: Any = ...) -> None:
    """A grade 5 event implies a death recorded on its end date: a discrepancy raises a system
    query on the event (one open at a time), which closes once the casebook agrees."""
    from trialdesk.queries.services import raise_system_query, resolve_system_query

    form_code = form_record.form_code
    grade = protocol.read_concept(rules.GRADE, form_code, data)
    problem = None
    if grade == 5:
        if death is ...:
            death = recorded_death_date(form_record.subject)
        end = protocol.read_concept(rules.END, form_code, data)
        problem = rules.fatal_event_problem(grade, end, death)
    if problem is None:
        resolve_system_query(form_record, code=FATAL_CHECK, because=T_FATAL_AGREES, template=T_FATAL_AGREES)
        return
    template, params = problem
    with translation.override(settings.LANGUAGE_CODE):
        text = _(template) % params if params else _(template)
    field_code = protocol.concept_field(rules.GRADE, form_code)
    raise_system_query(
        form_record, field_code, text, code=FATAL_CHECK, reason=text, template=template, params=params or None
    )


def _recheck_fatal_events(subject, protocol) -> None:
    form_code = ae_form_code(protocol)
    death = recorded_death_date(subject)
    for ae in FormRecord.objects.system(WHY).filter(
        subject=subject, form_code=form_code, voided_at__isnull=True
    ):
        ae.subject = subject
        _check_fatal_event(ae, protocol, _typed(protocol, ae), death)


# --------------------------------------------------------------------------- the notification


def recipients(report: SaeReport) -> list[str]:
    """The site's investigators and the study's safety officers (active, with an address)."""
    site = report.record.subject.site
    rows = Membership.objects.filter(study_id=report.study_id, active=True, user__is_active=True).filter(
        role__in=[Role.INVESTIGATOR, Role.SAFETY_OFFICER]
    )
    addresses = []
    for membership in rows.select_related("user"):
        if membership.role == Role.INVESTIGATOR and membership.site_id not in (None, site.pk):
            continue
        email = (membership.user.email or "").strip()
        if email and email not in addresses:
            addresses.append(email)
    return sorted(addresses)


def sae_path(report: SaeReport) -> str:
    return f"/studies/{report.study.nct_id}/safety/sae/{report.pk}/"


def notification_text(report: SaeReport) -> tuple[str, str]:
    """Subject and body of the e-mail, in English then French; pseudonymised (the subject's
    code and site, the term, grade and dates: no initials, no birth year, no free text)."""
    ae = report.record
    subject = ae.subject
    protocol = subject.study.protocol
    data = _typed(protocol, ae)
    term = protocol.read_concept(rules.TERM, ae.form_code, data) or ""
    grade = protocol.read_concept(rules.GRADE, ae.form_code, data)
    onset = protocol.read_concept("adverse_event_onset", ae.form_code, data)
    link = f"{getattr(settings, 'TRIALDESK_BASE_URL', '').rstrip('/')}{sae_path(report)}"
    parts = []
    for language in ("en", "fr"):
        with translation.override(language):
            parts.append(
                _(
                    "A serious adverse event was recorded in study %(study)s.\n"
                    "Patient: %(subject)s (site %(site)s)\n"
                    "Event: %(term)s, grade %(worst)s, started %(onset)s\n"
                    "Recorded: %(when)s UTC\n"
                    "Acknowledge it and assess its expectedness: %(link)s\n"
                )
                % {
                    "study": subject.study.nct_id,
                    "subject": subject.label,
                    "site": subject.site.code,
                    "term": term,
                    "worst": grade if grade is not None else "—",
                    "onset": onset.isoformat() if isinstance(onset, dt.date) else "—",
                    "when": report.reported_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"),
                    "link": link,
                }
            )
    with translation.override("en"):
        title = _("[%(study)s] Serious adverse event: %(subject)s, %(term)s") % {
            "study": subject.study.nct_id,
            "subject": subject.label,
            "term": term,
        }
    return title, "\n\n".join(parts)


def notify(report_id: int) -> None:
    """Send the SAE e-mail once (after the save committed) and record that it left."""
    with audited():
        report = (
            SaeReport.objects.system("the SAE notification, after commit")
            .select_for_update()
            .select_related("study", "record__subject__site", "record__subject__study")
            .filter(pk=report_id, notified_at__isnull=True)
            .first()
        )
        if report is None:
            return
        to = recipients(report)
        title, body = notification_text(report)
        if to:
            try:
                send_mail(title, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
            except (OSError, ValueError):  # the mail server: the SAE stays "not notified", listed as such
                log.exception("the notification of SAE #%s could not be sent", report.pk)
                return
        report.notified_at = timezone.now()
        report.notified_to = to
        report.save(update_fields=["notified_at", "notified_to"])
        record(
            Actor.system("safety"),
            "serious_event_notified",
            study_id=report.study_id,
            site=report.record.subject.site,
            object_type="sae",
            object_id=report.pk,
            object_label=report.record.subject.label,
            new_value={"to": to},
        )


# --------------------------------------------------------------------------- the safety officer


def _acting(user, report: SaeReport) -> Actor:
    access = study_access(user, report.study)
    site_id = report.record.subject.site_id
    require(access, Permission.ASSESS_SAE, site_id)
    return Actor.for_user(user, access.role_for(Permission.ASSESS_SAE, site_id))


def _locked(report: SaeReport) -> SaeReport:
    return (
        SaeReport.objects.system("the safety officer's action, after its permission check")
        .select_for_update()
        .select_related("study", "record__subject__site")
        .get(pk=report.pk)
    )


def acknowledge(user, report: SaeReport) -> SaeReport:
    """The sponsor is aware of the SAE: the day (at the site's date) starts a SUSAR's clock."""
    actor = _acting(user, report)
    with audited():
        report = _locked(report)
        if report.acknowledged_at is not None:
            raise SafetyActionRefused(_("This serious adverse event is already acknowledged."))
        now = timezone.now()
        report.acknowledged_at = now
        report.acknowledged_by = user
        report.aware_on = report.record.subject.site.today()
        report.save(update_fields=["acknowledged_at", "acknowledged_by", "aware_on"])
        record(
            actor,
            "serious_event_acknowledged",
            study_id=report.study_id,
            site=report.record.subject.site,
            object_type="sae",
            object_id=report.pk,
            object_label=report.record.subject.label,
            field="aware_on",
            new_value=report.aware_on.isoformat(),
        )
    return report


def assess_expectedness(user, report: SaeReport, expectedness: str, comment: str = "") -> SaeReport:
    """Expected or unexpected against the reference safety information. Departing from what
    the reference suggests needs a comment."""
    actor = _acting(user, report)
    if expectedness not in Expectedness.values:
        raise SafetyActionRefused(_("Choose expected or unexpected."))
    comment = (comment or "").strip()[:2000]
    with audited():
        report = _locked(report)
        if report.acknowledged_at is None:
            raise SafetyActionRefused(_("Acknowledge the serious adverse event before assessing it."))
        suggested = suggestion(report)
        if (
            suggested is not None
            and (expectedness == Expectedness.EXPECTED) != suggested.expected
            and not comment
        ):
            raise SafetyActionRefused(
                _("Your assessment departs from the reference safety information: say why in the comment.")
            )
        old = report.expectedness
        report.expectedness = expectedness
        report.expectedness_comment = comment
        report.assessed_at = timezone.now()
        report.assessed_by = user
        report.save(update_fields=["expectedness", "expectedness_comment", "assessed_at", "assessed_by"])
        record(
            actor,
            "expectedness_assessed",
            study_id=report.study_id,
            site=report.record.subject.site,
            object_type="sae",
            object_id=report.pk,
            object_label=report.record.subject.label,
            field="expectedness",
            old_value=old or None,
            new_value=expectedness,
            reason=comment,
        )
    return report


def first_unacknowledged(study) -> SaeReport | None:
    """The oldest SAE not yet acknowledged (system-level: the demo builder)."""
    return (
        SaeReport.objects.system("the demo: the SAE its safety officer acknowledged")
        .filter(study=study, acknowledged_at__isnull=True, record__voided_at__isnull=True)
        .select_related("study", "record__subject__site")
        .order_by("reported_at", "pk")
        .first()
    )


def suggestion(report: SaeReport) -> rules.Expectedness | None:
    protocol = report.study.protocol
    if protocol.safety is None:
        return None
    ae = report.record
    data = _typed(protocol, ae)
    _term, meddra, _soc = coded(protocol, ae.form_code, data)
    return rules.assess_expectedness(
        protocol.safety, meddra, protocol.read_concept(rules.GRADE, ae.form_code, data)
    )


# --------------------------------------------------------------------------- what the pages list


@dataclass
class SaeRow:
    report: SaeReport
    record: FormRecord
    subject: Any
    term: str
    meddra: str
    soc: str
    grade: int | None
    onset: dt.date | None
    related: bool | None
    fatal_or_life_threatening: bool
    suggested: rules.Expectedness | None
    susar: bool
    deadline: dt.date | None
    days_left: int | None
    highlights: list[str]

    @property
    def overdue_days(self) -> int:
        return -self.days_left if self.days_left is not None and self.days_left < 0 else 0

    @property
    def deadline_days(self) -> int | None:
        """The days the protocol gives this SUSAR (7 when fatal or life-threatening, else 15)."""
        if self.deadline is None or self.report.aware_on is None:
            return None
        return (self.deadline - self.report.aware_on).days

    @property
    def expected(self) -> bool | None:
        if not self.report.expectedness:
            return None
        return self.report.expectedness == Expectedness.EXPECTED


def _row(report: SaeReport, protocol, today: dt.date | None = None) -> SaeRow:
    ae = report.record
    data = _typed(protocol, ae)
    form_code = ae.form_code
    related = rules.is_related(protocol, form_code, data)
    expected = None if not report.expectedness else report.expectedness == Expectedness.EXPECTED
    serious_kind = rules.is_fatal_or_life_threatening(protocol, form_code, data)
    susar = rules.is_susar(related, expected)
    deadline = left = None
    if susar and report.aware_on is not None:
        deadline = rules.susar_deadline(protocol.safety.susar_deadlines, report.aware_on, serious_kind)
        left = rules.days_left(deadline, today or ae.subject.site.today())
    term, meddra, soc = coded(protocol, form_code, data)
    return SaeRow(
        report=report,
        record=ae,
        subject=ae.subject,
        term=term,
        meddra=meddra,
        soc=soc,
        grade=protocol.read_concept(rules.GRADE, form_code, data),
        onset=protocol.read_concept("adverse_event_onset", form_code, data),
        related=related,
        fatal_or_life_threatening=serious_kind,
        suggested=rules.assess_expectedness(
            protocol.safety, meddra, protocol.read_concept(rules.GRADE, form_code, data)
        ),
        susar=susar,
        deadline=deadline,
        days_left=left,
        highlights=rules.highlights_of(protocol.safety, meddra, soc),
    )


def _visible_or_404(user, study):
    from django.http import Http404

    access = study_access(user, study)
    if not access.can(Permission.VIEW_SAFETY_DATA) or study.protocol.safety is None:
        raise Http404
    return access


def sae_rows(user, study, subject=None) -> list[SaeRow]:
    """Every SAE the viewer's sites hold (all sites for the safety officer), newest first;
    ``subject``: that subject's only."""
    _visible_or_404(user, study)
    reports = (
        SaeReport.objects.for_user(user, study)
        .filter(study=study, record__voided_at__isnull=True)
        .select_related("record__subject__site", "acknowledged_by", "assessed_by", "study")
    )
    if subject is not None:
        reports = reports.filter(record__subject=subject)
    protocol = study.protocol
    return [_row(report, protocol) for report in reports]


def sae_row(user, study, report_id: int) -> SaeRow:
    from django.http import Http404

    _visible_or_404(user, study)
    report = (
        SaeReport.objects.for_user(user, study)
        .filter(study=study, pk=report_id)
        .select_related("record__subject__site", "acknowledged_by", "assessed_by", "study")
        .first()
    )
    if report is None:
        raise Http404
    return _row(report, study.protocol)


@dataclass
class AeRow:
    record: FormRecord
    subject: Any
    data: dict[str, Any]
    term: str
    soc: str
    grade: int | None
    serious: bool
    highlights: list[str]
    sae_id: int | None


def ae_rows(user, study, site_code: str = "") -> list[AeRow]:
    """The study's adverse events in the viewer's sites, by onset date (voided ones left out)."""
    _visible_or_404(user, study)
    protocol = study.protocol
    form_code = ae_form_code(protocol)
    records = (
        FormRecord.objects.for_user(user, study)
        .filter(subject__study=study, form_code=form_code, visit=None, voided_at__isnull=True)
        .select_related("subject__site")
    )
    if site_code:
        records = records.filter(subject__site__code=site_code)
    reports = dict(SaeReport.objects.for_user(user, study).filter(study=study).values_list("record_id", "pk"))
    onset_field = protocol.concept_field("adverse_event_onset", form_code)
    rows = []
    for ae in records:
        data = _typed(protocol, ae)
        term, meddra, soc = coded(protocol, form_code, data)
        rows.append(
            AeRow(
                record=ae,
                subject=ae.subject,
                data=data,
                term=term,
                soc=soc,
                grade=protocol.read_concept(rules.GRADE, form_code, data),
                serious=protocol.read_concept(rules.SERIOUS, form_code, data) is True,
                highlights=rules.highlights_of(protocol.safety, meddra, soc),
                sae_id=reports.get(ae.pk),
            )
        )
    rows.sort(key=lambda r: (r.data.get(onset_field) or dt.date.max, r.subject.label, r.record.repeat))
    return rows


def tolerance_counts(study, *, why: str = "the tolerance report") -> dict[str, Any]:
    """Plain data for the report: all AEs, serious ones, and per highlight (infusion
    reactions, cardiac events) events, subjects, serious and worst grade; voided ones left out.
    System-level: the caller has decided the viewer may see the study's tolerance."""
    protocol = study.protocol
    form_code = ae_form_code(protocol)
    if form_code is None:
        return rules.Tolerance().as_dict()
    records = FormRecord.objects.system(why).filter(
        subject__study=study, form_code=form_code, visit=None, voided_at__isnull=True
    )
    events = [(r.subject_id, typed_values(protocol.form(form_code), r.data)) for r in records]
    return rules.tolerance(protocol, events).as_dict()


def grade_texts(term_name: str | None) -> dict[str, Any] | None:
    """The picked term's MedDRA code, SOC and the text of each of its grades (for the form)."""
    term = ctcae.pick(term_name) if term_name else None
    if term is None:
        return None
    return {
        "term": term.term,
        "code": term.meddra_code,
        "soc": term.soc,
        "other_specify": ctcae.is_other_specify(term),
        "grades": [(g, text) for g, text in zip(ctcae.GRADES, term.grades, strict=True)],
        "definition": term.definition,
    }


def sae_url(report: SaeReport) -> str:
    return reverse("safety:sae", args=[report.pk])
