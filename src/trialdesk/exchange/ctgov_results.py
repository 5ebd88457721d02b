"""The study's results as ClinicalTrials.gov's results section (pure core, never imports Django).

    results_study(analysis, protocol)             -> the study JSON: {"protocolSection", "resultsSection", …}
    build_results(snapshot, protocol)             -> the same, from a snapshot (analysed once)
    write_ctgov_results(snapshot, protocol, out)  -> CtgovResult (the JSON written to ``out``)
    export_file(snapshot, protocol, path, source, progress)   # the ``ctgov-results`` export kind's writer

The structure is ClinicalTrials.gov's API v2 study record (the ``Study`` of its OpenAPI
document, https://clinicaltrials.gov/data-api/api and the "Study Data Structure" page,
https://clinicaltrials.gov/data-api/about-api/study-data-structure): ``resultsSection`` with

- ``participantFlowModule``: one group (the protocol's arm), one period "Overall Study" whose
  milestones are STARTED (enrolled), "Treated", "Stopped treatment" (by reason, in its
  comment), COMPLETED and NOT COMPLETED, with the reasons of those not completed
  (``dropWithdraws``: died, withdrawn, still on study at the data cut-off);
- ``baselineCharacteristicsModule``: the analysis population's age, sex, region of enrollment,
  the protocol's other baseline numbers (median and full range) and categories (counts);
- ``outcomeMeasuresModule``: one outcome measure per endpoint of the protocol, primary then
  secondary, with the values and confidence intervals of ``trialdesk.analysis.endpoints``
  and, where the analysis made a test or an interval estimate, its ``analyses``;
- ``adverseEventsModule``: the event group's deaths, serious and other events at risk and
  affected, the serious events and the other (not serious) events by CTCAE term and system
  organ class, each with the worst grade of its participants in ``notes``;
- ``moreInfoModule``: what the numbers are (the data cut-off, the scope, pseudonymisation).

Every number comes from the analysis (``trialdesk.analysis.endpoints.analyse``); this module
only lays them out, counting the subjects the analysis lists (the registry's serious / other
split of each term counts the analysed events, as the tolerance table does). Numbers are
strings where the registry's structure has strings (``numSubjects``, ``value``), integers
where it has integers (``numAffected``). Group ids follow the registry's convention: FG000
(flow), BG000 (baseline), OG000 (outcomes), EG000 (adverse events).
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from trialdesk.analysis.endpoints import Analysis, SurvivalEndpoint, analyse
from trialdesk.clinical.ctcae import VERSION as CTCAE_VERSION
from trialdesk.clinical.transfusion import Product
from trialdesk.snapshot.model import StudySnapshot
from trialdesk.stats.binomial import Proportion

FLOW_GROUP = "FG000"
BASELINE_GROUP = "BG000"
OUTCOME_GROUP = "OG000"
EVENT_GROUP = "EG000"
PARTICIPANTS = "Participants"
NOT_AVAILABLE = "NA"

# the subject's status, as the snapshot carries it (trialdesk.subjects.SubjectStatus)
FINISHED = "completed"
WITHDRAWN = "withdrawn"
DIED = "died"

_PRODUCTS = (
    (Product.RED_CELLS.value, "Red cells"),
    (Product.PLATELETS.value, "Platelets"),
    ("all", "All products"),
)
_SEX = {"F": "Female", "M": "Male"}


@dataclass(frozen=True)
class CtgovResult:
    sha256: str
    subjects: int
    records: int  # the form records the analysis read
    files: tuple[str, ...] = ()


# --------------------------------------------------------------------------- formatting


def _count(n: int) -> str:
    return str(int(n))


def _decimal(value: float | None, places: int = 2) -> str:
    if value is None:
        return NOT_AVAILABLE
    return f"{value:.{places}f}"


def _pct(value: float | None) -> str:
    return _decimal(None if value is None else value * 100, 2)


_CONFIDENCE = {
    0.8: "CONFIDENCE_80",
    0.9: "CONFIDENCE_90",
    0.95: "CONFIDENCE_95",
    0.975: "CONFIDENCE_975",
    0.99: "CONFIDENCE_99",
}


def _ci_type(level: float) -> str:
    """The registry's dispersion type of a confidence interval of ``level``."""
    return _CONFIDENCE.get(round(level, 3), "CONFIDENCE_OTHER")


