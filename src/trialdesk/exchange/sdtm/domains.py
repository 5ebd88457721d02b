"""The SDTM rows of one subject, from their SubjectSnapshot and the protocol (pure).

Every value is read through the protocol's clinical concepts (``protocol.read_concept``) and
every derived fact comes from the clinical core: the first and last dose, the course of
disease and the confirmed responses (``trialdesk.analysis.subject.subject_facts``, which calls
``clinical.course_of_disease``, ``clinical.survival``, ``clinical.exposure``), the protocol
deviations (``clinical.deviations.deviations_of``), the CTCAE term and its MedDRA code
(``clinical.ctcae``). Voided records are left out.

Study days (SDTM IG 3.4 §4.4.4): the reference start date RFSTDTC is the day of the first
dose; a day on or after it is ``(day - RFSTDTC) + 1`` (the first dose is Day 1), a day
before it ``day - RFSTDTC`` (the day before is Day -1): there is no Day 0.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trialdesk.analysis.subject import SubjectFacts, subject_facts
from trialdesk.clinical.calendar import (
    FIRST_DOSE,
    assessment_kinds,
)
from trialdesk.clinical.ctcae import find_term
from trialdesk.clinical.deviations import (
    ASSESSMENT_OUT_OF_WINDOW,
    RULES,
    SHORT_TREATMENT,
    TreatmentFacts,
)
from trialdesk.exchange.sdtm import terms
from trialdesk.exchange.sdtm.spec import TEXT_MAX
from trialdesk.protocol.values import as_date, as_number
from trialdesk.snapshot.model import RecordSnapshot, SubjectSnapshot

Row = dict[str, Any]

#: ISO 3166-1 alpha-3 (SDTM COUNTRY) of the country names a protocol's sites give
COUNTRIES: dict[str, str] = {
    "France": "FRA",
    "Germany": "DEU",
    "Belgium": "BEL",
    "Switzerland": "CHE",
    "Italy": "ITA",
    "Spain": "ESP",
    "Portugal": "PRT",
    "Netherlands": "NLD",
    "Luxembourg": "LUX",
    "United Kingdom": "GBR",
    "Ireland": "IRL",
    "Austria": "AUT",
    "Denmark": "DNK",
    "Sweden": "SWE",
    "Norway": "NOR",
    "Finland": "FIN",
    "Poland": "POL",
    "Czech Republic": "CZE",
    "Czechia": "CZE",
    "Greece": "GRC",
    "United States": "USA",
    "Canada": "CAN",
    "Australia": "AUS",
    "Japan": "JPN",
    "China": "CHN",
    "Brazil": "BRA",
    "India": "IND",
    "Israel": "ISR",
}
SCREEN_FAILED = "screen_failed"  # the subject's status (trialdesk.subjects.models.SubjectStatus)
_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def study_day(day: dt.date | None, reference: dt.date | None) -> int | None:
    """The SDTM study day of ``day`` against RFSTDTC (SDTM IG 3.4 §4.4.4): no Day 0."""
    if day is None or reference is None:
        return None
    delta = (day - reference).days
    return delta + 1 if delta >= 0 else delta


def planned_study_day(offset: int | None) -> int | None:
    """VISITDY of a visit planned ``offset`` days after the first dose (offset 0 is Day 1)."""
    if offset is None:
        return None
    return offset + 1 if offset >= 0 else offset


def text(value: Any) -> str | None:
    """A character value: one line, at most 200 characters (XPORT version 5); None if empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = " ".join(str(value).split())
    return result[:TEXT_MAX] or None


def yes_no(value: Any) -> str | None:
    return ("Y" if value else "N") if isinstance(value, bool) else None


class Visits:
    """The schedule's visits (expanded) numbered in their order: VISITNUM, VISIT, VISITDY."""

    def __init__(self, protocol: Any) -> None:
        self.by_code: dict[str, tuple[int, str, int | None]] = {}
        for number, visit in enumerate(protocol.schedule.expanded_visits(), start=1):
            day = planned_study_day(visit.day) if visit.anchor == FIRST_DOSE else None
            self.by_code[visit.code] = (number, visit.title, day)

    def of(self, code: str | None) -> tuple[int | None, str | None]:
        if code is None or code not in self.by_code:
            return None, None
        number, title, _ = self.by_code[code]
        return number, title


