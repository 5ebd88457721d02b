"""The endpoints of the demo trial (the database the demo builds), checked against the published
outcome it imitates and against their own listings; the same numbers from a data-cut file."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.datacut.conftest import user

from trialdesk.analysis import analyse
from trialdesk.clinical.response import ResponseCategory
from trialdesk.datacut import build_snapshot, trial_today
from trialdesk.snapshot import read_datacut, write_datacut

# R: binom.test(2, 15)$conf.int, the Clopper-Pearson bounds qbeta(0.025, 2, 14) and
# qbeta(0.975, 3, 13), printed to 7 significant digits: 0.01657591 0.4046027. (The brief
# quotes the upper bound as 0.40460256; qbeta(0.975, 3, 13) = 0.404602697, so that last figure
# is off by 1.4e-7 and R's printed 0.4046027 is the reference.)
R_LOWER, R_UPPER = 0.01657591, 0.4046027


@pytest.fixture
def analysis(demo_study):
    snapshot = build_snapshot(demo_study, cutoff=trial_today()).materialise()
    return analyse(snapshot, demo_study.protocol)


def test_the_response_rate_is_2_of_15_with_the_interval_of_r_binom_test(analysis):
    # Chevallier et al., Blood 2012;119:2474: 2 responses among 15 patients (13 %)
    estimate = analysis.response.estimate
    assert (estimate.x, estimate.n) == (2, 15)
    assert round(estimate.lower, 8) == R_LOWER
    assert round(estimate.upper, 7) == R_UPPER
    assert estimate.level == 0.95 and estimate.method == "exact"


def test_no_subject_reaches_a_complete_response(analysis):
    # the published outcome: no CR or CRp, both responses partial
    response = analysis.response
    assert response.count(ResponseCategory.CR) == () and response.count(ResponseCategory.CRP) == ()
    assert sorted(response.count(ResponseCategory.PR)) == sorted(response.responders)


def test_the_responders_are_the_subjects_whose_listed_best_response_is_a_response(analysis):
    listed = [
        label for label, best in analysis.response.best.items() if best is not None and best.is_response
    ]
    assert len(listed) == analysis.response.estimate.x
    assert sorted(listed) == sorted(analysis.response.responders)
    assert set(analysis.response.population.subjects) == set(analysis.flow.treated)


def test_the_cytolytic_partial_response_counts_only_through_the_investigators_confirmation(analysis):
    # DESIGN §4: the published "partial remission cytolytic response" the algorithm alone does not name
    response = analysis.response
    assert len(response.confirmed_by_investigator) == 1
    (confirmed,) = response.confirmed_by_investigator
    assert confirmed in response.responders and confirmed not in response.derived_responders
    assert response.derived_estimate.x == 1


def test_the_flow_adds_up_from_screening_to_analysis(analysis):
    flow = analysis.flow
    assert len(flow.screened) == len(flow.not_eligible) + len(flow.not_enrolled_otherwise) + len(
        flow.enrolled
    )
    assert sum(len(v) for v in flow.not_eligible_by_criterion.values()) >= len(flow.not_eligible)
    assert len(flow.enrolled) == len(flow.treated) + len(flow.not_treated) == 15
    assert len(flow.treated) == len(flow.stopped) + len(flow.on_treatment)
    assert sum(len(v) for v in flow.stopped_by_reason.values()) == len(flow.stopped)


def test_overall_survival_counts_every_treated_subject_once(analysis):
    os_ = analysis.os
    assert len(os_.subjects) == os_.km.n == 15
    assert len(os_.events) == os_.km.events
    assert set(os_.events) <= {label for label, _ in analysis.tolerance.deaths}


def test_leukemia_free_survival_is_of_the_responders_only(analysis):
    assert sorted(s.label for s in analysis.lfs.subjects) == sorted(analysis.response.responders)


def test_the_cytogenetic_denominator_is_the_abnormal_baseline_karyotypes(analysis):
    c = analysis.cytogenetics
    counted = set(c.responders) | set(c.without_karyotype_on_treatment) | set(c.still_abnormal)
    assert counted == set(c.population.subjects)
    assert c.estimate.n == c.population.n and c.estimate.x == len(c.responders)
    treated = len(analysis.flow.treated)
    assert c.population.n + len(c.no_baseline_karyotype) + len(c.normal_at_baseline) == treated


def test_one_grade_3_cardiac_event(analysis):
    # the published outcome: one reversible grade 3 cardiac event
    cardiac = [
        h
        for h in analysis.tolerance.highlights.highlights.values()
        if h.subject_count and "ardiac" in h.label
    ]
    assert len(cardiac) == 1 and cardiac[0].subject_count == 1 and cardiac[0].worst_grade == 3


def test_the_ae_table_counts_each_subject_once_at_the_worst_grade(analysis):
    for soc in analysis.tolerance.by_soc:
        for term in soc.terms:
            graded = [label for labels in term.by_worst_grade.values() for label in labels]
            assert len(graded) == len(set(graded)) <= len(term.subjects)


def test_a_datacut_file_gives_the_numbers_of_the_live_database_at_the_same_cutoff(demo_study, tmp_path):
    cutoff = _mid_trial(demo_study)
    live = analyse(build_snapshot(demo_study, cutoff=cutoff).materialise(), demo_study.protocol)
    path = tmp_path / "cut.json"
    write_datacut(build_snapshot(demo_study, cutoff=cutoff), path)
    from_file = analyse(read_datacut(path).materialise(), demo_study.protocol)
    assert from_file.response.estimate == live.response.estimate
    assert from_file.response.responders == live.response.responders
    assert from_file.os.km == live.os.km and from_file.lfs.km == live.lfs.km
    assert from_file.flow == live.flow
    assert from_file.tolerance.events == live.tolerance.events
    assert from_file.transfusions.tests == live.transfusions.tests
    assert from_file.cytogenetics.estimate == live.cytogenetics.estimate


def _mid_trial(study) -> dt.date:
    """The day the eighth patient was enrolled."""
    enrolled = sorted(s.enrolled_on for s in build_snapshot(study).subjects() if s.enrolled_on)
    return enrolled[7]


def test_an_earlier_cutoff_knows_fewer_facts(demo_study):
    early = analyse(
        build_snapshot(demo_study, cutoff=_mid_trial(demo_study)).materialise(), demo_study.protocol
    )
    now = analyse(build_snapshot(demo_study, cutoff=trial_today()).materialise(), demo_study.protocol)
    assert early.counts["records"] < now.counts["records"]
    assert len(early.flow.enrolled) == 8 and early.os.km.events < now.os.km.events
    # enrolled that day, dosed later: not yet in the treated population
    assert early.response.population.n == 7


def test_the_statisticians_analysis_has_the_same_numbers_pseudonymised(demo_study):
    operator = analyse(build_snapshot(demo_study, cutoff=trial_today()).materialise(), demo_study.protocol)
    snapshot = build_snapshot(demo_study, viewer=user("statistician"), cutoff=trial_today()).materialise()
    statistician = analyse(snapshot, demo_study.protocol)
    assert statistician.pseudonymised
    assert statistician.response.estimate == operator.response.estimate
    assert statistician.os.km == operator.os.km


def test_the_safety_officers_tables_read_the_ctcae_classes_despite_the_masked_free_text(demo_study):
    operator = analyse(build_snapshot(demo_study, cutoff=trial_today()).materialise(), demo_study.protocol)
    snapshot = build_snapshot(demo_study, viewer=user("safety"), cutoff=trial_today()).materialise()
    officer = analyse(snapshot, demo_study.protocol)
    assert officer.pseudonymised
    assert [(s.soc, s.events) for s in officer.tolerance.by_soc] == [
        (s.soc, s.events) for s in operator.tolerance.by_soc
    ]
    assert officer.tolerance.highlight_subjects == operator.tolerance.highlight_subjects
    assert any(officer.tolerance.highlight_subjects.values())


def test_the_endpoints_document_carries_the_report_numbers_as_plain_json(analysis):
    # the REST API's /endpoints (trialdesk.analysis.document): the same analysis, as JSON data
    import json

    from trialdesk.analysis.document import endpoints_document

    document = json.loads(json.dumps(endpoints_document(analysis), allow_nan=False))
    response = document["response"]
    assert (response["estimate"]["x"], response["estimate"]["n"]) == (2, 15)
    assert round(response["estimate"]["upper"], 7) == R_UPPER  # R's binom.test, as above
    assert response["population"]["n"] == 15 and len(response["population"]["subjects"]) == 15
    assert document["os"]["km"]["n"] == analysis.os.km.n
    assert sorted(document["os"]["events"]) == sorted(analysis.os.events)
    assert document["counts"] == analysis.counts and document["as_of"] == analysis.as_of.isoformat()
    assert "subjects" not in document  # the per-subject facts stay out; labels in the populations