def _choice_label(protocol: Any, form_field: tuple[str, str] | None, value: Any) -> str:
    """The English label of a recorded value (a choice's label, Yes/No), as the registry shows it."""
    if value is None:
        return "Not recorded"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if form_field is not None:
        try:
            field = protocol.form(form_field[0]).field(form_field[1])
        except KeyError:
            field = None
        if field is not None and field.choices:
            try:
                return field.choice(str(value)).label
            except KeyError:
                pass
    return str(value)


def _concept_title(protocol: Any, concept: str) -> tuple[str, str | None]:
    """(the field's label, its unit) of the first field a concept names."""
    ref = protocol.concept(concept)[0]
    field = protocol.form(ref.form).field(ref.field)
    return field.label, field.unit


def _denoms(group: str, n: int) -> list[dict]:
    return [{"units": PARTICIPANTS, "counts": [{"groupId": group, "value": _count(n)}]}]


def _group(protocol: Any, group_id: str) -> dict[str, str]:
    arms = protocol.arms
    if len(arms) == 1:
        arm = arms[0]
        interventions = "; ".join(
            f"{i.name}: {i.description}" for i in protocol.interventions if i.name in arm.interventions
        )
        description = " ".join(part for part in (arm.description, interventions) if part)
        return {"id": group_id, "title": arm.title, "description": description}
    return {
        "id": group_id,
        "title": "All participants",
        "description": "Participants of every arm: " + "; ".join(arm.title for arm in arms),
    }


# --------------------------------------------------------------------------- participant flow


def participant_flow(analysis: Analysis, protocol: Any) -> dict[str, Any]:
    flow = analysis.flow
    enrolled = [f for f in analysis.subjects if f.enrolled]
    status = Counter(f.snapshot.status for f in enrolled)
    completed = status[FINISHED]
    not_completed = len(flow.enrolled) - completed
    reasons = [
        ("Death", status[DIED]),
        ("Withdrawal", status[WITHDRAWN]),
        ("Still on study at the data cut-off", not_completed - status[DIED] - status[WITHDRAWN]),
    ]
    stop_reasons = "; ".join(
        f"{_choice_label(protocol, flow.stop_reason_field, value)}: {len(labels)}"
        for value, labels in sorted(flow.stopped_by_reason.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))
    )
    screened_on = sorted(f.snapshot.screened_on for f in analysis.subjects if f.snapshot.screened_on)
    sites = sorted({f.site for f in analysis.subjects})
    recruitment = f"{len(flow.screened)} participants screened at {len(sites)} site(s)"
    if screened_on:
        recruitment += f", from {screened_on[0].isoformat()} to {screened_on[-1].isoformat()}"
    criteria = {c.code: c.text for c in protocol.eligibility.criteria}
    failed = "; ".join(
        f"{code} ({criteria.get(code, 'reason not recorded')}): {len(labels)}"
        if code
        else f"reason not recorded: {len(labels)}"
        for code, labels in flow.not_eligible_by_criterion.items()
    )
    pre_assignment = f"{len(flow.not_eligible)} screened participant(s) not eligible"
    pre_assignment += f" (by criterion not met: {failed})" if failed else ""
    pre_assignment += (
        f"; {len(flow.not_enrolled_otherwise)} not enrolled otherwise (eligible and not enrolled, "
        "or still in screening at the data cut-off)."
    )

    def milestone(kind: str, n: int, comment: str | None = None) -> dict:
        achievement = {"groupId": FLOW_GROUP, "numSubjects": _count(n)}
        if comment:
            achievement |= {"comment": comment}
        return {"type": kind, "achievements": [achievement]}

    return {
        "recruitmentDetails": recruitment + ".",
        "preAssignmentDetails": pre_assignment,
        "groups": [_group(protocol, FLOW_GROUP)],
        "periods": [
            {
                "title": "Overall Study",
                "milestones": [
                    milestone("STARTED", len(flow.enrolled)),
                    milestone("Treated", len(flow.treated)),
                    milestone(
                        "Stopped treatment",
                        len(flow.stopped),
                        f"By reason: {stop_reasons}" if stop_reasons else None,
                    ),
                    milestone("COMPLETED", completed),
                    milestone("NOT COMPLETED", not_completed),
                ],
                "dropWithdraws": [
                    {"type": reason, "reasons": [{"groupId": FLOW_GROUP, "numSubjects": _count(n)}]}
                    for reason, n in reasons
                    if n
                ],
            }
        ],
    }