@dataclass
class Context:
    """What every subject's rows share: the protocol, the study and the cut-off."""

    protocol: Any
    studyid: str
    as_of: dt.date
    visits: Visits
    pseudonymised: bool = False  # the sites' free text is masked: not a reported term

    def __post_init__(self) -> None:
        p = self.protocol
        self.arm = p.arms[0] if len(p.arms) == 1 else None
        self.intervention = next((i for i in p.interventions if i.dose_rules is not None), None)
        rules = self.intervention.dose_rules if self.intervention is not None else None
        self.rules = rules
        self.route = terms.ROUTE_CODES.get(str(rules.route).upper()) if rules is not None else None
        self.frequency = terms.FREQUENCIES.get(int(rules.interval_days)) if rules is not None else None
        self.kinds = assessment_kinds(p)
        self.titles = {v.code: v.title for v in p.schedule.expanded_visits()}
        self.anchors = {v.code: v.anchor for v in p.schedule.expanded_visits()}
        self.criteria = {c.code: c for c in p.eligibility.criteria}
        self.screening_visit = p.baseline_visits[-1].code if p.baseline_visits else None
        self._has: dict[str, bool] = {}
        self._places: dict[tuple[str, str], tuple[str, str, Any] | None] = {}
        self._forms: dict[str, list[str]] = {}
        self._date_fields: dict[str, str | None] = {}

    def has(self, concept: str) -> bool:
        known = self._has.get(concept)
        if known is None:
            known = self._has[concept] = self.protocol.has_concept(concept)
        return known

    def _place(self, concept: str, form: str) -> tuple[str, str | None] | None:
        """Where ``form`` records ``concept``: ("field", code) or ("choice", value); None if not."""
        key = (concept, form)
        if key not in self._places:
            p, place = self.protocol, None
            if self.has(concept):
                if concept in p.concepts.choices:
                    ref = p.choice_concept(concept)
                    place = ("choice", ref.field, ref.value) if ref.form == form else None
                else:
                    field = p.concept_field(concept, form)
                    place = ("field", field, None) if field is not None else None
            self._places[key] = place
        return self._places[key]

    def read(self, concept: str, record: RecordSnapshot) -> Any:
        """A concept's value in ``record`` (None where its form does not record it), as
        ``protocol.read_concept`` reads it: a field's value, or whether a choice is made."""
        place = self._place(concept, record.form) if concept else None
        if place is None:
            return None
        kind, field, value = place
        stored = record.data.get(field)
        if kind == "field" or stored is None:
            return stored
        return stored == value

    def forms(self, concept: str) -> list[str]:
        """The forms a concept is recorded on, in its order of precedence."""
        known = self._forms.get(concept)
        if known is None:
            if not self.has(concept):
                known = []
            elif concept in self.protocol.concepts.choices:
                known = [self.protocol.choice_concept(concept).form]
            else:
                known = [ref.form for ref in self.protocol.concept(concept)]
            self._forms[concept] = known
        return known

    def unit(self, concept: str, form: str) -> str | None:
        place = self._place(concept, form)
        if place is None or place[0] != "field":
            return None
        unit = self.protocol.form(form).field(place[1]).unit
        return terms.UNITS.get(unit, unit) if unit else None

    def chosen(self, mapping: dict[str, str], record: RecordSnapshot) -> str | None:
        """The term of the choice concept of ``mapping`` that ``record`` states."""
        for concept, term in mapping.items():
            if self.has(concept) and self.read(concept, record) is True:
                return term
        return None

    def choice_label(self, concept: str, record: RecordSnapshot) -> str | None:
        """The label of the value recorded in the choice field ``concept`` is one value of."""
        if not self.has(concept):
            return None
        ref = self.protocol.choice_concept(concept)
        if ref.form != record.form:
            return None
        value = record.data.get(ref.field)
        if value in (None, ""):
            return None
        field = self.protocol.form(ref.form).field(ref.field)
        return next((c.label for c in field.choices if c.value == value), str(value))

    def record_day(self, record: RecordSnapshot) -> dt.date | None:
        if record.form not in self._date_fields:
            self._date_fields[record.form] = self.protocol.date_concept_field(record.form)
        field = self._date_fields[record.form]
        return as_date(record.data.get(field)) if field else None


