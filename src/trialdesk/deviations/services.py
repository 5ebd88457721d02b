"""Treatment calendar, exposure and protocol deviations of the subjects a user sees.

The data is read through the scoped layer, for many subjects at once in a constant number
of queries (subjects, their records, their visits, their cardiac holds, the
acknowledgements), turned into plain values (``clinical.deviations.TreatmentFacts``) and
given to the clinical functions: the calendar, the exposure and the deviations are never
computed here. "Today" is the site's date (``Site.time_zone``).

Plain data for the report and the exports: :func:`treatment_data` returns, per subject,
the deviations and the exposure as dicts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from trialdesk.audit import reasons
from trialdesk.audit.services import Actor, audited, record
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.clinical.calendar import (
    ASSESSMENT_CONCEPTS,
    FIRST_DOSE,
    MINIMUM_TREATMENT,
    OVERDUE,
    AssessmentDone,
    CalendarItem,
    HoldPeriod,
    assessment_form,
    assessment_kinds,
    check_window,
)
from trialdesk.clinical.deviations import Deviation, TreatmentFacts, calendar_of, deviations_of, exposure_of
from trialdesk.clinical.exposure import DoseValue, Exposure, ExposureSummary, summarise
from trialdesk.crf.events import FormSaved, RecordVoided
from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.protocol.values import as_date as _as_date
from trialdesk.protocol.values import as_number as _as_float
from trialdesk.queries import wording
from trialdesk.queries.services import raise_system_query
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.subjects.models import Subject, Visit

ASSESSMENT_WINDOW_QUERY = "assessment_window"
COMMENT_MAX = 1000


class AcknowledgementRefused(Exception):
    """A user-facing refusal (its message is in the user's language)."""


def record_ref(record) -> str:
    """A record's stable identity in deviation keys: ``infusion#3`` for a log entry,
    ``M2/marrow_assessment`` for a visit's form."""
    if record.visit_id:
        return f"{record.visit.code}/{record.form_code}"
    return f"{record.form_code}#{record.repeat}"


def _concept_form(protocol, concept: str) -> str | None:
    return protocol.concept_form(concept) if protocol.has_concept(concept) else None


def relevant_forms(protocol) -> set[str]:
    names = [
        "dose_date",
        "treatment_stopped_on",
        "study_ended_on",
        "date_of_death",
        *ASSESSMENT_CONCEPTS.values(),
    ]
    return {form for name in names if (form := _concept_form(protocol, name))}


def facts_of(protocol, subject, records, visits, holds) -> TreatmentFacts:
    """The plain values of one subject (its non-voided records, its visits, its holds)."""
    records = [r for r in records if r.voided_at is None]
    dose_form = _concept_form(protocol, "dose_date")
    doses = []
    for r in records:
        if r.form_code != dose_form:
            continue
        given_on = _as_date(protocol.read_concept("dose_date", r.form_code, r.data))
        if given_on is None:
            continue
        loading = protocol.read_concept("loading_dose", r.form_code, r.data)
        doses.append(
            DoseValue(
                given_on,
                _as_float(protocol.read_concept("dose_given", r.form_code, r.data)),
                _as_float(protocol.read_concept("dose_weight", r.form_code, r.data)),
                _as_float(protocol.read_concept("dose_prescribed", r.form_code, r.data)),
                loading if isinstance(loading, bool) else None,
                record_ref(r),
            )
        )
    kinds = assessment_kinds(protocol)
    dated: dict[tuple[str, str], dt.date] = {}
    lvef_days = []
    lvef_form = assessment_form(protocol, "lvef")
    for r in records:
        date_field = protocol.date_concept_field(r.form_code)
        day = _as_date(r.data.get(date_field)) if date_field else None
        if day is None:
            continue
        if r.visit_id:
            dated[(r.visit.code, r.form_code)] = day
        if r.form_code == lvef_form:
            lvef_days.append(day)
    anchors = {v.code: v for v in protocol.schedule.expanded_visits()}
    assessments = []
    for visit in sorted(visits, key=lambda v: v.sequence):
        kind = kinds.get(visit.code)
        if kind is None:
            continue
        form = assessment_form(protocol, kind)
        assessments.append(
            AssessmentDone(
                visit.code,
                visit.title,
                kind,
                visit.planned_date,
                visit.window_start,
                visit.window_end,
                dated.get((visit.code, form)),
                ref=f"{visit.code}/{form}",
                anchor=anchors[visit.code].anchor if visit.code in anchors else FIRST_DOSE,
            )
        )
    end_form = _concept_form(protocol, "treatment_stopped_on")
    end_record = next((r for r in records if r.form_code == end_form), None)
    hold_periods = [
        HoldPeriod(
            h.started_on,
            # the day of the investigator's decision at the site (doses from that day on are not
            # held), as the cardiac app dates it: a decision entered later for an earlier day counts
            # from that day; an older row without it, from the day it was entered
            h.ended_on or (subject.site.today(h.ended_at) if h.ended_at else None),
            h.repeat_lvef_due_on,
            f"cardiac_hold#{h.pk}",
        )
        for h in holds
    ]
    return TreatmentFacts(
        off_study_on=_off_study_on(protocol, records),
        first_dose_on=subject.first_dose_on,
        planned_first_dose_on=subject.planned_first_dose_on,
        doses=doses,
        assessments=assessments,
        treatment_ended_on=subject.treatment_ended_on,
        end_reason_recorded=end_record is not None and end_record.status == FormStatus.COMPLETE,
        end_ref=record_ref(end_record) if end_record is not None else "",
        holds=hold_periods,
        lvef_done_on=lvef_days,
    )


def _off_study_on(protocol, records) -> dt.date | None:
    """The day the subject left the study: the end of study, else the date of death."""
    for concept in ("study_ended_on", "date_of_death"):
        if not protocol.has_concept(concept):
            continue
        days = [
            day
            for r in records
            if (day := _as_date(protocol.read_concept(concept, r.form_code, r.data))) is not None
        ]
        if days:
            return min(days)
    return None


def _holds_of(scope, subject_ids) -> dict[int, list]:
    """The cardiac holds of the subjects (those closed as entered in error left out)."""
    by_subject: dict[int, list] = defaultdict(list)
    for hold in (
        scope(CardiacHold).filter(subject_id__in=subject_ids).exclude(status=HoldStatus.ENTERED_IN_ERROR)
    ):
        by_subject[hold.subject_id].append(hold)
    return by_subject


@dataclass
class SubjectTreatment:
    subject: Any
    today: dt.date
    facts: TreatmentFacts
    calendar: list[CalendarItem]
    exposure: Exposure
    deviations: list[Deviation]
    acknowledgements: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # record ref -> its page


def _link(subject, record) -> str:
    from django.urls import reverse

    if record.visit_id:
        return reverse("visit-form", args=[subject.pk, record.visit.code, record.form_code])
    return reverse("log-form", args=[subject.pk, record.form_code, record.repeat])


def treatments(
    user, study, subjects, *, now: dt.datetime | None = None, records=None
) -> list[SubjectTreatment]:
    """The calendar, exposure and deviations of ``subjects`` (read for ``user``): five queries
    whatever their number."""
    from trialdesk.deviations.models import DeviationAcknowledgement

    protocol = study.protocol
    subjects = list(subjects)
    ids = [s.pk for s in subjects]

    def scope(model):
        return model.objects.for_user(user, study)

    by_subject: dict[int, list] = defaultdict(list)
    if records is None:
        records = (
            scope(FormRecord)
            .filter(subject_id__in=ids, form_code__in=relevant_forms(protocol), voided_at__isnull=True)
            .select_related("visit")
        )
    for r in records:
        by_subject[r.subject_id].append(r)
    kinds = assessment_kinds(protocol)
    visits: dict[int, list] = defaultdict(list)
    for v in scope(Visit).filter(subject_id__in=ids, code__in=list(kinds)):
        visits[v.subject_id].append(v)
    holds = _holds_of(scope, ids)
    acks: dict[int, dict[str, Any]] = defaultdict(dict)
    for ack in scope(DeviationAcknowledgement).filter(subject_id__in=ids).select_related("acknowledged_by"):
        acks[ack.subject_id][ack.key] = ack
    rules = protocol.dose_rules
    out = []
    for subject in subjects:
        today = subject.site.today(now)
        facts = facts_of(protocol, subject, by_subject[subject.pk], visits[subject.pk], holds[subject.pk])
        calendar = calendar_of(rules, facts, today)
        out.append(
            SubjectTreatment(
                subject,
                today,
                facts,
                calendar,
                exposure_of(rules, facts),
                deviations_of(rules, facts, today, calendar=calendar),
                acks[subject.pk],
                {record_ref(r): _link(subject, r) for r in by_subject[subject.pk] if r.voided_at is None},
            )
        )
    return out


def treated_subjects(user, study, site=None):
    """The subjects of the user's sites whose treatment is planned or started."""
    qs = Subject.objects.for_user(user, study).filter(enrolled_on__isnull=False).select_related("site")
    if site is not None:
        qs = qs.filter(site=site)
    return qs.order_by("site__code", "subject_code", "pk")


@dataclass(frozen=True)
class DeviationRow:
    subject: Any
    deviation: Deviation
    link: str
    acknowledgement: Any


def deviation_rows(
    user, study, site=None, *, now: dt.datetime | None = None, computed: list[SubjectTreatment] | None = None
) -> list[DeviationRow]:
    rows = []
    if computed is None:
        computed = treatments(user, study, treated_subjects(user, study, site), now=now)
    for t in computed:
        for d in t.deviations:
            link = t.links.get(d.ref, "")
            rows.append(DeviationRow(t.subject, d, link, t.acknowledgements.get(d.key)))
    return rows


def exposure_summary(computed: list[SubjectTreatment]) -> ExposureSummary:
    """The overall exposure of the subjects computed (those with a dose)."""
    return summarise(t.exposure for t in computed)


def treatment_data(user, study, *, now: dt.datetime | None = None) -> list[dict]:
    """Per subject: its deviations (with acknowledgement) and its exposure, as plain data."""
    data = []
    for t in treatments(user, study, treated_subjects(user, study), now=now):
        deviations = []
        for d in t.deviations:
            ack = t.acknowledgements.get(d.key)
            deviations.append(
                {
                    **d.as_dict(),
                    "acknowledged": ack is not None,
                    "acknowledged_at": ack.acknowledged_at.isoformat() if ack else None,
                }
            )
        data.append(
            {
                "subject": t.subject.label,
                "site": t.subject.site.code,
                "today": t.today.isoformat(),
                "exposure": t.exposure.as_dict(),
                "deviations": deviations,
            }
        )
    return data


#: what the morning worklist lists (the minimum duration is not a task)
WORK_KINDS_EXCLUDED = {MINIMUM_TREATMENT}


@dataclass
class Worklist:
    today: dt.date
    overdue: list = field(default_factory=list)
    due_today: list = field(default_factory=list)
    this_week: list = field(default_factory=list)


def worklist(user, study, site, *, now: dt.datetime | None = None) -> Worklist:
    """The site's tasks on its own date: overdue, due today, due in the next 7 days."""
    today = site.today(now)
    result = Worklist(today)
    week_end = today + dt.timedelta(days=6)
    for t in treatments(user, study, treated_subjects(user, study, site), now=now):
        for item in t.calendar:
            if item.kind in WORK_KINDS_EXCLUDED or not item.open or item.due_on is None:
                continue
            entry = (t.subject, item)
            if item.status == OVERDUE:
                result.overdue.append(entry)
            elif item.due_on <= today or (
                item.window_start is not None and item.window_start <= today and item.due_on == today
            ):
                result.due_today.append(entry)
            elif item.due_on <= week_end:
                result.this_week.append(entry)
    for bucket in (result.overdue, result.due_today, result.this_week):
        bucket.sort(key=lambda e: (e[1].due_on, e[0].subject_code or "", e[1].key))
    return result


# --------------------------------------------------------------------------- acknowledgement


def acknowledge(user, subject, key: str, comment: str, *, now: dt.datetime | None = None):
    """A monitor or data manager acknowledges one computed deviation of ``subject``, with a
    comment (audited). The key must be one of the subject's deviations now."""
    from trialdesk.deviations.models import DeviationAcknowledgement

    study = subject.study
    access = study_access(user, study)
    require(access, Permission.ACKNOWLEDGE_DEVIATION, subject.site_id)
    comment = (comment or "").strip()
    if not comment:
        raise AcknowledgementRefused(_("Write a comment to acknowledge the deviation."))
    if len(comment) > COMMENT_MAX:
        raise AcknowledgementRefused(
            _("The comment is too long (at most %(n)d characters).") % {"n": COMMENT_MAX}
        )
    current = treatments(user, study, [subject], now=now)[0]
    deviation = next((d for d in current.deviations if d.key == key), None)
    if deviation is None:
        raise AcknowledgementRefused(_("This deviation no longer exists; the list was refreshed."))
    role = access.role_for(Permission.ACKNOWLEDGE_DEVIATION, subject.site_id)
    with audited():
        existing = DeviationAcknowledgement.objects.system("one acknowledgement per deviation").filter(
            subject=subject, key=key
        )
        if existing.exists():
            raise AcknowledgementRefused(_("This deviation was already acknowledged."))
        ack = DeviationAcknowledgement.objects.create(
            subject=subject,
            key=key,
            comment=comment,
            acknowledged_by=user,
            acknowledged_role=role,
            acknowledged_at=now or timezone.now(),
        )
        record(
            Actor.for_user(user, role),
            "deviation.acknowledge",
            study_id=study.pk,
            site=subject.site,
            object_type="subject",
            object_id=subject.pk,
            object_label=subject.label,
            field=key,
            new_value={
                "rule": deviation.rule,
                "record": deviation.ref,
                "explanation": str(deviation.explanation),
            },
            reason=comment,
        )
    return ack


# --------------------------------------------------------------------------- the window check at save


def on_form_saved(event: FormSaved) -> None:
    """An assessment dated outside its visit's window raises a query to the site, by the same
    rule (``calendar.check_window``) that lists it as a deviation."""
    if isinstance(event, RecordVoided):
        return
    form_record = event.record
    if not form_record.visit_id:
        return
    protocol = form_record.subject.study.protocol
    visit = form_record.visit
    kind = assessment_kinds(protocol).get(visit.code)
    if kind is None or assessment_form(protocol, kind) != form_record.form_code:
        return
    date_field = protocol.date_concept_field(form_record.form_code)
    if date_field is None or date_field not in event.changes:
        return
    done_on = _as_date(form_record.data.get(date_field))
    if done_on is None or visit.window_start is None or visit.window_end is None:
        return
    verdict = check_window(done_on, visit.window_start, visit.window_end)
    if verdict.in_window:
        return
    # The stored text is English (the record); pages show it in the reader's language.
    params = {"explanation": wording.from_message(verdict.explanation)}
    raise_system_query(
        form_record,
        date_field,
        wording.english(T_WINDOW_QUERY, params),
        code=ASSESSMENT_WINDOW_QUERY,
        reason=reasons.ASSESSMENT_WINDOW_CHECKED(user=event.actor.username),
        template=T_WINDOW_QUERY,
        params=params,
    )


#: the text of an assessment-window query (English stored; French in the deviations catalogue)
T_WINDOW_QUERY = gettext_noop(
    "This assessment is outside its window: %(explanation)s. Please confirm the date; "
    "it is listed as a protocol deviation."
)