# --------------------------------------------------------------------------- baseline


def _median_measure(title: str, unit: str, summary: Any, n: int) -> dict:
    measure = {
        "title": title,
        "paramType": "MEDIAN",
        "dispersionType": "FULL_RANGE",
        "unitOfMeasure": unit,
        "classes": [
            {
                "categories": [
                    {
                        "measurements": [
                            {
                                "groupId": BASELINE_GROUP,
                                "value": _decimal(summary.median, 1),
                                "lowerLimit": _decimal(summary.minimum, 1),
                                "upperLimit": _decimal(summary.maximum, 1),
                            }
                        ]
                    }
                ]
            }
        ],
    }
    if summary.n != n:
        measure["denomUnitsSelected"] = PARTICIPANTS
        measure["denoms"] = _denoms(BASELINE_GROUP, summary.n)
        measure["populationDescription"] = f"Participants with a value recorded: {summary.n} of {n}."
    return measure


def _count_measure(title: str, categories: Iterable[tuple[str, int]]) -> dict:
    return {
        "title": title,
        "paramType": "COUNT_OF_PARTICIPANTS",
        "unitOfMeasure": PARTICIPANTS,
        "classes": [
            {
                "categories": [
                    {"title": label, "measurements": [{"groupId": BASELINE_GROUP, "value": _count(n)}]}
                    for label, n in categories
                ]
            }
        ],
    }


def baseline_characteristics(analysis: Analysis, protocol: Any, countries: dict[str, str]) -> dict[str, Any]:
    b = analysis.baseline
    n = b.population.n
    measures = []
    if "age" in b.numbers:
        measures.append(_median_measure("Age, Continuous", "years", b.numbers["age"], n))
    sexes = {code: len(labels) for code, labels in b.sex.items()}
    if set(sexes) <= set(_SEX):
        measures.append(
            _count_measure("Sex: Female, Male", [(label, sexes.get(code, 0)) for code, label in _SEX.items()])
        )
    else:
        measures.append(
            _count_measure(
                "Sex/Gender, Customized",
                [(_SEX.get(code, "Unknown or Not Reported"), count) for code, count in sorted(sexes.items())],
            )
        )
    regions = Counter(
        countries.get(analysis.subject(label).site, "Not recorded") for label in b.population.subjects
    )
    measures.append(
        {
            "title": "Region of Enrollment",
            "paramType": "COUNT_OF_PARTICIPANTS",
            "unitOfMeasure": PARTICIPANTS,
            "classes": [
                {
                    "title": country,
                    "categories": [{"measurements": [{"groupId": BASELINE_GROUP, "value": _count(k)}]}],
                }
                for country, k in sorted(regions.items())
            ],
        }
    )
    for concept, summary in b.numbers.items():
        if concept == "age":
            continue
        label, unit = _concept_title(protocol, concept)
        measures.append(_median_measure(label, unit or "units on a scale", summary, n))
    for concept, groups in b.categories.items():
        label, _ = _concept_title(protocol, concept)
        field = b.category_fields.get(concept)
        measures.append(
            _count_measure(
                label,
                [
                    (_choice_label(protocol, field, value), len(labels))
                    for value, labels in sorted(groups.items(), key=lambda kv: str(kv[0]))
                ],
            )
        )
    if b.disease_status:
        form, field = b.disease_status_field or (None, None)
        title = protocol.form(form).field(field).label if form else "Disease status"
        measures.append(
            _count_measure(
                title,
                [
                    (_choice_label(protocol, b.disease_status_field, value), len(labels))
                    for value, labels in sorted(b.disease_status.items(), key=lambda kv: str(kv[0]))
                ],
            )
        )
    return {
        "populationDescription": b.population.rule,
        "groups": [_group(protocol, BASELINE_GROUP)],
        "denoms": _denoms(BASELINE_GROUP, n),
        "measures": measures,
    }