@dataclass
class SubjectRows:
    """One subject's context: identifiers, reference dates and their facts."""

    ctx: Context
    subject: SubjectSnapshot
    facts: SubjectFacts
    records: list[RecordSnapshot]

    @property
    def usubjid(self) -> str:
        return f"{self.ctx.studyid}-{self.subject.label}"

    @property
    def reference(self) -> dt.date | None:
        return self.facts.first_dose_on

    def ids(self, domain: str) -> Row:
        return {"STUDYID": self.ctx.studyid, "DOMAIN": domain, "USUBJID": self.usubjid}

    def dy(self, day: dt.date | None) -> int | None:
        return study_day(day, self.reference)

    def of(self, concept: str) -> Iterator[RecordSnapshot]:
        forms = set(self.ctx.forms(concept))
        return (r for r in self.records if r.form in forms)

    def first(self, concept: str) -> Any:
        for form in self.ctx.forms(concept):
            for r in self.records:
                if r.form == form:
                    value = self.ctx.read(concept, r)
                    if value is not None:
                        return value
        return None


def subject_rows(ctx: Context, subject: SubjectSnapshot) -> SubjectRows:
    facts = subject_facts(ctx.protocol, subject, ctx.as_of)
    return SubjectRows(ctx, subject, facts, [r for r in subject.records if not r.voided])


# ---------------------------------------------------------------- special purpose: DM, SV


def dm(s: SubjectRows, sites: dict[str, Any]) -> Iterator[Row]:
    subject, facts, ctx = s.subject, s.facts, s.ctx
    enrolled = subject.enrolled_on is not None
    arm = ctx.arm
    armcd = arm.code if (arm is not None and enrolled) else None
    actarmcd = armcd if facts.treated else None
    if not enrolled:
        reason = "SCREEN FAILURE" if _screen_failed(subject) else "NOT ASSIGNED"
    elif arm is None:
        reason = "NOT ASSIGNED"
    elif not facts.treated:
        reason = "ASSIGNED, NOT TREATED"
    else:
        reason = None
    death = facts.survival.death_date
    ended = as_date(s.first("study_ended_on"))
    site = sites.get(subject.site)
    country = site.country if site is not None else ""
    yield {
        **s.ids("DM"),
        "SUBJID": subject.label,
        "RFSTDTC": iso(facts.first_dose_on),
        "RFENDTC": iso(facts.last_dose_on),
        "RFXSTDTC": iso(facts.first_dose_on),
        "RFXENDTC": iso(facts.last_dose_on),
        "RFICDTC": iso(subject.consent_date or as_date(s.first("consented_on"))),
        "RFPENDTC": iso(ended or death),
        "DTHDTC": iso(death),
        "DTHFL": "Y" if death is not None else None,
        "SITEID": subject.site,
        "BRTHDTC": str(subject.year_of_birth) if subject.year_of_birth is not None else None,
        "AGE": subject.age,
        "AGEU": "YEARS" if subject.age is not None else None,
        "SEX": terms.SEX_CODES.get(subject.sex, "U"),
        "RACE": None,
        "ARMCD": armcd,
        "ARM": arm.title if armcd else None,
        "ACTARMCD": actarmcd,
        "ACTARM": arm.title if actarmcd else None,
        "ARMNRS": reason,
        "COUNTRY": COUNTRIES.get(country, country.upper() or None),
        "DMDTC": iso(subject.screened_on),
        "DMDY": s.dy(subject.screened_on),
    }


