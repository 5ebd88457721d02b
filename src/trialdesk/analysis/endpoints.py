"""The endpoints of a protocol from one StudySnapshot (pure; DESIGN §4).

One function per endpoint. Each returns a dataclass that carries the subjects each number
counts (their labels, as the snapshot names them: pseudonymised for its viewer), the
analysis population, the derivation rule and where it comes from (the protocol's endpoint
and its ``source``: registry or operational). The statistics are ``trialdesk.stats``'s; the
per-subject derivations ``trialdesk.clinical``'s (through :mod:`trialdesk.analysis.subject`).

The rule texts are English, marked for translation (the report translates them).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trialdesk.analysis.subject import Categorical, SubjectFacts, subject_facts
from trialdesk.clinical.deviations import DOSE_DURING_HOLD
from trialdesk.clinical.deviations import RULES as DEVIATION_RULES
from trialdesk.clinical.exposure import Exposure, ExposureSummary, summarise
from trialdesk.clinical.response import ResponseCategory
from trialdesk.clinical.safety import Tolerance, is_related, is_susar, tolerance
from trialdesk.clinical.survival import DAYS_PER_MONTH
from trialdesk.clinical.transfusion import Product
from trialdesk.protocol.formdata import gettext_noop
from trialdesk.protocol.values import as_date as _date
from trialdesk.snapshot.collection import paused_collection
from trialdesk.snapshot.model import StudySnapshot
from trialdesk.stats.binomial import Proportion, proportion
from trialdesk.stats.paired import SignedRankTest, wilcoxon_signed_rank
from trialdesk.stats.simon import SimonDecision, SimonDesign, decide
from trialdesk.stats.survival import KaplanMeier, kaplan_meier

__all__ = [
    "Analysis",
    "Population",
    "analyse",
]

TREATED = gettext_noop("Treated subjects: enrolled and given at least one dose of the study drug.")
ENROLLED = gettext_noop("Enrolled subjects.")
RESPONDERS = gettext_noop("Responders: subjects whose best confirmed response is CR, CRp or PR.")
ABNORMAL_KARYOTYPE = gettext_noop("Treated subjects with an abnormal karyotype at baseline.")
WITH_AN_EVENT = gettext_noop("Treated subjects with at least one adverse event.")


@dataclass(frozen=True)
class Population:
    name: str  # the code of the population: treated, enrolled, responders, …
    rule: str
    subjects: tuple[str, ...]

    @property
    def n(self) -> int:
        return len(self.subjects)


@dataclass(frozen=True)
class Derivation:
    """Where a number comes from: the protocol's endpoint (its code, title, description and
    source) and the rule applied."""

    endpoint: str
    title: str
    description: str
    source: str  # registry | operational | "" (not an endpoint of the protocol)
    rule: str


def _derivation(protocol: Any, derivation: str, rule: str) -> Derivation:
    for endpoint in protocol.endpoints:
        if endpoint.derivation == derivation:
            return Derivation(
                endpoint.code, endpoint.title, endpoint.description or "", endpoint.source, rule
            )
    return Derivation(derivation, "", "", "", rule)


# --------------------------------------------------------------------------- response rate


@dataclass(frozen=True)
class ResponseRate:
    derivation: Derivation
    population: Population
    responders: tuple[str, ...]  # best confirmed response CR, CRp or PR
    estimate: Proportion | None  # None: nobody treated
    #: the derived response alone (the algorithm, before the investigator's confirmations)
    derived_responders: tuple[str, ...]
    derived_estimate: Proportion | None
    #: best confirmed response of each treated subject (None: no assessment after baseline)
    best: dict[str, ResponseCategory | None]
    best_derived: dict[str, ResponseCategory | None]
    confirmed_by_investigator: tuple[str, ...]  # subjects with a held confirmation
    simon: SimonDecision | None
    design: SimonDesign | None
    design_declared: bool

    def count(self, category: ResponseCategory | None) -> tuple[str, ...]:
        return tuple(label for label, best in self.best.items() if best == category)


def response_rate(protocol: Any, facts: Sequence[SubjectFacts]) -> ResponseRate:
    treated = [f for f in facts if f.treated]
    population = Population("treated", TREATED, tuple(f.label for f in treated))
    level = 0.95
    for endpoint in protocol.endpoints:
        if endpoint.derivation == "response_rate":
            level = float(endpoint.parameters.get("confidence_level", level))
    responders = tuple(f.label for f in treated if f.course.confirmed.responder)
    derived = tuple(f.label for f in treated if f.course.derived.responder)
    n = len(treated)
    design = protocol.statistical_design
    simon_design = decision = None
    if design is not None and design.design == "simon_two_stage" and design.n1 and design.r1 is not None:
        simon_design = SimonDesign(
            r1=design.r1,
            n1=design.n1,
            r=design.r,
            n=design.n,
            en0=float("nan"),
            pet0=float("nan"),
            alpha=design.alpha,
            power=design.power,
        )
        decision = decide(simon_design, len(responders), n)
    return ResponseRate(
        derivation=_derivation(
            protocol,
            "response_rate",
            gettext_noop(
                "Best overall response over the marrow assessments after the baseline (CR > CRp > PR > "
                "no response > progression), the investigator's assessment counting where they confirmed it; "
                "responders over treated subjects, exact (Clopper-Pearson) confidence interval."
            ),
        ),
        population=population,
        responders=responders,
        estimate=proportion(len(responders), n, level=level) if n else None,
        derived_responders=derived,
        derived_estimate=proportion(len(derived), n, level=level) if n else None,
        best={f.label: f.course.confirmed.best for f in treated},
        best_derived={f.label: f.course.derived.best for f in treated},
        confirmed_by_investigator=tuple(
            f.label for f in treated if any(a.confirmed_by_investigator for a in f.course.assessments)
        ),
        simon=decision,
        design=simon_design,
        design_declared=design is not None,
    )


# --------------------------------------------------------------------------- survival


@dataclass(frozen=True)
class SurvivalSubject:
    label: str
    start: dt.date
    end: dt.date
    months: float
    event: bool
    explanation: str


@dataclass(frozen=True)
class SurvivalEndpoint:
    derivation: Derivation
    population: Population
    subjects: tuple[SurvivalSubject, ...]
    km: KaplanMeier | None  # None: nobody in the population

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.subjects if s.event)

    @property
    def censored(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.subjects if not s.event)


def _survival(derivation: Derivation, population: Population, times) -> SurvivalEndpoint:
    subjects = tuple(
        SurvivalSubject(label, t.start, t.end, t.days / DAYS_PER_MONTH, t.event, t.explanation)
        for label, t in times
    )
    km = kaplan_meier([s.months for s in subjects], [int(s.event) for s in subjects]) if subjects else None
    return SurvivalEndpoint(derivation, population, subjects, km)


def overall_survival(protocol: Any, facts: Sequence[SubjectFacts]) -> SurvivalEndpoint:
    treated = [f for f in facts if f.treated and f.os is not None]
    return _survival(
        _derivation(
            protocol,
            "overall_survival",
            gettext_noop(
                "From enrollment to death from any cause; censored at the last date known alive. "
                "Kaplan-Meier estimate in months, log-log confidence intervals, median with its confidence interval."
            ),
        ),
        Population("treated", TREATED, tuple(f.label for f in treated)),
        [(f.label, f.os) for f in treated],
    )


def leukemia_free_survival(protocol: Any, facts: Sequence[SubjectFacts]) -> SurvivalEndpoint:
    responders = [f for f in facts if f.treated and f.lfs is not None]
    return _survival(
        _derivation(
            protocol,
            "leukemia_free_survival",
            gettext_noop(
                "Responders only: from the first confirmed response to relapse, progression or death, "
                "whichever comes first; censored at the last assessment of the disease."
            ),
        ),
        Population("responders", RESPONDERS, tuple(f.label for f in responders)),
        [(f.label, f.lfs) for f in responders],
    )


# --------------------------------------------------------------------------- transfusions


@dataclass(frozen=True)
class TransfusionPair:
    label: str
    before: dict[str, float]  # product ("red_cell", "platelet", "all") -> units per period
    on_treatment: dict[str, float]
    before_units: dict[str, int]
    on_treatment_units: dict[str, int]
    on_treatment_days: int
    independent: bool | None
    dependent_before: bool | None


@dataclass(frozen=True)
class TransfusionEndpoint:
    derivation: Derivation
    population: Population  # treated with an on-treatment period
    period_days: int
    independence_days: int
    pairs: tuple[TransfusionPair, ...]
    tests: dict[str, SignedRankTest | None]  # product -> before vs on treatment
    independent: tuple[str, ...]
    not_independent: tuple[str, ...]
    not_assessable: tuple[str, ...]


def transfusion_needs(protocol: Any, facts: Sequence[SubjectFacts]) -> TransfusionEndpoint:
    pairs = []
    settings = None
    for f in facts:
        if not f.treated:
            continue
        needs = f.transfusions
        settings = needs.settings
        if needs.before is None or needs.on_treatment is None:
            continue
        products = {p.value: p for p in Product}
        before = {name: needs.before.per_period(p) for name, p in products.items()}
        on = {name: needs.on_treatment.per_period(p) for name, p in products.items()}
        before["all"] = needs.before.per_period()
        on["all"] = needs.on_treatment.per_period()
        pairs.append(
            TransfusionPair(
                f.label,
                before,
                on,
                {name: needs.before.units.get(p, 0) for name, p in products.items()},
                {name: needs.on_treatment.units.get(p, 0) for name, p in products.items()},
                needs.on_treatment.days,
                needs.independent,
                needs.dependent_before,
            )
        )
    tests: dict[str, SignedRankTest | None] = {}
    for product in [p.value for p in Product] + ["all"]:
        if pairs:
            tests[product] = wilcoxon_signed_rank(
                [p.before[product] for p in pairs], [p.on_treatment[product] for p in pairs]
            )
        else:
            tests[product] = None
    from trialdesk.clinical.transfusion import settings_of

    settings = settings or settings_of(protocol)
    return TransfusionEndpoint(
        derivation=_derivation(
            protocol,
            "transfusion_needs",
            gettext_noop(
                "Red-cell and platelet units per period, in the period before the first dose against the "
                "time on treatment (first dose to last dose plus the tail, or to the cut-off); paired "
                "Wilcoxon signed-rank test as R's wilcox.test(paired = TRUE); transfusion independence: "
                "no transfusion for the independence period on treatment."
            ),
        ),
        population=Population("treated", TREATED, tuple(p.label for p in pairs)),
        period_days=settings.period_days,
        independence_days=settings.independence_days,
        pairs=tuple(pairs),
        tests=tests,
        independent=tuple(p.label for p in pairs if p.independent is True),
        not_independent=tuple(p.label for p in pairs if p.independent is False),
        not_assessable=tuple(p.label for p in pairs if p.independent is None),
    )


# --------------------------------------------------------------------------- cytogenetics


@dataclass(frozen=True)
class CytogeneticEndpoint:
    derivation: Derivation
    population: Population  # treated with an abnormal baseline karyotype
    responders: tuple[str, ...]  # the abnormality disappeared on treatment
    #: counted as not responding: no karyotype on treatment
    without_karyotype_on_treatment: tuple[str, ...]
    still_abnormal: tuple[str, ...]
    no_baseline_karyotype: tuple[str, ...]  # treated, left out of the denominator
    normal_at_baseline: tuple[str, ...]
    estimate: Proportion | None


def cytogenetic_response(protocol: Any, facts: Sequence[SubjectFacts]) -> CytogeneticEndpoint:
    treated = [f for f in facts if f.treated]
    abnormal = [f for f in treated if f.abnormal_baseline_karyotype is True]
    responders, without, still = [], [], []
    for f in abnormal:
        karyotypes_after = [a for a in f.course.assessments if a.record.karyotype_performed]
        if f.course.cytogenetic.normalised_on is not None:
            responders.append(f.label)
        elif not karyotypes_after:
            without.append(f.label)
        else:
            still.append(f.label)
    return CytogeneticEndpoint(
        derivation=_derivation(
            protocol,
            "cytogenetic_response",
            gettext_noop(
                "Among treated subjects with an abnormal baseline karyotype, those with a normal karyotype on "
                "treatment; a subject without a karyotype on treatment counts as not responding. Exact "
                "(Clopper-Pearson) 95 % confidence interval."
            ),
        ),
        population=Population("abnormal_karyotype", ABNORMAL_KARYOTYPE, tuple(f.label for f in abnormal)),
        responders=tuple(responders),
        without_karyotype_on_treatment=tuple(without),
        still_abnormal=tuple(still),
        no_baseline_karyotype=tuple(f.label for f in treated if f.abnormal_baseline_karyotype is None),
        normal_at_baseline=tuple(f.label for f in treated if f.abnormal_baseline_karyotype is False),
        estimate=proportion(len(responders), len(abnormal)) if abnormal else None,
    )


# --------------------------------------------------------------------------- tolerance


@dataclass(frozen=True)
class TermRow:
    soc: str
    term: str
    events: int
    subjects: tuple[str, ...]
    #: subjects by their worst grade of this term (grade -> labels)
    by_worst_grade: dict[int, tuple[str, ...]]
    serious: int


@dataclass(frozen=True)
class SocRow:
    soc: str
    events: int
    subjects: tuple[str, ...]
    by_worst_grade: dict[int, tuple[str, ...]]
    terms: tuple[TermRow, ...]


@dataclass(frozen=True)
class EventListing:
    label: str
    ref: str
    term: str
    soc: str
    grade: int | None
    onset: dt.date | None
    serious: bool
    related: bool | None
    data: dict[str, Any]
    form: str


@dataclass(frozen=True)
class ToleranceEndpoint:
    derivation: Derivation
    population: Population  # treated
    with_an_event: tuple[str, ...]
    events: int
    by_soc: tuple[SocRow, ...]
    serious: tuple[EventListing, ...]
    leading_to_stop: tuple[EventListing, ...]
    highlights: Tolerance  # the protocol's events shown apart (cardiac, infusion reactions)
    highlight_subjects: dict[str, tuple[str, ...]]
    highlight_events: dict[str, tuple[EventListing, ...]]
    deaths: tuple[tuple[str, dt.date], ...]
    infusion_reactions: tuple[tuple[str, dt.date | None, Any], ...]  # seen on a dose record
    lvef: dict[str, tuple[tuple[dt.date, float], ...]]
    grades: tuple[int, ...]
    #: each serious event's reporting state, by (subject label, event ref); an event saved as
    #: serious without a report read (another viewer's scope, an imported file) is left out
    serious_reporting: dict[tuple[str, str], SeriousReporting] = field(default_factory=dict)

    @property
    def serious_not_acknowledged(self) -> tuple[tuple[str, str], ...]:
        return tuple(k for k, r in self.serious_reporting.items() if not r.acknowledged)

    @property
    def susars(self) -> tuple[tuple[str, str], ...]:
        return tuple(k for k, r in self.serious_reporting.items() if r.susar)


@dataclass(frozen=True)
class SeriousReporting:
    """A serious event's reporting state: the sponsor's acknowledgement, the safety officer's
    expectedness ("expected", "unexpected", "" not yet assessed) and whether it is a SUSAR
    (``clinical.safety.is_susar``: related to the study drug and assessed unexpected)."""

    acknowledged: bool
    acknowledged_at: dt.datetime | None
    aware_on: dt.date | None
    expectedness: str
    related: bool | None
    susar: bool


def _serious_reporting(
    protocol: Any, treated: Sequence[SubjectFacts]
) -> dict[tuple[str, str], SeriousReporting]:
    out = {}
    for f in treated:
        events = {e.ref: e for e in f.adverse_events}
        for report in f.snapshot.sae_reports:
            e = events.get(f"{report.record.form}#{report.record.repeat}")
            if e is None or not e.serious:
                continue
            related = is_related(protocol, e.form, e.data)
            out[(f.label, e.ref)] = SeriousReporting(
                acknowledged=report.acknowledged,
                acknowledged_at=report.acknowledged_at,
                aware_on=report.aware_on,
                expectedness=report.expectedness,
                related=related,
                susar=is_susar(related, report.expected),
            )
    return out


def _worst(grades: dict[str, int | None]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = defaultdict(list)
    for label, grade in grades.items():
        if grade is not None:
            out[grade].append(label)
    return {g: tuple(sorted(v)) for g, v in sorted(out.items())}


def tolerance_of(protocol: Any, facts: Sequence[SubjectFacts]) -> ToleranceEndpoint:
    from trialdesk.clinical.safety import highlights_of

    treated = [f for f in facts if f.treated]
    listing: list[EventListing] = []
    for f in treated:
        for e in f.adverse_events:
            listing.append(
                EventListing(
                    f.label,
                    e.ref,
                    e.term or "",
                    e.soc or "",
                    e.grade,
                    e.onset,
                    e.serious,
                    is_related(protocol, e.form, e.data),
                    dict(e.data),
                    e.form,
                )
            )
    socs: dict[str, dict[str, list[EventListing]]] = defaultdict(lambda: defaultdict(list))
    for e in listing:
        socs[e.soc][e.term].append(e)
    rows = []
    for soc in sorted(socs):
        terms = []
        soc_worst: dict[str, int | None] = {}
        for term in sorted(socs[soc]):
            events = socs[soc][term]
            worst: dict[str, int | None] = {}
            for e in events:
                if e.grade is not None and (worst.get(e.label) is None or e.grade > worst[e.label]):
                    worst[e.label] = e.grade
                else:
                    worst.setdefault(e.label, None)
                if e.grade is not None and (soc_worst.get(e.label) is None or e.grade > soc_worst[e.label]):
                    soc_worst[e.label] = e.grade
                else:
                    soc_worst.setdefault(e.label, None)
            terms.append(
                TermRow(
                    soc,
                    term,
                    len(events),
                    tuple(sorted(worst)),
                    _worst(worst),
                    sum(e.serious for e in events),
                )
            )
        rows.append(
            SocRow(
                soc, sum(t.events for t in terms), tuple(sorted(soc_worst)), _worst(soc_worst), tuple(terms)
            )
        )
    stop_concept = "action_drug_withdrawn"
    leading = []
    if protocol.has_concept(stop_concept):
        for e in listing:
            if protocol.read_concept(stop_concept, e.form, e.data):
                leading.append(e)
    highlights = tolerance(protocol, ((e.label, e.data) for e in listing))
    safety = protocol.safety
    highlight_events: dict[str, list[EventListing]] = {code: [] for code in highlights.highlights}
    for e in listing:
        meddra = (
            protocol.read_concept("adverse_event_meddra", e.form, e.data)
            if protocol.has_concept("adverse_event_meddra")
            else None
        )
        for code in highlights_of(safety, meddra, e.soc or None):
            highlight_events.setdefault(code, []).append(e)
    deaths = tuple(
        (f.label, f.survival.death_date) for f in facts if f.enrolled and f.survival.death_date is not None
    )
    reactions = []
    for f in treated:
        for r in f.snapshot.records:
            if r.voided or not protocol.has_concept("infusion_reaction_seen"):
                continue
            if protocol.concept_field("infusion_reaction_seen", r.form) is None:
                continue
            if protocol.read_concept("infusion_reaction_seen", r.form, r.data):
                day = (
                    protocol.read_concept("dose_date", r.form, r.data)
                    if protocol.has_concept("dose_date")
                    else None
                )
                severity = (
                    protocol.read_concept("infusion_reaction_severity", r.form, r.data)
                    if protocol.has_concept("infusion_reaction_severity")
                    else None
                )
                reactions.append((f.label, _date(day), severity))
    grades = sorted({e.grade for e in listing if e.grade is not None})
    return ToleranceEndpoint(
        derivation=_derivation(
            protocol,
            "tolerance",
            gettext_noop(
                "Adverse events of treated subjects (CTCAE v5.0 terms and grades) by system organ class and "
                "term, each subject counted once at the worst grade; SAEs; events that led to "
                "withdrawing the study drug; the protocol's events of special interest; deaths."
            ),
        ),
        population=Population("treated", TREATED, tuple(f.label for f in treated)),
        with_an_event=tuple(sorted({e.label for e in listing})),
        events=len(listing),
        by_soc=tuple(rows),
        serious=tuple(e for e in listing if e.serious),
        leading_to_stop=tuple(leading),
        highlights=highlights,
        highlight_subjects={code: tuple(sorted(h.subjects)) for code, h in highlights.highlights.items()},
        highlight_events={code: tuple(v) for code, v in highlight_events.items()},
        deaths=deaths,
        infusion_reactions=tuple(reactions),
        lvef={f.label: f.lvef for f in treated if f.lvef},
        grades=tuple(grades) or (1, 2, 3, 4, 5),
        serious_reporting=_serious_reporting(protocol, treated),
    )


# --------------------------------------------------------------------------- exposure, flow, baseline


@dataclass(frozen=True)
class ExposureEndpoint:
    population: Population
    rule: str
    per_subject: dict[str, Exposure]
    summary: ExposureSummary
    planned_mg_per_kg: tuple[float, float, int]  # loading, maintenance, interval days
    #: the treated subjects with a cardiac hold (in force or ended) at the snapshot's day
    with_cardiac_hold: tuple[str, ...] = ()
    #: the doses given during a cardiac hold (the ``dose_during_hold`` deviations), by subject
    doses_during_hold: dict[str, int] = field(default_factory=dict)
    #: the protocol deviations (``clinical.deviations``) by rule, in the rules' order: rule ->
    #: the labels of the subjects with one, once per deviation
    deviations_by_rule: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def doses_during_hold_total(self) -> int:
        return sum(self.doses_during_hold.values())


def exposure_of(protocol: Any, facts: Sequence[SubjectFacts]) -> ExposureEndpoint:
    treated = [f for f in facts if f.treated]
    try:
        rules = protocol.dose_rules
        planned = (rules.loading_mg_per_kg, rules.maintenance_mg_per_kg, rules.interval_days)
    except KeyError:  # a protocol without dose rules
        planned = (0.0, 0.0, 0)
    return ExposureEndpoint(
        population=Population("treated", TREATED, tuple(f.label for f in treated)),
        rule=gettext_noop(
            "Doses given as recorded; duration from the first dose to the last dose plus one interval; "
            "dose intensity: the mg/kg received over the mg/kg planned for that duration (a loading dose, then "
            "the maintenance dose each interval); a late dose and a missed dose as the protocol's interval rules "
            "classify them; reloads: loading doses after the first."
        ),
        per_subject={f.label: f.exposure for f in treated},
        summary=summarise(f.exposure for f in treated),
        planned_mg_per_kg=planned,
        with_cardiac_hold=tuple(f.label for f in treated if f.snapshot.cardiac_holds),
        doses_during_hold={
            f.label: n for f in treated if (n := sum(1 for d in f.deviations if d.rule == DOSE_DURING_HOLD))
        },
        deviations_by_rule={
            rule: labels
            for rule in DEVIATION_RULES
            if (labels := tuple(f.label for f in treated for d in f.deviations if d.rule == rule))
        },
    )


@dataclass(frozen=True)
class Flow:
    """The CONSORT flow: screened, not eligible (by criterion), enrolled, treated, stopped
    treatment (by reason), analysed."""

    screened: tuple[str, ...]
    not_eligible: tuple[str, ...]
    not_eligible_by_criterion: dict[str, tuple[str, ...]]
    not_enrolled_otherwise: tuple[str, ...]  # screening still going on, or eligible not enrolled
    enrolled: tuple[str, ...]
    not_treated: tuple[str, ...]
    treated: tuple[str, ...]
    on_treatment: tuple[str, ...]
    stopped: tuple[str, ...]
    stopped_by_reason: dict[Any, tuple[str, ...]]  # the recorded value -> labels
    stop_reason_field: tuple[str, str] | None  # (form, field) of the reason
    analysed: tuple[str, ...]


def flow_of(protocol: Any, facts: Sequence[SubjectFacts]) -> Flow:
    screened = [f.label for f in facts]
    failed = [
        f
        for f in facts
        if f.snapshot.status == "screen_failed" or (not f.enrolled and f.snapshot.screen_failure_criteria)
    ]
    by_criterion: dict[str, list[str]] = defaultdict(list)
    for f in failed:
        for code in f.snapshot.screen_failure_criteria or ("",):
            by_criterion[code].append(f.label)
    failed_labels = {f.label for f in failed}
    enrolled = [f for f in facts if f.enrolled]
    treated = [f for f in enrolled if f.treated]
    stopped = [f for f in treated if f.treatment_ended_on is not None]
    by_reason: dict[Any, list[str]] = defaultdict(list)
    reason_field = None
    for f in stopped:
        reason: Categorical | None = f.stop_reason
        if reason is not None:
            reason_field = (reason.form, reason.field)
        by_reason[None if reason is None else reason.value].append(f.label)
    return Flow(
        screened=tuple(screened),
        not_eligible=tuple(f.label for f in failed),
        not_eligible_by_criterion={k: tuple(v) for k, v in sorted(by_criterion.items())},
        not_enrolled_otherwise=tuple(
            f.label for f in facts if not f.enrolled and f.label not in failed_labels
        ),
        enrolled=tuple(f.label for f in enrolled),
        not_treated=tuple(f.label for f in enrolled if not f.treated),
        treated=tuple(f.label for f in treated),
        on_treatment=tuple(f.label for f in treated if f.treatment_ended_on is None),
        stopped=tuple(f.label for f in stopped),
        stopped_by_reason={k: tuple(v) for k, v in by_reason.items()},
        stop_reason_field=reason_field,
        analysed=tuple(f.label for f in treated),
    )


@dataclass(frozen=True)
class NumberSummary:
    n: int
    median: float | None
    minimum: float | None
    maximum: float | None


def _numbers(values: Iterable[Any]) -> NumberSummary:
    xs = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not xs:
        return NumberSummary(0, None, None, None)
    return NumberSummary(len(xs), statistics.median(xs), min(xs), max(xs))


@dataclass(frozen=True)
class Baseline:
    population: Population
    sex: dict[str, tuple[str, ...]]
    numbers: dict[str, NumberSummary]  # concept -> summary
    categories: dict[str, dict[Any, tuple[str, ...]]]  # concept -> value -> labels
    disease_status: dict[Any, tuple[str, ...]]
    disease_status_field: tuple[str, str] | None
    category_fields: dict[str, tuple[str, str]]


_NUMERIC = (
    "age",
    "body_weight",
    "body_height",
    "marrow_blasts",
    "her2_positive_blasts",
    "lvef",
    "prior_treatment_lines",
)
_CATEGORIES = ("performance_status", "prior_allogeneic_transplant", "philadelphia_chromosome")


def baseline_of(protocol: Any, facts: Sequence[SubjectFacts]) -> Baseline:
    treated = [f for f in facts if f.treated]
    sex: dict[str, list[str]] = defaultdict(list)
    for f in treated:
        sex[f.snapshot.sex].append(f.label)
    numbers = {
        concept: _numbers(f.baseline_values.get(concept) for f in treated)
        for concept in _NUMERIC
        if protocol.has_concept(concept)
    }
    categories: dict[str, dict[Any, tuple[str, ...]]] = {}
    fields: dict[str, tuple[str, str]] = {}
    for concept in _CATEGORIES:
        if not protocol.has_concept(concept):
            continue
        ref = protocol.concept(concept)[0]
        fields[concept] = (ref.form, ref.field)
        groups: dict[Any, list[str]] = defaultdict(list)
        for f in treated:
            groups[f.baseline_values.get(concept)].append(f.label)
        categories[concept] = {k: tuple(v) for k, v in groups.items()}
    status: dict[Any, list[str]] = defaultdict(list)
    status_field = None
    for f in treated:
        if f.disease_status is not None:
            status_field = (f.disease_status.form, f.disease_status.field)
        status[None if f.disease_status is None else f.disease_status.value].append(f.label)
    return Baseline(
        population=Population("treated", TREATED, tuple(f.label for f in treated)),
        sex={k: tuple(v) for k, v in sorted(sex.items())},
        numbers=numbers,
        categories=categories,
        disease_status={k: tuple(v) for k, v in status.items()},
        disease_status_field=status_field,
        category_fields=fields,
    )


# --------------------------------------------------------------------------- the whole analysis


@dataclass(frozen=True)
class Analysis:
    nct_id: str
    title: str
    cutoff: dt.date | None
    as_of: dt.date
    created_at: dt.datetime
    pseudonymised: bool
    protocol_sha256: str
    counts: dict[str, int]
    subjects: tuple[SubjectFacts, ...]
    flow: Flow
    baseline: Baseline
    exposure: ExposureEndpoint
    response: ResponseRate
    os: SurvivalEndpoint
    lfs: SurvivalEndpoint
    transfusions: TransfusionEndpoint
    cytogenetics: CytogeneticEndpoint
    tolerance: ToleranceEndpoint
    snapshot_sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def subject(self, label: str) -> SubjectFacts:
        return next(f for f in self.subjects if f.label == label)


def analyse(
    snapshot: StudySnapshot,
    protocol: Any,
    *,
    snapshot_sha256: str = "",
    progress: Callable[[str], None] | None = None,
) -> Analysis:
    """Every endpoint of ``protocol`` from ``snapshot`` (read once).

    The per-subject facts and the endpoints are plain values: the garbage collector waits while
    they are made (``snapshot.collection.paused_collection``), instead of scanning the study again
    and again."""
    with paused_collection():
        return _analyse(snapshot, protocol, snapshot_sha256=snapshot_sha256, progress=progress)


def _analyse(
    snapshot: StudySnapshot,
    protocol: Any,
    *,
    snapshot_sha256: str,
    progress: Callable[[str], None] | None,
) -> Analysis:
    as_of = snapshot.cutoff or snapshot.created_at.date()
    facts = []
    for subject in snapshot.subjects():
        facts.append(subject_facts(protocol, subject, as_of))
        if progress is not None and len(facts) % 100 == 0:
            progress(f"{len(facts)} subjects")
    counts = Counter()
    for f in facts:
        counts["subjects"] += 1
        counts["records"] += sum(1 for r in f.snapshot.records if not r.voided)
        counts["enrolled"] += f.enrolled
        counts["treated"] += f.treated
    return Analysis(
        nct_id=snapshot.study.nct_id,
        title=snapshot.study.title,
        cutoff=snapshot.cutoff,
        as_of=as_of,
        created_at=snapshot.created_at,
        pseudonymised=snapshot.pseudonymised,
        protocol_sha256=snapshot.protocol_sha256,
        counts=dict(counts),
        subjects=tuple(facts),
        flow=flow_of(protocol, facts),
        baseline=baseline_of(protocol, facts),
        exposure=exposure_of(protocol, facts),
        response=response_rate(protocol, facts),
        os=overall_survival(protocol, facts),
        lfs=leukemia_free_survival(protocol, facts),
        transfusions=transfusion_needs(protocol, facts),
        cytogenetics=cytogenetic_response(protocol, facts),
        tolerance=tolerance_of(protocol, facts),
        snapshot_sha256=snapshot_sha256,
    )
