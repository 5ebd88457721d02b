"""What the screening pages show: the site's screening log and a subject's eligibility.

Read-only; the writes (screening, enrollment, screen failure, re-screening) are in
``subjects.services``. Eligibility is always computed from the current screening
data (never stored), so a corrected value changes the verdict at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from trialdesk.crf.rendering import localised
from trialdesk.studies.models import Site
from trialdesk.subjects.models import ON_STUDY, Subject, SubjectStatus
from trialdesk.subjects.services import assess


@dataclass(frozen=True)
class LogRow:
    subject: Subject
    verdict: str  # eligible | not_eligible | not_assessable
    codes: tuple[str, ...]  # criteria not met (or, not yet assessable, the unknown ones)


def screening_records(subjects: list[Subject]) -> dict[int, object]:
    """The screening FormRecord of each subject, in one query."""
    from trialdesk.crf.models import FormRecord

    if not subjects:
        return {}
    study = subjects[0].study
    form_code = study.protocol.eligibility.form
    records = (
        FormRecord.objects.read_as(subjects[0])
        .filter(subject__in=subjects, form_code=form_code)
        .select_related("visit")
    )
    return {r.subject_id: r for r in records}


def verdict_of(subject: Subject, record, today: dt.date) -> tuple[str, tuple[str, ...]]:
    """The verdict shown for a subject in a list.

    Enrolled subjects were eligible on their enrollment date (enrollment refuses
    otherwise); a screen failure shows the criteria recorded as not met; a subject in
    screening is assessed on today's date (values older than the window count as missing).
    """
    if subject.status in ON_STUDY:
        return "eligible", ()
    if subject.status == SubjectStatus.SCREEN_FAILED:
        if subject.screen_failure_criteria:
            return "not_eligible", tuple(subject.screen_failure_criteria)
        result = assess(subject, subject.screened_on, record)
        return result.verdict, tuple(c.code for c in result.criteria if c.status != "met")
    result = assess(subject, today, record)
    return result.verdict, tuple(c.code for c in result.criteria if c.status != "met")


#: the screening log's orders: newest first (the default: today's patients on top) or oldest first
LOG_ORDERS = {
    "newest": ("-screened_on", "-screening_number", "-pk"),
    "oldest": ("screened_on", "screening_number", "pk"),
}


def screening_log(user, site: Site, today: dt.date, narrow=None, *, order: str = "newest") -> list[LogRow]:
    """Every screening episode of one site the user sees, by screening date then number, newest
    first (``order="oldest"``: oldest first). ``narrow``: takes the queryset, returns the subjects
    to show (a list page's filters and page: studies.listing)."""
    study = site.study
    subjects = (
        Subject.objects.for_user(user, study)
        .filter(site=site)
        .select_related("rescreen_of")
        .order_by(*LOG_ORDERS[order])
    )
    subjects = list(narrow(subjects) if narrow else subjects)
    for subject in subjects:  # one study object, not its protocol text once per row
        subject.study, subject.site = study, site
    records = screening_records(subjects)
    rows = []
    for subject in subjects:
        verdict, codes = verdict_of(subject, records.get(subject.pk), today)
        rows.append(LogRow(subject, verdict, codes))
    return rows


# --------------------------------------------------------------------------- eligibility panel


@dataclass(frozen=True)
class CriterionRow:
    code: str
    kind: str
    text: str
    status: str
    explanation: str
    source: str
    decision: str  # the authors' note of the protocol file: not shown to users
    missing: tuple[str, ...]  # field labels
    applied_as: str = ""  # how the criterion is applied, in plain words for users


@dataclass(frozen=True)
class EligibilityPanel:
    subject: Subject
    as_of: dt.date
    window_days: int
    verdict: str
    criteria: list[CriterionRow]
    not_met: list[CriterionRow]
    missing: list[str]  # labels of the fields still needed
    stale: list[tuple[str, dt.date]]  # (label, measured on) of values too old on as_of
    record: object | None  # the screening FormRecord the verdict was computed from

    @property
    def has_data(self) -> bool:
        return self.record is not None

    @property
    def eligible(self) -> bool:
        return self.verdict == "eligible"


def assessment_date(subject: Subject, today: dt.date, requested: dt.date | None = None) -> dt.date:
    """The day eligibility is judged on: the enrollment date once enrolled, the screening
    date for a screen failure, otherwise the requested day (the planned enrollment) or today."""
    if subject.status in ON_STUDY and subject.enrolled_on:
        return subject.enrolled_on
    if subject.status == SubjectStatus.SCREEN_FAILED:
        return subject.screened_on
    return requested or today


def eligibility_panel(subject: Subject, as_of: dt.date) -> EligibilityPanel:
    protocol = subject.study.protocol
    form = protocol.form(protocol.eligibility.form)
    labels = {f.code: localised(f, "label") for f in form.fields}
    records = screening_records([subject])
    result = assess(subject, as_of, records.get(subject.pk), in_users_language=True)
    planned = {c.code: c for c in protocol.eligibility.criteria}
    rows = [
        CriterionRow(
            code=c.code,
            kind=c.kind,
            text=c.text,
            status=c.status,
            explanation=c.explanation,
            source=planned[c.code].source if c.code in planned else c.source,
            decision=(planned[c.code].decision or "") if c.code in planned else "",
            missing=tuple(labels.get(code, code) for code in c.missing_fields),
            applied_as=localised(planned[c.code], "applied_as") if c.code in planned else "",
        )
        for c in result.criteria
    ]
    return EligibilityPanel(
        subject=subject,
        as_of=as_of,
        window_days=protocol.eligibility.window_days,
        verdict=result.verdict,
        criteria=rows,
        not_met=[r for r in rows if r.status == "not_met"],
        missing=[labels.get(code, code) for code in result.missing],
        stale=[(labels.get(code, code), measured) for code, measured in result.stale.items()],
        record=records.get(subject.pk),
    )


_LOAD = object()


def screening_defaults(subject: Subject, record=_LOAD) -> dict:
    """What the enroll form proposes: the consent date typed in the screening form.
    ``record``: the subject's screening FormRecord (or None) when the caller has it already."""
    if record is _LOAD:
        record = screening_records([subject]).get(subject.pk)
    protocol = subject.study.protocol
    consent = protocol.read_concept("consented_on", record.form_code, record.data or {}) if record else None
    return {"consent_date": consent or ""}