def sv(s: SubjectRows) -> Iterator[Row]:
    for visit in s.subject.visits:
        if visit.actual_date is None or visit.code not in s.ctx.visits.by_code:
            continue
        number, title, planned = s.ctx.visits.by_code[visit.code]
        yield {
            **s.ids("SV"),
            "VISITNUM": number,
            "VISIT": title,
            "VISITDY": planned,
            "SVSTDTC": iso(visit.actual_date),
            "SVENDTC": iso(visit.actual_date),
            "SVSTDY": s.dy(visit.actual_date),
            "SVENDY": s.dy(visit.actual_date),
        }


# ---------------------------------------------------------------- events: DS, AE, MH, DV


def ds(s: SubjectRows) -> Iterator[Row]:
    subject, ctx = s.subject, s.ctx
    consent = subject.consent_date or as_date(s.first("consented_on"))
    if consent is not None:
        yield _ds(
            s,
            "INFORMED CONSENT OBTAINED",
            "INFORMED CONSENT OBTAINED",
            "PROTOCOL MILESTONE",
            "SCREENING",
            consent,
        )
    if subject.enrolled_on is not None:
        yield _ds(
            s,
            "ELIGIBILITY CRITERIA MET",
            "ELIGIBILITY CRITERIA MET",
            "PROTOCOL MILESTONE",
            "SCREENING",
            subject.enrolled_on,
        )
    for r in s.of("treatment_stopped_on"):
        day = as_date(ctx.read("treatment_stopped_on", r))
        decod = ctx.chosen(terms.END_OF_TREATMENT, r) or terms.OTHER
        term = ctx.choice_label("stopped_for_progression", r) or decod
        yield _ds(s, term, decod, "DISPOSITION EVENT", "TREATMENT", day)
    ended = False
    for r in s.of("study_ended_on"):
        day = as_date(ctx.read("study_ended_on", r))
        decod = ctx.chosen(terms.END_OF_STUDY, r) or terms.OTHER
        term = ctx.choice_label("ended_follow_up_completed", r) or decod
        epoch = "SCREENING" if subject.enrolled_on is None else "FOLLOW-UP"
        ended = True
        yield _ds(s, term, decod, "DISPOSITION EVENT", epoch, day)
    if not ended and subject.enrolled_on is None and _screen_failed(subject):
        # a screen failure whose end of study is not recorded: the screening verdict is the event
        yield _ds(
            s, "SCREEN FAILURE", "SCREEN FAILURE", "DISPOSITION EVENT", "SCREENING", subject.screened_on
        )


def _screen_failed(subject: SubjectSnapshot) -> bool:
    return bool(subject.screen_failure_criteria) or subject.status == SCREEN_FAILED


def _ds(s: SubjectRows, term, decod, category, epoch, day) -> Row:
    return {
        **s.ids("DS"),
        "DSTERM": text(term),
        "DSDECOD": decod,
        "DSCAT": category,
        "EPOCH": epoch,
        "DSSTDTC": iso(day),
        "DSSTDY": s.dy(day),
    }


def ae(s: SubjectRows) -> Iterator[Row]:
    ctx = s.ctx
    for r in s.of("adverse_event_term"):
        term = ctx.read("adverse_event_term", r)
        meddra = ctx.read("adverse_event_meddra", r)
        known = find_term(meddra) if meddra not in (None, "") else None
        known = known or (find_term(term) if term else None)
        specified = None if ctx.pseudonymised else ctx.read("adverse_event_specified", r)
        grade = ctx.read("adverse_event_grade", r)
        onset = as_date(ctx.read("adverse_event_onset", r))
        ongoing = ctx.read("adverse_event_ongoing", r) is True
        resolved = None if ongoing else as_date(ctx.read("adverse_event_resolved_on", r))
        soc = known.soc if known is not None else ctx.read("adverse_event_soc", r)
        serious = ctx.read("adverse_event_serious", r)
        row = {
            **s.ids("AE"),
            "AESPID": f"{r.form}#{r.repeat}",
            "AETERM": text(specified) or text(known.term if known is not None else term),
            "AEDECOD": known.term if known is not None else text(term),
            "AEPTCD": known.meddra_code if known is not None else None,
            "AEBODSYS": text(soc),
            "AESOC": text(soc),
            "AESER": yes_no(serious),
            "AEACN": ctx.chosen(terms.ACTION, r),
            "AEREL": ctx.chosen(terms.CAUSALITY, r),
            "AEOUT": ctx.chosen(terms.OUTCOME, r),
            "AETOXGR": str(grade) if isinstance(grade, int) and not isinstance(grade, bool) else None,
            "AESTDTC": iso(onset),
            "AEENDTC": iso(resolved),
            "AESTDY": s.dy(onset),
            "AEENDY": s.dy(resolved),
            "AEENRTPT": "ONGOING" if ongoing else None,
            "AEENTPT": iso(ctx.as_of) if ongoing else None,
        }
        for variable, concept in terms.SERIOUSNESS.items():
            row[variable] = yes_no(ctx.read(concept, r)) if serious is True else None
        yield row


