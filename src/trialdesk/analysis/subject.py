"""What the analysis knows of one subject, derived from their SubjectSnapshot (pure).

Every per-subject fact is computed by the clinical core, read through the protocol's
concepts: the course of disease (``clinical.course_of_disease``, with the investigator's
confirmed responses the snapshot carries), survival (``clinical.survival``), transfusion
needs (``clinical.transfusion``), exposure (``clinical.exposure``). Voided records are left
out. Nothing here names a trial's field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from trialdesk.clinical.calendar import (
    FIRST_DOSE,
    AssessmentDone,
    HoldPeriod,
    assessment_form,
    assessment_kinds,
)
from trialdesk.clinical.course_of_disease import CourseOfDisease, MarrowRecord, course_of_disease
from trialdesk.clinical.ctcae import find_term
from trialdesk.clinical.deviations import Deviation, TreatmentFacts, deviations_of, exposure_of
from trialdesk.clinical.exposure import DoseValue, Exposure
from trialdesk.clinical.survival import (
    SurvivalFacts,
    SurvivalTime,
    leukemia_free_survival_of,
    overall_survival,
    survival_facts,
)
from trialdesk.clinical.transfusion import Transfusion, TransfusionNeeds, settings_of, transfusion_needs
from trialdesk.protocol.values import as_date as _as_date
from trialdesk.protocol.values import as_number as _as_float
from trialdesk.snapshot.model import RecordSnapshot, SubjectSnapshot

__all__ = [
    "AdverseEvent",
    "Categorical",
    "SubjectFacts",
    "derive_course",
    "forms_of",
    "hold_periods",
    "subject_facts",
    "treatment_facts_of",
]


def forms_of(protocol: Any, concept: str) -> set[str]:
    return {ref.form for ref in protocol.concept(concept)} if protocol.has_concept(concept) else set()


class _Plan:
    """What ``subject_facts`` reads of a protocol, worked out once per protocol instead of once
    per subject: the forms of each concept, the baseline visits, the assessment calendar."""

    def __init__(self, protocol: Any):
        self.protocol = protocol
        self.dose_forms = frozenset(forms_of(protocol, "dose_date"))
        self.transfusion_forms = frozenset(forms_of(protocol, "transfused_on"))
        self.ae_forms = frozenset(forms_of(protocol, "adverse_event_term"))
        self.lvef_forms = frozenset(forms_of(protocol, "lvef"))
        self.marrow_forms = frozenset(forms_of(protocol, "marrow_assessed_on"))
        self.karyotype_forms = frozenset(forms_of(protocol, "abnormal_karyotype")) - self.marrow_forms
        self.baseline_visits = frozenset(v.code for v in protocol.baseline_visits)
        self.baseline_refs = tuple(
            (concept, tuple(protocol.concept(concept)))
            for concept in _BASELINE_CONCEPTS
            if protocol.has_concept(concept)
        )
        self.kinds = assessment_kinds(protocol)
        self.assessment_forms = {kind: assessment_form(protocol, kind) for kind in set(self.kinds.values())}
        self.lvef_form = assessment_form(protocol, "lvef")
        self.expanded = {v.code: v for v in protocol.schedule.expanded_visits()}
        self.end_forms = _ordered_forms(protocol, "treatment_stopped_on")
        self.study_end_forms = _ordered_forms(protocol, "study_ended_on")
        self.rules = protocol.dose_rules if _has_dose_rules(protocol) else None


_PLANS: dict[int, _Plan] = {}


def _plan_of(protocol: Any) -> _Plan:
    """The protocol's plan, kept while the protocol object is (keyed by its identity, checked)."""
    plan = _PLANS.get(id(protocol))
    if plan is None or plan.protocol is not protocol:
        plan = _Plan(protocol)
        if len(_PLANS) >= 16:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[id(protocol)] = plan
    return plan


def _read(protocol: Any, concept: str, record: RecordSnapshot) -> Any:
    """A field concept's value in a record (None: the form does not record it, or no value)."""
    field = protocol.concept_field(concept, record.form)
    return None if field is None else record.data.get(field)


@dataclass(frozen=True)
class Categorical:
    """A recorded choice, kept as the form states it (the report shows its label)."""

    form: str
    field: str
    value: Any


def _choice_of(protocol: Any, concept: str, records: list[RecordSnapshot]) -> Categorical | None:
    """The value recorded in the choice field that ``concept`` is one value of."""
    if not protocol.has_concept(concept):
        return None
    ref = protocol.choice_concept(concept)
    for r in records:
        if r.form == ref.form and r.data.get(ref.field) not in (None, ""):
            return Categorical(ref.form, ref.field, r.data[ref.field])
    return None