# --------------------------------------------------------------------------- outcome measures


def _proportion_measurement(estimate: Proportion | None) -> dict:
    if estimate is None:
        return {
            "groupId": OUTCOME_GROUP,
            "value": NOT_AVAILABLE,
            "comment": "No participant in the analysis population.",
        }
    return {
        "groupId": OUTCOME_GROUP,
        "value": _pct(estimate.estimate),
        "lowerLimit": _pct(estimate.lower),
        "upperLimit": _pct(estimate.upper),
    }


def _proportion_analysis(estimate: Proportion | None, description: str) -> list[dict]:
    if estimate is None:
        return []
    return [
        {
            "groupIds": [OUTCOME_GROUP],
            "groupDescription": description,
            "paramType": "Proportion (percentage of participants)",
            "paramValue": _pct(estimate.estimate),
            "ciPctValue": _decimal(estimate.level * 100, 1),
            "ciNumSides": "TWO_SIDED",
            "ciLowerLimit": _pct(estimate.lower),
            "ciUpperLimit": _pct(estimate.upper),
            "estimateComment": f"{estimate.x} of {estimate.n} participants; "
            + (
                "exact (Clopper-Pearson) interval."
                if estimate.method == "exact"
                else f"{estimate.method} interval."
            ),
            "testedNonInferiority": False,
        }
    ]


def _rate_measure(
    base: dict, population_rule: str, n: int, classes: list[tuple[str | None, Proportion | None]]
) -> dict:
    level = next((p.level for _, p in classes if p is not None), 0.95)
    return base | {
        "populationDescription": population_rule,
        "paramType": "NUMBER",
        "dispersionType": _ci_type(level),
        "unitOfMeasure": "percentage of participants",
        "denomUnitsSelected": PARTICIPANTS,
        "denoms": _denoms(OUTCOME_GROUP, n),
        "classes": [
            ({"title": title} if title else {})
            | {"categories": [{"measurements": [_proportion_measurement(p)]}]}
            for title, p in classes
        ],
    }