def mh(s: SubjectRows) -> Iterator[Row]:
    ctx = s.ctx
    for r in s.of("history_condition"):
        ongoing = ctx.read("history_ongoing", r) is True
        start = as_date(ctx.read("history_started_on", r))
        end = None if ongoing else as_date(ctx.read("history_ended_on", r))
        yield {
            **s.ids("MH"),
            "MHTERM": text(ctx.read("history_condition", r)),
            "MHSTDTC": iso(start),
            "MHENDTC": iso(end),
            "MHENRTPT": "ONGOING" if ongoing else None,
            "MHENTPT": iso(s.subject.screened_on) if ongoing else None,
        }


#: DVCAT of each deviation rule of clinical.deviations
_DV_CATEGORY = {ASSESSMENT_OUT_OF_WINDOW: "VISIT SCHEDULE", SHORT_TREATMENT: "TREATMENT DURATION"}


def treatment_facts(s: SubjectRows) -> TreatmentFacts:
    """The plain values the deviation rules read, from the snapshot, its cardiac holds
    included: the analysis's (``analysis.subject.treatment_facts_of``), one construction."""
    if s.facts.treatment is not None:
        return s.facts.treatment
    return TreatmentFacts(first_dose_on=s.facts.first_dose_on, treatment_ended_on=s.facts.treatment_ended_on)


def dv(s: SubjectRows) -> Iterator[Row]:
    rules = s.ctx.rules
    if rules is None or s.facts.first_dose_on is None:
        return
    for d in s.facts.deviations:
        yield {
            **s.ids("DV"),
            "DVSPID": d.key,
            "DVTERM": text(str(d.explanation)) or RULES[d.rule],
            "DVDECOD": RULES[d.rule].upper(),
            "DVCAT": _DV_CATEGORY.get(d.rule, "STUDY TREATMENT"),
            "DVSTDTC": iso(d.on),
            "DVSTDY": s.dy(d.on),
        }


# ---------------------------------------------------------------- interventions: EX, CM, PR


def _at(day: dt.date | None, time: Any) -> str | None:
    if day is None:
        return None
    if isinstance(time, str) and _TIME.match(time):
        return f"{day.isoformat()}T{time}"
    return day.isoformat()


def ex(s: SubjectRows) -> Iterator[Row]:
    ctx = s.ctx
    if ctx.intervention is None:
        return
    for r in s.of("dose_date"):
        day = as_date(ctx.read("dose_date", r))
        given = as_number(ctx.read("dose_given", r))
        if day is None or given is None:
            continue
        prescribed = as_number(ctx.read("dose_prescribed", r))
        loading = ctx.read("loading_dose", r) is True
        yield {
            **s.ids("EX"),
            "EXTRT": text(ctx.intervention.name),
            "EXDOSE": given,
            "EXDOSU": ctx.unit("dose_given", r.form),
            "EXDOSFRM": None,
            "EXDOSFRQ": "ONCE" if loading else ctx.frequency,
            "EXROUTE": ctx.route,
            "EXLOT": text(ctx.read("dose_lot", r)),
            "EXADJ": "DOSE GIVEN DIFFERS FROM PRESCRIBED DOSE"
            if prescribed is not None and prescribed != given
            else None,
            "EXSTDTC": _at(day, ctx.read("infusion_started_at", r)),
            "EXENDTC": _at(day, ctx.read("infusion_ended_at", r)),
            "EXSTDY": s.dy(day),
            "EXENDY": s.dy(day),
        }