@dataclass(frozen=True)
class AdverseEvent:
    ref: str  # the record's identity within the subject (``adverse_event#2``)
    term: str | None
    meddra: Any
    soc: str | None
    grade: int | None
    serious: bool
    onset: dt.date | None
    data: Mapping[str, Any]  # the record's data (the safety rules read it by concept)
    form: str


@dataclass(frozen=True)
class SubjectFacts:
    snapshot: SubjectSnapshot
    enrolled: bool
    treated: bool  # at least one dose given
    first_dose_on: dt.date | None
    last_dose_on: dt.date | None
    course: CourseOfDisease
    survival: SurvivalFacts
    os: SurvivalTime | None  # enrolled subjects
    lfs: SurvivalTime | None  # responders (confirmed response)
    transfusions: TransfusionNeeds
    exposure: Exposure
    adverse_events: tuple[AdverseEvent, ...]
    lvef: tuple[tuple[dt.date, float], ...]
    treatment_ended_on: dt.date | None
    stop_reason: Categorical | None
    baseline_values: Mapping[str, Any]  # concept -> value (age, performance status, …)
    disease_status: Categorical | None
    abnormal_baseline_karyotype: bool | None
    dose_dates: tuple[dt.date, ...] = ()  # the days a dose was given, in order
    #: what the calendar and the deviation rules read (None without dose rules or a dose)
    treatment: TreatmentFacts | None = None
    #: the protocol deviations ``clinical.deviations`` computes on the snapshot's day
    deviations: tuple[Deviation, ...] = ()

    @property
    def label(self) -> str:
        return self.snapshot.label

    @property
    def site(self) -> str:
        return self.snapshot.site


def _key(record: RecordSnapshot) -> tuple[str, str | None, int]:
    return (record.form, record.visit, record.repeat)


def derive_course(
    protocol: Any,
    subject: SubjectSnapshot,
    records: list[RecordSnapshot],
    first_dose: dt.date | None,
    *,
    apply_confirmations: bool = True,
) -> tuple[CourseOfDisease, bool | None]:
    """The course of disease of the subject's marrows, with the investigator's confirmations
    that still hold (the same assessment against the same derived response); and the
    baseline karyotype of a form other than the marrow form (the screening's)."""
    plan = _plan_of(protocol)
    marrow_forms = plan.marrow_forms
    karyotype_forms = plan.karyotype_forms
    marrows: list[MarrowRecord] = []
    baseline_karyotype = None
    for r in records:
        if r.form in karyotype_forms:
            value = _read(protocol, "abnormal_karyotype", r)
            if value is not None:
                baseline_karyotype = bool(value)
        if r.form in marrow_forms:
            m = MarrowRecord.from_record(protocol, r.form, r.data, key=_key(r))
            if m is not None:
                marrows.append(m)
    criteria = protocol.response_criteria
    course = course_of_disease(
        marrows, criteria, first_dose=first_dose, baseline_abnormal_karyotype=baseline_karyotype
    )
    if not apply_confirmations or not subject.confirmations:
        return course, baseline_karyotype
    latest = {}
    for c in subject.confirmations:
        latest[(c.record.form, c.record.visit, c.record.repeat)] = c
    held = set()
    for a in course.discordances:
        c = latest.get(a.record.key)
        investigator = a.record.investigator.value if a.record.investigator else None
        if c is not None and c.category == investigator and c.derived_category == a.derived.category.value:
            held.add(a.record.key)
    if not held:
        return course, baseline_karyotype
    confirmed = [replace(m, confirmed=True) if m.key in held else m for m in marrows]
    return (
        course_of_disease(
            confirmed, criteria, first_dose=first_dose, baseline_abnormal_karyotype=baseline_karyotype
        ),
        baseline_karyotype,
    )


_BASELINE_CONCEPTS = (
    "age",
    "performance_status",
    "body_weight",
    "body_height",
    "prior_treatment_lines",
    "prior_allogeneic_transplant",
    "philadelphia_chromosome",
    "marrow_blasts",
    "her2_positive_blasts",
    "lvef",
    "diagnosed_on",
)


