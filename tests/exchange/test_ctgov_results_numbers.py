"""The numbers of the ctgov-results file are the analysis' (trialdesk.analysis.endpoints), laid
out as the registry's results section: flow, baseline, each endpoint with its interval or
test, adverse events by term with serious and other events apart."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from trialdesk.analysis.endpoints import analyse
from trialdesk.exchange.ctgov_results import build_results, results_study
from trialdesk.snapshot.model import held


@pytest.fixture(scope="module")
def analysis(snapshot, protocol):
    return analyse(snapshot, protocol)


@pytest.fixture(scope="module")
def section(analysis, protocol, snapshot):
    return results_study(analysis, protocol, sites=snapshot.sites)["resultsSection"]


def _measures(section):
    return {m["title"]: m for m in section["outcomeMeasuresModule"]["outcomeMeasures"]}


def _endpoint(protocol, derivation):
    return next(e for e in protocol.endpoints if e.derivation == derivation)


def _measurement(measure, class_index=0, category_index=0):
    return measure["classes"][class_index]["categories"][category_index]["measurements"][0]


def test_one_outcome_measure_per_endpoint_of_the_protocol_the_primary_first(section, protocol):
    measures = section["outcomeMeasuresModule"]["outcomeMeasures"]
    primary = [e for e in protocol.endpoints if e.kind == "primary"]
    secondary = [e for e in protocol.endpoints if e.kind == "secondary"]
    assert [(m["type"], m["title"]) for m in measures] == [("PRIMARY", e.title) for e in primary] + [
        ("SECONDARY", e.title) for e in secondary
    ]


def test_the_primary_outcome_is_the_response_rate_with_its_exact_interval(section, analysis, protocol):
    measure = _measures(section)[_endpoint(protocol, "response_rate").title]
    r = analysis.response
    value = _measurement(measure)
    assert value["value"] == f"{r.estimate.estimate * 100:.2f}"
    assert (value["lowerLimit"], value["upperLimit"]) == (
        f"{r.estimate.lower * 100:.2f}",
        f"{r.estimate.upper * 100:.2f}",
    )
    # the demo cohort imitates the published outcome: 2 responses of 15 (Chevallier et al.,
    # Blood 2012;119:2474); R's binom.test(2, 15) gives the interval 0.01657591 to 0.40460270
    assert (value["value"], value["lowerLimit"], value["upperLimit"]) == ("13.33", "1.66", "40.46")
    assert measure["denoms"][0]["counts"][0]["value"] == str(r.population.n) == "15"
    assert measure["dispersionType"] == "CONFIDENCE_95"
    derived = _measurement(measure, class_index=1)
    assert derived["value"] == f"{r.derived_estimate.estimate * 100:.2f}"
    (test,) = measure["analyses"]
    assert (test["paramValue"], test["ciLowerLimit"], test["ciUpperLimit"], test["ciPctValue"]) == (
        "13.33",
        "1.66",
        "40.46",
        "95.0",
    )


@pytest.mark.parametrize(
    ("derivation", "attribute"), [("overall_survival", "os"), ("leukemia_free_survival", "lfs")]
)
def test_a_survival_outcome_is_the_kaplan_meier_median_with_its_interval(
    section, analysis, protocol, derivation, attribute
):
    measure = _measures(section)[_endpoint(protocol, derivation).title]
    endpoint = getattr(analysis, attribute)
    km = endpoint.km

    def shown(x):
        return "NA" if x is None else f"{x:.2f}"

    value = _measurement(measure)
    assert (value["value"], value["lowerLimit"], value["upperLimit"]) == (
        shown(km.median),
        shown(km.median_lower),
        shown(km.median_upper),
    )
    assert ("comment" in value) is (None in (km.median, km.median_lower, km.median_upper))
    assert measure["denoms"][0]["counts"][0]["value"] == str(endpoint.population.n)
    assert f"{len(endpoint.events)} event(s)" in measure["populationDescription"]


def test_the_cytogenetic_response_rate_is_the_analysis_proportion(section, analysis, protocol):
    measure = _measures(section)[_endpoint(protocol, "cytogenetic_response").title]
    estimate = analysis.cytogenetics.estimate
    value = _measurement(measure)
    assert value["value"] == f"{estimate.estimate * 100:.2f}"
    assert measure["denoms"][0]["counts"][0]["value"] == str(analysis.cytogenetics.population.n)
    assert (
        f"{len(analysis.cytogenetics.without_karyotype_on_treatment)} without a karyotype"
        in (measure["populationDescription"])
    )


def test_the_transfusion_needs_carry_the_signed_rank_test_of_each_product(section, analysis, protocol):
    measure = _measures(section)[_endpoint(protocol, "transfusion_needs").title]
    tr = analysis.transfusions
    assert [c["title"] for c in measure["classes"]] == ["Red cells", "Platelets", "All products"]
    for klass, code in zip(measure["classes"], ("red_cell", "platelet", "all"), strict=True):
        before, on = klass["categories"]
        assert (
            before["measurements"][0]["value"] == f"{statistics.median(p.before[code] for p in tr.pairs):.2f}"
        )
        assert (
            on["measurements"][0]["value"]
            == f"{statistics.median(p.on_treatment[code] for p in tr.pairs):.2f}"
        )
    assert [a["pValue"] for a in measure["analyses"]] == [
        f"{tr.tests[code].p:.4f}" for code in ("red_cell", "platelet", "all")
    ]
    assert {a["statisticalMethod"] for a in measure["analyses"]} == {"Wilcoxon (Signed Rank)"}
    assert measure["unitOfMeasure"] == f"units per {tr.period_days} days"


def test_the_tolerance_outcome_counts_the_participants_the_analysis_lists(section, analysis, protocol):
    measure = _measures(section)[_endpoint(protocol, "tolerance").title]
    t = analysis.tolerance
    counts = {c["title"]: int(c["measurements"][0]["value"]) for c in measure["classes"][0]["categories"]}
    assert counts["With at least one adverse event"] == len(t.with_an_event)
    assert counts["With a serious adverse event"] == len({e.label for e in t.serious})
    assert counts["Died"] == len({label for label, _ in t.deaths if label in t.population.subjects})


def test_the_flow_milestones_are_the_analysis_flow(section, analysis):
    (period,) = section["participantFlowModule"]["periods"]
    count = {m["type"]: int(m["achievements"][0]["numSubjects"]) for m in period["milestones"]}
    flow = analysis.flow
    assert (count["STARTED"], count["Treated"], count["Stopped treatment"]) == (
        len(flow.enrolled),
        len(flow.treated),
        len(flow.stopped),
    )
    finished = sum(f.snapshot.status == "completed" for f in analysis.subjects if f.enrolled)
    assert count["COMPLETED"] == finished
    assert (
        f"{len(flow.screened)} participants screened"
        in section["participantFlowModule"]["recruitmentDetails"]
    )
    assert (
        f"{len(flow.not_eligible)} screened participant(s) not eligible"
        in (section["participantFlowModule"]["preAssignmentDetails"])
    )


def test_the_baseline_is_the_analysis_population_age_sex_and_region(section, analysis):
    baseline = section["baselineCharacteristicsModule"]
    b = analysis.baseline
    assert baseline["denoms"][0]["counts"][0]["value"] == str(b.population.n)
    measures = {m["title"]: m for m in baseline["measures"]}
    age = _measurement(measures["Age, Continuous"])
    assert (age["value"], age["lowerLimit"], age["upperLimit"]) == tuple(
        f"{x:.1f}" for x in (b.numbers["age"].median, b.numbers["age"].minimum, b.numbers["age"].maximum)
    )
    sex = {
        c["title"]: int(c["measurements"][0]["value"])
        for c in measures["Sex: Female, Male"]["classes"][0]["categories"]
    }
    assert sex == {"Female": len(b.sex.get("F", ())), "Male": len(b.sex.get("M", ()))}
    regions = measures["Region of Enrollment"]["classes"]
    assert sum(int(c["categories"][0]["measurements"][0]["value"]) for c in regions) == b.population.n


def test_adverse_events_split_each_term_into_serious_and_other_events(section, analysis):
    ae = section["adverseEventsModule"]
    t = analysis.tolerance
    every = ae["seriousEvents"] + ae["otherEvents"]
    assert sum(e["stats"][0]["numEvents"] for e in every) == t.events
    serious = {(e["organSystem"], e["term"]): e["stats"][0] for e in ae["seriousEvents"]}
    other = {(e["organSystem"], e["term"]): e["stats"][0] for e in ae["otherEvents"]}
    for soc in t.by_soc:
        for row in soc.terms:
            key = (row.soc, row.term)
            assert serious.get(key, {"numEvents": 0})["numEvents"] == row.serious
            assert other.get(key, {"numEvents": 0})["numEvents"] == row.events - row.serious
            if row.serious == 0:
                assert other[key]["numAffected"] == len(row.subjects)
    (group,) = ae["eventGroups"]
    assert group["seriousNumAffected"] == len({e.label for e in t.serious})
    assert group["deathsNumAtRisk"] == group["seriousNumAtRisk"] == t.population.n
    assert group["deathsNumAffected"] == len(
        {label for label, _ in t.deaths if label in t.population.subjects}
    )


def test_each_term_notes_the_worst_grade_of_its_participants(section, analysis):
    t = analysis.tolerance
    row = next(term for soc in t.by_soc for term in soc.terms if term.by_worst_grade)
    entry = next(
        e
        for e in section["adverseEventsModule"]["otherEvents"]
        + section["adverseEventsModule"]["seriousEvents"]
        if (e["organSystem"], e["term"]) == (row.soc, row.term)
    )
    for grade, labels in row.by_worst_grade.items():
        assert f"grade {grade}: {len(labels)}" in entry["notes"]
    assert entry["sourceVocabulary"] == "CTCAE (5.0)"


def test_the_caveats_say_the_cutoff_the_scope_and_the_pseudonymisation(snapshot, protocol):
    nantes = tuple(s for s in snapshot.sites if s.code == "NTE")
    mine = [s for s in snapshot.subjects() if s.site == "NTE"]
    scoped = replace(snapshot, sites=nantes, subject_source=held(mine), pseudonymised=True)
    record = build_results(scoped, protocol)
    caveats = record["resultsSection"]["moreInfoModule"]["limitationsAndCaveats"]["description"]
    assert "Participants of the sites NTE only." in caveats and "Pseudonymised data." in caveats
    (period,) = record["resultsSection"]["participantFlowModule"]["periods"]
    assert period["milestones"][0]["achievements"][0]["numSubjects"] == str(
        sum(s.enrolled_on is not None for s in mine)
    )


def test_a_study_without_subjects_gives_not_available_values_not_an_error(snapshot, protocol):
    empty = replace(snapshot, subject_source=held([]))
    record = build_results(empty, protocol)
    measures = record["resultsSection"]["outcomeMeasuresModule"]["outcomeMeasures"]
    assert _measurement(measures[0])["value"] == "NA"
    assert record["resultsSection"]["adverseEventsModule"]["seriousEvents"] == []