def cm(s: SubjectRows) -> Iterator[Row]:
    ctx = s.ctx
    for r in s.of("medication_name"):
        ongoing = ctx.read("medication_ongoing", r) is True
        start = as_date(ctx.read("medication_started_on", r))
        end = None if ongoing else as_date(ctx.read("medication_stopped_on", r))
        yield {
            **s.ids("CM"),
            "CMTRT": text(ctx.read("medication_name", r)),
            "CMINDC": text(ctx.read("medication_indication", r)),
            "CMROUTE": ctx.chosen(terms.ROUTES, r),
            "CMENRTPT": "ONGOING" if ongoing else None,
            "CMENTPT": iso(ctx.as_of) if ongoing else None,
            "CMSTDTC": iso(start),
            "CMENDTC": iso(end),
            "CMSTDY": s.dy(start),
            "CMENDY": s.dy(end),
        }


def pr(s: SubjectRows) -> Iterator[Row]:
    ctx = s.ctx
    for r in s.of("transfused_on"):
        day = as_date(ctx.read("transfused_on", r))
        product = ctx.chosen(terms.TRANSFUSIONS, r)
        if product is None:
            label = ctx.choice_label(next(iter(terms.TRANSFUSIONS)), r)
            product = text(f"{label} transfusion".upper()) if label else None
        units = as_number(ctx.read("transfused_units", r))
        yield {
            **s.ids(domain="PR"),
            "PRTRT": product,
            "PRCAT": "TRANSFUSION",
            "PRDOSE": units,
            "PRDOSU": ctx.unit("transfused_units", r.form) if units is not None else None,
            "PRSTDTC": iso(day),
            "PRENDTC": iso(day),
            "PRSTDY": s.dy(day),
            "PRENDY": s.dy(day),
        }


# ---------------------------------------------------------------- findings: LB, VS, CV, RS, IE


def _findings(s: SubjectRows, prefix: str, tests, extra=None) -> Iterator[Row]:
    ctx = s.ctx
    rows: list[Row] = []
    seen: set[tuple] = set()
    for test in tests:
        for form in ctx.forms(test.concept):
            for r in s.records:
                if r.form != form:
                    continue
                value = as_number(ctx.read(test.concept, r))
                if value is None:
                    continue
                day = ctx.record_day(r)
                key = (test.testcd, test.specimen, day, r.visit if day is None else None)
                if key in seen:
                    continue  # the same measurement in a second place (the screening form's copy)
                seen.add(key)
                visitnum, visit = ctx.visits.of(r.visit)
                unit = ctx.unit(test.concept, form)
                result = text(value)
                row = {
                    **s.ids(prefix),
                    f"{prefix}TESTCD": test.testcd,
                    f"{prefix}TEST": test.test,
                    f"{prefix}CAT": test.category,
                    f"{prefix}ORRES": result,
                    f"{prefix}ORRESU": unit,
                    f"{prefix}STRESC": result,
                    f"{prefix}STRESN": value,
                    f"{prefix}STRESU": unit,
                    f"{prefix}LOBXFL": None,
                    "VISITNUM": visitnum,
                    "VISIT": visit,
                    f"{prefix}DTC": iso(day),
                    f"{prefix}DY": s.dy(day),
                }
                if prefix == "LB":
                    uln = as_number(ctx.read(test.uln, r)) if test.uln else None
                    row["LBSPEC"] = test.specimen
                    row["LBORNRHI"] = text(uln)
                    row["LBSTNRHI"] = uln
                if extra is not None:
                    row.update(extra(r))
                rows.append((day, row))
    rows.sort(key=lambda pair: pair[0] or dt.date.max)
    reference = s.reference
    if reference is not None:
        last: dict[tuple, Row] = {}
        for day, row in rows:
            if day is not None and day <= reference:
                last[(row[f"{prefix}TESTCD"], row.get("LBSPEC"))] = row
        for row in last.values():
            row[f"{prefix}LOBXFL"] = "Y"
    for _, row in rows:
        yield row