def subject_facts(protocol: Any, subject: SubjectSnapshot, as_of: dt.date) -> SubjectFacts:
    """The facts of one subject as their snapshot holds them (``as_of``: the cut-off, or the day
    the snapshot was made, which ends a treatment still going on)."""
    plan = _plan_of(protocol)
    records = [r for r in subject.records if not r.voided]
    dose_forms = plan.dose_forms
    doses: list[DoseValue] = []
    for r in records:
        if r.form not in dose_forms:
            continue
        given_on = _as_date(_read(protocol, "dose_date", r))
        if given_on is None:
            continue
        loading = _read(protocol, "loading_dose", r)
        doses.append(
            DoseValue(
                given_on,
                _as_float(_read(protocol, "dose_given", r)),
                _as_float(_read(protocol, "dose_weight", r)),
                _as_float(_read(protocol, "dose_prescribed", r)),
                loading if isinstance(loading, bool) else None,
                f"{r.form}#{r.repeat}",
            )
        )
    dose_days = sorted(d.given_on for d in doses)
    first_dose = subject.first_dose_on or (dose_days[0] if dose_days else None)
    last_dose = dose_days[-1] if dose_days else None
    course, baseline_karyotype = derive_course(protocol, subject, records, first_dose)

    # most recent first, as the death date's precedence reads them
    by_recency = sorted(records, key=lambda r: _record_day(protocol, r) or dt.date.min, reverse=True)
    facts = survival_facts(protocol, [(r.form, r.data) for r in by_recency])
    cutoff = as_of
    os_time = (
        overall_survival(subject.enrolled_on, facts, cutoff=cutoff)
        if subject.enrolled_on is not None
        else None
    )
    lfs_time = leukemia_free_survival_of(course, facts, cutoff=cutoff)

    ended = None
    for r in records:
        day = _as_date(_read(protocol, "treatment_stopped_on", r))
        if day is not None:
            ended = day if ended is None else min(ended, day)
    transfusion_forms = plan.transfusion_forms
    transfusions = [
        t
        for r in records
        if r.form in transfusion_forms
        for t in [Transfusion.from_record(protocol, r.form, r.data)]
        if t is not None
    ]
    needs = transfusion_needs(
        transfusions,
        first_dose,
        last_dose if ended is not None else None,
        settings=settings_of(protocol),
        as_of=as_of,
    )
    rules = plan.rules
    treatment = None
    deviations: tuple[Deviation, ...] = ()
    if rules is not None:
        off = next(
            (
                day
                for form in plan.study_end_forms
                for r in records
                if r.form == form and (day := _as_date(_read(protocol, "study_ended_on", r))) is not None
            ),
            None,
        )
        treatment = treatment_facts_of(
            protocol, subject, records, doses, first_dose, ended, off or facts.death_date
        )
        if first_dose is not None:
            deviations = tuple(deviations_of(rules, treatment, as_of))
    exp = exposure_of(rules, treatment) if treatment is not None else exposure_none()

    ae_forms = plan.ae_forms
    events = []
    for r in records:
        if r.form not in ae_forms:
            continue
        grade = _read(protocol, "adverse_event_grade", r)
        term = _read(protocol, "adverse_event_term", r)
        meddra = _read(protocol, "adverse_event_meddra", r)
        # the system organ class of the CTCAE term (the dictionary's, one source for every viewer:
        # a pseudonymised snapshot masks the text typed beside it), else the one recorded
        known = find_term(meddra) if meddra not in (None, "") else None
        known = known or (find_term(term) if term else None)
        soc = known.soc if known is not None else _read(protocol, "adverse_event_soc", r)
        data = dict(r.data)
        soc_field = (
            protocol.concept_field("adverse_event_soc", r.form)
            if protocol.has_concept("adverse_event_soc")
            else None
        )
        if soc_field and soc:
            data[soc_field] = soc
        meddra_field = (
            protocol.concept_field("adverse_event_meddra", r.form)
            if protocol.has_concept("adverse_event_meddra")
            else None
        )
        if known is not None and meddra_field:
            meddra = data[meddra_field] = str(known.meddra_code)
        events.append(
            AdverseEvent(
                ref=f"{r.form}#{r.repeat}",
                term=term,
                meddra=meddra,
                soc=soc,
                grade=grade if isinstance(grade, int) and not isinstance(grade, bool) else None,
                serious=_read(protocol, "adverse_event_serious", r) is True,
                onset=_as_date(_read(protocol, "adverse_event_onset", r)),
                data=data,
                form=r.form,
            )
        )
    lvef_forms = plan.lvef_forms
    lvef = []
    for r in records:
        if r.form not in lvef_forms:
            continue
        value = _as_float(_read(protocol, "lvef", r))
        day = _as_date(_read(protocol, "lvef_assessed_on", r)) or _as_date(_read(protocol, "screened_on", r))
        if value is not None and day is not None:
            lvef.append((day, value))
    baseline_values: dict[str, Any] = {}
    baseline_visits = plan.baseline_visits
    # the records of the visits before or on the first dose (screening, day 1)
    baseline_records = [r for r in records if r.visit is not None and r.visit in baseline_visits]
    for concept, refs in plan.baseline_refs:
        # the baseline value: the screening or baseline forms' (the marrow and LVEF series
        # give theirs first at the screening visit)
        for ref in refs:
            found = next(
                (
                    r.data.get(ref.field)
                    for r in baseline_records
                    if r.form == ref.form and r.data.get(ref.field) is not None
                ),
                None,
            )
            if found is not None:
                baseline_values[concept] = found
                break
    if subject.age is not None:
        baseline_values.setdefault("age", subject.age)
    return SubjectFacts(
        snapshot=subject,
        enrolled=subject.enrolled_on is not None,
        treated=bool(doses),
        first_dose_on=first_dose,
        last_dose_on=last_dose,
        course=course,
        survival=facts,
        os=os_time,
        lfs=lfs_time,
        transfusions=needs,
        exposure=exp,
        adverse_events=tuple(sorted(events, key=lambda e: (e.onset or dt.date.max, e.ref))),
        lvef=tuple(sorted(lvef)),
        treatment_ended_on=ended,
        stop_reason=_choice_of(protocol, "stopped_for_progression", records),
        baseline_values=baseline_values,
        disease_status=_choice_of(protocol, "relapsed_disease", records),
        abnormal_baseline_karyotype=(
            course.cytogenetic.abnormal_at_baseline
            if course.cytogenetic.abnormal_at_baseline is not None
            else baseline_karyotype
        ),
        dose_dates=tuple(dose_days),
        treatment=treatment,
        deviations=deviations,
    )