def _survival_measure(base: dict, endpoint: SurvivalEndpoint) -> dict:
    km = endpoint.km
    if km is None:
        measurement = {
            "groupId": OUTCOME_GROUP,
            "value": NOT_AVAILABLE,
            "comment": "No participant in the analysis population.",
        }
        level = 0.95
    else:
        level = km.level
        measurement = {
            "groupId": OUTCOME_GROUP,
            "value": _decimal(km.median),
            "lowerLimit": _decimal(km.median_lower),
            "upperLimit": _decimal(km.median_upper),
        }
        notes = []
        if km.median is None:
            notes.append("the median was not reached")
        if km.median_lower is None or km.median_upper is None:
            notes.append("a limit of the confidence interval was not reached")
        if notes:
            measurement |= {"comment": "NA: " + "; ".join(notes) + "."}
    events = len(endpoint.events)
    return base | {
        "populationDescription": f"{endpoint.population.rule} {endpoint.population.n} participants, {events} event(s), "
        f"{len(endpoint.censored)} censored.",
        "paramType": "MEDIAN",
        "dispersionType": _ci_type(level),
        "unitOfMeasure": "months",
        "denomUnitsSelected": PARTICIPANTS,
        "denoms": _denoms(OUTCOME_GROUP, endpoint.population.n),
        "classes": [{"categories": [{"measurements": [measurement]}]}],
    }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _transfusion_measure(base: dict, analysis: Analysis) -> dict:
    tr = analysis.transfusions
    classes, analyses = [], []
    for code, name in _PRODUCTS:
        before = [p.before[code] for p in tr.pairs]
        on = [p.on_treatment[code] for p in tr.pairs]
        categories = []
        for title, values in (("Before the first dose", before), ("On treatment", on)):
            categories.append(
                {
                    "title": title,
                    "measurements": [
                        {
                            "groupId": OUTCOME_GROUP,
                            "value": _decimal(_median(values)),
                            "lowerLimit": _decimal(min(values) if values else None),
                            "upperLimit": _decimal(max(values) if values else None),
                        }
                    ],
                }
            )
        classes.append({"title": name, "categories": categories})
        test = tr.tests.get(code)
        if test is not None and test.p is not None:
            analyses.append(
                {
                    "groupIds": [OUTCOME_GROUP],
                    "groupDescription": f"{name}: units per {tr.period_days} days before the first dose against on "
                    f"treatment, paired within participants ({test.n_pairs} pairs, {test.n_zero} without difference).",
                    "statisticalMethod": "Wilcoxon (Signed Rank)",
                    "statisticalComment": f"V = {_decimal(test.statistic, 1)}; {test.method}; {test.alternative}.",
                    "pValue": f"{test.p:.4f}",
                    "testedNonInferiority": False,
                }
            )
    independent = (
        f" Transfusion independence (no transfusion for {tr.independence_days} days on treatment): "
        f"{len(tr.independent)} of {tr.population.n} participants; {len(tr.not_assessable)} not assessable."
    )
    return base | {
        "populationDescription": tr.population.rule + independent,
        "paramType": "MEDIAN",
        "dispersionType": "FULL_RANGE",
        "unitOfMeasure": f"units per {tr.period_days} days",
        "denomUnitsSelected": PARTICIPANTS,
        "denoms": _denoms(OUTCOME_GROUP, tr.population.n),
        "classes": classes,
        "analyses": analyses,
    }


def _tolerance_measure(base: dict, analysis: Analysis) -> dict:
    t = analysis.tolerance
    population = set(t.population.subjects)
    categories = [
        ("With at least one adverse event", len(t.with_an_event)),
        ("With a serious adverse event", len({e.label for e in t.serious})),
        (
            "With an adverse event that led to withdrawing the study drug",
            len({e.label for e in t.leading_to_stop}),
        ),
    ]
    for code, highlight in t.highlights.highlights.items():
        categories.append(
            (f"With an event of special interest: {highlight.label}", len(t.highlight_subjects.get(code, ())))
        )
    categories.append(("Died", len({label for label, _ in t.deaths if label in population})))
    return base | {
        "populationDescription": t.population.rule,
        "paramType": "COUNT_OF_PARTICIPANTS",
        "unitOfMeasure": PARTICIPANTS,
        "denomUnitsSelected": PARTICIPANTS,
        "denoms": _denoms(OUTCOME_GROUP, t.population.n),
        "classes": [
            {
                "categories": [
                    {"title": title, "measurements": [{"groupId": OUTCOME_GROUP, "value": _count(k)}]}
                    for title, k in categories
                ]
            }
        ],
    }