def lb(s: SubjectRows) -> Iterator[Row]:
    return _findings(s, "LB", terms.LAB_TESTS)


def vs(s: SubjectRows) -> Iterator[Row]:
    return _findings(s, "VS", terms.VITAL_SIGNS)


def cv(s: SubjectRows) -> Iterator[Row]:
    return _findings(
        s, "CV", terms.CARDIAC_TESTS, lambda r: {"CVMETHOD": s.ctx.chosen(terms.LVEF_METHODS, r)}
    )


def rs(s: SubjectRows) -> Iterator[Row]:
    ctx, course = s.ctx, s.facts.course
    category = text(getattr(ctx.protocol.response_criteria, "reference", None)) or "RESPONSE CRITERIA"

    def row(testcd, test, result, evaluator, evaluator_id, accepted, day, visit, group) -> Row:
        visitnum, visit_name = ctx.visits.of(visit)
        term = terms.RESPONSE_TERMS.get(result, result)
        return {
            **s.ids("RS"),
            "RSGRPID": group,
            "RSTESTCD": testcd,
            "RSTEST": test,
            "RSCAT": category,
            "RSORRES": term,
            "RSSTRESC": term,
            "RSEVAL": evaluator,
            "RSEVALID": evaluator_id,
            "RSACPTFL": accepted,
            "VISITNUM": visitnum,
            "VISIT": visit_name,
            "RSDTC": iso(day),
            "RSDY": s.dy(day),
        }

    for a in course.assessments:
        form, visit, repeat = a.record.key
        group = f"{visit or form}#{repeat}"
        on = a.record.on
        if a.record.investigator is not None:
            yield row(
                "OVRLRESP",
                "Overall Response",
                a.record.investigator.value,
                "INVESTIGATOR",
                None,
                None,
                on,
                visit,
                group,
            )
        yield row(
            "OVRLRESP",
            "Overall Response",
            a.derived.category.value,
            "SPONSOR",
            "DERIVED",
            None,
            on,
            visit,
            group,
        )
        yield row(
            "OVRLRESP", "Overall Response", a.confirmed.value, "SPONSOR", "CONFIRMED", "Y", on, visit, group
        )
    for evaluator_id, series in (("DERIVED", course.derived), ("CONFIRMED", course.confirmed)):
        if series.best is not None:
            yield row(
                "BESTRESP",
                "Best Overall Response",
                series.best.value,
                "SPONSOR",
                evaluator_id,
                "Y" if evaluator_id == "CONFIRMED" else None,
                None,
                None,
                "BEST",
            )


def ie(s: SubjectRows) -> Iterator[Row]:
    ctx, subject = s.ctx, s.subject
    visitnum, visit = ctx.visits.of(ctx.screening_visit)
    for code in subject.screen_failure_criteria:
        criterion = ctx.criteria.get(code)
        if criterion is None:
            continue
        result = "N" if criterion.kind == "inclusion" else "Y"
        yield {
            **s.ids("IE"),
            "IETESTCD": criterion.code,
            "IETEST": text(criterion.text),
            "IECAT": criterion.kind.upper(),
            "IEORRES": result,
            "IESTRESC": result,
            "VISITNUM": visitnum,
            "VISIT": visit,
            "IEDTC": iso(subject.screened_on),
            "IEDY": s.dy(subject.screened_on),
        }


#: the row builders of the subject datasets (DM takes the sites too)
BUILDERS = {
    "DS": ds,
    "EX": ex,
    "AE": ae,
    "MH": mh,
    "CM": cm,
    "LB": lb,
    "VS": vs,
    "CV": cv,
    "PR": pr,
    "RS": rs,
    "IE": ie,
    "DV": dv,
    "SV": sv,
}