def _ordered_forms(protocol: Any, concept: str) -> list[str]:
    """The forms a concept is recorded on, in its order of precedence."""
    if not protocol.has_concept(concept):
        return []
    if concept in protocol.concepts.choices:
        return [protocol.choice_concept(concept).form]
    return list(dict.fromkeys(ref.form for ref in protocol.concept(concept)))


def hold_periods(subject: SubjectSnapshot) -> tuple[HoldPeriod, ...]:
    """The snapshot's cardiac holds as the calendar and the deviation rules read them: from the
    LVEF that opened each until the investigator's decision (None: still on hold)."""
    return tuple(
        HoldPeriod(h.started_on, h.ended_on, h.repeat_lvef_due_on, h.ref) for h in subject.cardiac_holds
    )


def treatment_facts_of(
    protocol: Any,
    subject: SubjectSnapshot,
    records: list[RecordSnapshot],
    doses: list[DoseValue],
    first_dose_on: dt.date | None,
    treatment_ended_on: dt.date | None,
    off_study_on: dt.date | None,
) -> TreatmentFacts:
    """The plain values the calendar, the exposure and the deviation rules read, from the
    snapshot (as the deviations app builds them from the database), its cardiac holds included."""
    plan = _plan_of(protocol)
    kinds = plan.kinds
    dated = {(r.visit, r.form): _record_day(protocol, r) for r in records if r.visit is not None}
    lvef_form = plan.lvef_form
    lvef_days = [d for r in records if r.form == lvef_form and (d := _record_day(protocol, r)) is not None]
    expanded = plan.expanded
    assessments = []
    for visit in subject.visits:
        kind = kinds.get(visit.code)
        if kind is None:
            continue
        form = plan.assessment_forms[kind]
        known = expanded.get(visit.code)
        assessments.append(
            AssessmentDone(
                visit.code,
                known.title if known is not None else visit.code,
                kind,
                visit.planned_date,
                visit.window_start,
                visit.window_end,
                dated.get((visit.code, form)),
                ref=f"{visit.code}/{form}",
                anchor=known.anchor if known is not None else FIRST_DOSE,
            )
        )
    end_forms = plan.end_forms
    end = next((r for r in records if r.form in end_forms), None)
    return TreatmentFacts(
        first_dose_on=first_dose_on,
        doses=doses,
        assessments=assessments,
        treatment_ended_on=treatment_ended_on,
        end_reason_recorded=end is not None and end.status != "incomplete",
        end_ref=f"{end.visit}/{end.form}" if end is not None else "",
        holds=hold_periods(subject),
        lvef_done_on=lvef_days,
        off_study_on=off_study_on,
    )


def _has_dose_rules(protocol: Any) -> bool:
    try:
        return protocol.dose_rules is not None
    except KeyError:
        return False


def exposure_none() -> Exposure:
    return Exposure(0, None, None, 0.0, 0.0, 0, 0.0, None, 0, 0, 0, 0)


def _record_day(protocol: Any, record: RecordSnapshot) -> dt.date | None:
    field = protocol.date_concept_field(record.form)
    return _as_date(record.data.get(field)) if field else None