def outcome_measures(analysis: Analysis, protocol: Any) -> dict[str, Any]:
    as_of = analysis.as_of.isoformat()
    measures = []
    for endpoint in sorted(protocol.endpoints, key=lambda e: e.kind != "primary"):
        base = {
            "type": "PRIMARY" if endpoint.kind == "primary" else "SECONDARY",
            "title": endpoint.title,
            "description": endpoint.description or endpoint.title,
            "reportingStatus": "POSTED",
            "groups": [_group(protocol, OUTCOME_GROUP)],
        }
        kind = endpoint.derivation
        if kind == "response_rate":
            r = analysis.response
            measure = _rate_measure(
                base | {"timeFrame": f"Marrow assessments from the first dose to the data cut-off ({as_of})"},
                r.population.rule,
                r.population.n,
                [
                    (
                        "Best confirmed response (the investigator's confirmed assessment counting)",
                        r.estimate,
                    ),
                    ("Derived response alone (the protocol's criteria)", r.derived_estimate),
                ],
            )
            measure["analyses"] = _proportion_analysis(r.estimate, "Best confirmed response CR, CRp or PR")
        elif kind == "overall_survival":
            measure = _survival_measure(
                base | {"timeFrame": f"From enrollment to death or the data cut-off ({as_of})"}, analysis.os
            )
        elif kind == "leukemia_free_survival":
            measure = _survival_measure(
                base
                | {
                    "timeFrame": f"From the first response to relapse, progression, death or the data cut-off ({as_of})"
                },
                analysis.lfs,
            )
        elif kind == "cytogenetic_response":
            cy = analysis.cytogenetics
            measure = _rate_measure(
                base | {"timeFrame": f"Karyotypes from the first dose to the data cut-off ({as_of})"},
                cy.population.rule
                + f" {len(cy.without_karyotype_on_treatment)} without a karyotype on treatment count as not responding.",
                cy.population.n,
                [(None, cy.estimate)],
            )
            measure["analyses"] = _proportion_analysis(cy.estimate, "Normal karyotype on treatment")
        elif kind == "transfusion_needs":
            measure = _transfusion_measure(
                base
                | {
                    "timeFrame": f"{analysis.transfusions.period_days} days before the first dose; on treatment to the data cut-off ({as_of})"
                },
                analysis,
            )
        elif kind == "tolerance":
            measure = _tolerance_measure(
                base | {"timeFrame": f"From the first dose to the data cut-off ({as_of})"}, analysis
            )
        else:  # an endpoint whose derivation the analysis does not compute yet
            measure = base | {"reportingStatus": "NOT_POSTED"}
        measures.append({k: v for k, v in measure.items() if v not in (None, [], "")})
    return {"outcomeMeasures": measures}


# --------------------------------------------------------------------------- adverse events


def _grades_note(by_worst_grade: dict[int, tuple[str, ...]]) -> str:
    if not by_worst_grade:
        return "Worst CTCAE grade per participant: not recorded."
    return (
        "Worst CTCAE grade per participant: "
        + ", ".join(f"grade {grade}: {len(labels)}" for grade, labels in sorted(by_worst_grade.items()))
        + "."
    )


def adverse_events(analysis: Analysis) -> dict[str, Any]:
    t = analysis.tolerance
    at_risk = t.population.n
    population = set(t.population.subjects)
    worst = {(row.soc, term.term): term.by_worst_grade for row in t.by_soc for term in row.terms}
    serious_events: Counter = Counter()
    other_events: Counter = Counter()
    serious_subjects: dict[tuple[str, str], set[str]] = defaultdict(set)
    other_subjects: dict[tuple[str, str], set[str]] = defaultdict(set)
    for facts in analysis.subjects:
        if not facts.treated:
            continue
        for event in facts.adverse_events:
            key = (event.soc or "", event.term or "")
            if event.serious:
                serious_events[key] += 1
                serious_subjects[key].add(facts.label)
            else:
                other_events[key] += 1
                other_subjects[key].add(facts.label)

    def rows(events: Counter, subjects: dict) -> list[dict]:
        return [
            {
                "term": term or "Term not recorded",
                "organSystem": soc or "System organ class not recorded",
                "sourceVocabulary": f"CTCAE ({CTCAE_VERSION})",
                "assessmentType": "SYSTEMATIC_ASSESSMENT",
                "notes": _grades_note(worst.get((soc, term), {})),
                "stats": [
                    {
                        "groupId": EVENT_GROUP,
                        "numEvents": events[(soc, term)],
                        "numAffected": len(subjects[(soc, term)]),
                        "numAtRisk": at_risk,
                    }
                ],
            }
            for soc, term in sorted(events)
        ]

    deaths = {label for label, _ in t.deaths if label in population}
    return {
        "frequencyThreshold": "0",
        "timeFrame": f"From the first dose to the data cut-off ({analysis.as_of.isoformat()})",
        "description": t.derivation.rule
        + f" Terms and grades of CTCAE v{CTCAE_VERSION}; every event is reported "
        "(no frequency threshold).",
        "allCauseMortalityComment": "Deaths of treated participants from any cause, as recorded up to the data cut-off.",
        "eventGroups": [
            {
                "id": EVENT_GROUP,
                "title": "Treated participants",
                "description": t.population.rule,
                "deathsNumAffected": len(deaths),
                "deathsNumAtRisk": at_risk,
                "seriousNumAffected": len(set().union(*serious_subjects.values())) if serious_subjects else 0,
                "seriousNumAtRisk": at_risk,
                "otherNumAffected": len(set().union(*other_subjects.values())) if other_subjects else 0,
                "otherNumAtRisk": at_risk,
            }
        ],
        "seriousEvents": rows(serious_events, serious_subjects),
        "otherEvents": rows(other_events, other_subjects),
    }


# --------------------------------------------------------------------------- the study record


def results_study(analysis: Analysis, protocol: Any, *, sites: Iterable[Any] = ()) -> dict[str, Any]:
    """The study record with its results section, from one analysis. ``sites``: the snapshot's
    sites (their country gives the region of enrollment; their codes the scope)."""
    sites = tuple(sites)
    countries = {site.code: site.country for site in sites if site.country}
    declared = {site.code: site.country for site in protocol.sites}
    for code, country in declared.items():
        countries.setdefault(code, country)
    ident = protocol.identification
    every_site = {s.code for s in protocol.sites}
    scope = {s.code for s in sites} or every_site
    caveats = [
        f"Results computed by trialdesk from the data as they stood at the data cut-off "
        f"{analysis.as_of.isoformat()}"
        + (f" (data-cut file sha256 {analysis.snapshot_sha256})" if analysis.snapshot_sha256 else "")
        + ".",
    ]
    if scope != every_site:
        caveats.append("Participants of the sites " + ", ".join(sorted(scope)) + " only.")
    if analysis.pseudonymised:
        caveats.append("Pseudonymised data.")
    section = {
        "participantFlowModule": participant_flow(analysis, protocol),
        "baselineCharacteristicsModule": baseline_characteristics(analysis, protocol, countries),
        "outcomeMeasuresModule": outcome_measures(analysis, protocol),
        "adverseEventsModule": adverse_events(analysis),
        "moreInfoModule": {
            "limitationsAndCaveats": {"description": " ".join(caveats)},
            "pointOfContact": {"organization": ident.responsible_party},
        },
    }
    return {
        "protocolSection": {
            "identificationModule": {
                "nctId": ident.nct_id,
                "briefTitle": ident.brief_title,
                "officialTitle": ident.official_title,
            }
        },
        "resultsSection": section,
        "hasResults": True,
    }


def build_results(snapshot: StudySnapshot, protocol: Any, *, snapshot_sha256: str = "") -> dict[str, Any]:
    analysis = analyse(snapshot, protocol, snapshot_sha256=snapshot_sha256)
    return results_study(analysis, protocol, sites=snapshot.sites)


def write_ctgov_results(
    snapshot: StudySnapshot,
    protocol: Any,
    out: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
) -> CtgovResult:
    analysis = analyse(snapshot, protocol)
    if progress is not None:
        progress(analysis.counts.get("subjects", 0))
    data = json.dumps(results_study(analysis, protocol, sites=snapshot.sites), ensure_ascii=False, indent=1)
    content = (data + "\n").encode("utf-8")
    out.write(content)
    return CtgovResult(
        hashlib.sha256(content).hexdigest(),
        analysis.counts.get("subjects", 0),
        analysis.counts.get("records", 0),
    )


def export_file(
    snapshot: StudySnapshot, protocol: Any, temporary: Path, source: Any, progress
) -> CtgovResult:
    """The ``ctgov-results`` export kind's writer (``trialdesk.exports.services.EXPORT_KINDS``)."""
    with Path(temporary).open("wb") as handle:
        return write_ctgov_results(snapshot, protocol, handle, progress=progress)
