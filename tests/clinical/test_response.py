"""Response on one marrow assessment, at every threshold's boundary.

The definitions are DESIGN §4's: the ASH response criteria for ALL as tabulated in
Biol Blood Marrow Transplant 2010;16:1187, Table 4a — CR: marrow blasts < 5 %, no
circulating blasts, no extramedullary disease, ANC >= 1.0 x 10^9/L, platelets
>= 100 x 10^9/L; CRp: CR but platelets < 100; PR: blasts 5-25 % and a decrease >= 50 %
from baseline with the blood counts of a CR; progression: >= 25 % relative increase
over the nadir (with marrow blasts >= 5 %) or new extramedullary disease; relapse after
CR/CRp: blasts >= 5 %, circulating blasts or new extramedullary disease. The thresholds
are read from the protocol's response_criteria section, which states them with that
reference. The order (relapse after CR/CRp; PD; CR; CRp; PR; NR) is issue 10's.
"""

from __future__ import annotations

import pytest

from trialdesk.clinical.response import (
    MarrowAssessment,
    Nadir,
    ResponseCategory,
    best_response,
    classify_response,
    track_nadir,
)
from trialdesk.protocol import load_default_protocol

CR, CRP, PR = ResponseCategory.CR, ResponseCategory.CRP, ResponseCategory.PR
PROGRESSION, RELAPSE, NO_RESPONSE = (
    ResponseCategory.PROGRESSION,
    ResponseCategory.RELAPSE,
    ResponseCategory.NO_RESPONSE,
)


@pytest.fixture(scope="module")
def criteria():
    return load_default_protocol().response_criteria


def marrow(blasts, *, circulating=0.0, emd=False, anc=1.5, platelets=150.0):
    return MarrowAssessment(blasts, circulating, emd, anc, platelets)


BASELINE = marrow(40.0, circulating=12.0, anc=0.4, platelets=20.0)


def classify(criteria, assessment, *, baseline=BASELINE, nadir=None, prior_best=None):
    nadir = nadir or Nadir.of(baseline)
    return classify_response(assessment, baseline, nadir, prior_best, criteria)


# --------------------------------------------------------------------------- CR and CRp


def test_it_calls_a_clear_marrow_with_recovered_counts_a_complete_response(criteria):
    result = classify(criteria, marrow(4.9))
    assert result.category is CR
    assert "4.9 %" in result.explanation and "below 5 %" in result.explanation


def test_it_calls_a_marrow_with_5_percent_blasts_a_partial_response(criteria):
    # 5 % is not below 5 % (no CR) but inside 5-25 %, 87.5 % below the baseline 40 %
    result = classify(criteria, marrow(5.0))
    assert result.category is PR


def test_it_counts_an_anc_of_exactly_1_0_as_recovered(criteria):
    assert classify(criteria, marrow(2.0, anc=1.0)).category is CR


def test_it_gives_no_complete_response_with_an_anc_just_below_1_0(criteria):
    result = classify(criteria, marrow(2.0, anc=0.99))
    assert result.category is NO_RESPONSE
    assert "ANC 0.99" in result.explanation


def test_it_counts_platelets_of_exactly_100_as_recovered(criteria):
    assert classify(criteria, marrow(2.0, platelets=100.0)).category is CR


def test_it_calls_a_complete_response_with_99_platelets_a_crp(criteria):
    result = classify(criteria, marrow(2.0, platelets=99.0))
    assert result.category is CRP
    assert "platelets 99" in result.explanation


def test_it_gives_no_complete_response_with_circulating_blasts(criteria):
    assert classify(criteria, marrow(2.0, circulating=None), nadir=Nadir(2.0, 1.0)).category is NO_RESPONSE


def test_it_gives_no_complete_response_with_extramedullary_disease_present_at_baseline(criteria):
    baseline = marrow(40.0, emd=True, anc=0.4, platelets=20.0)
    result = classify(criteria, marrow(2.0, emd=True), baseline=baseline)
    assert result.category is NO_RESPONSE
    assert "extramedullary" in result.explanation


# --------------------------------------------------------------------------- PR


def test_it_calls_a_decrease_of_exactly_50_percent_a_partial_response(criteria):
    result = classify(criteria, marrow(20.0))  # 40 % -> 20 %
    assert result.category is PR
    assert "a 50 % decrease from 40 % at baseline" in result.explanation


def test_it_calls_a_decrease_just_under_50_percent_no_response(criteria):
    result = classify(criteria, marrow(20.1))
    assert result.category is NO_RESPONSE
    assert "a PR needs 50 %" in result.explanation


def test_it_calls_exactly_25_percent_blasts_a_partial_response_and_25_1_no_response(criteria):
    baseline = marrow(60.0, anc=0.4, platelets=20.0)
    assert classify(criteria, marrow(25.0), baseline=baseline).category is PR
    assert classify(criteria, marrow(25.1), baseline=baseline).category is NO_RESPONSE


def test_a_partial_response_needs_the_blood_counts_of_a_complete_one(criteria):
    assert classify(criteria, marrow(10.0, platelets=99.0)).category is NO_RESPONSE
    assert classify(criteria, marrow(10.0, anc=0.9)).category is NO_RESPONSE


# --------------------------------------------------------------------------- progression


def test_it_calls_a_rise_of_exactly_25_percent_over_the_nadir_a_progression(criteria):
    result = classify(criteria, marrow(25.0, anc=0.3, platelets=20.0), nadir=Nadir(20.0, 12.0))
    assert result.category is PROGRESSION
    assert "+25 % over the nadir of 20 %" in result.explanation


def test_it_counts_the_boundary_exactly_despite_binary_fractions(criteria):
    # 10.4 x 1.25 = 13.0 in decimal arithmetic, 12.999999999999998 in binary
    result = classify(criteria, marrow(13.0, anc=0.3, platelets=20.0), nadir=Nadir(10.4, 12.0))
    assert result.category is PROGRESSION


def test_a_rise_just_under_25_percent_is_not_a_progression(criteria):
    result = classify(criteria, marrow(24.9, anc=0.3, platelets=20.0), nadir=Nadir(20.0, 12.0))
    assert result.category is NO_RESPONSE


def test_circulating_blasts_reappearing_after_none_are_no_progression_by_themselves(criteria):
    # issue 10: circulating blasts (a yes/no) make PD only through a recorded count rising >= 25 %
    result = classify(criteria, marrow(30.0, circulating=3.0), nadir=Nadir(30.0, 0.0))
    assert result.category is NO_RESPONSE
    assert "circulating blasts present" in result.explanation


def test_circulating_blasts_seen_without_a_count_rule_out_a_response_but_are_no_progression(criteria):
    result = classify(criteria, marrow(2.0, circulating=None), nadir=Nadir(30.0, 12.0))
    assert result.category is NO_RESPONSE
    assert "circulating blasts present" in result.explanation


def test_a_rise_of_25_percent_of_circulating_blasts_is_a_progression(criteria):
    assert classify(criteria, marrow(30.0, circulating=10.0), nadir=Nadir(30.0, 8.0)).category is PROGRESSION
    assert classify(criteria, marrow(30.0, circulating=9.9), nadir=Nadir(30.0, 8.0)).category is NO_RESPONSE


def test_new_extramedullary_disease_is_a_progression(criteria):
    result = classify(criteria, marrow(10.0, emd=True))
    assert result.category is PROGRESSION
    assert "new extramedullary disease" in result.explanation


# --------------------------------------------------------------------------- relapse


def test_it_calls_5_percent_blasts_after_a_complete_response_a_relapse(criteria):
    nadir = Nadir(1.0, 0.0)
    result = classify(criteria, marrow(5.0), nadir=nadir, prior_best=CR)
    assert result.category is RELAPSE
    assert "Relapse after CR" in result.explanation and "at or above 5 %" in result.explanation


def test_it_keeps_a_complete_response_with_4_9_percent_blasts_and_calls_no_rise_a_progression(criteria):
    # 1 % -> 4.9 % is a 390 % rise over the nadir, but in remission only a relapse counts
    assert classify(criteria, marrow(4.9), nadir=Nadir(1.0, 0.0), prior_best=CR).category is CR


def test_circulating_blasts_after_a_crp_are_a_relapse(criteria):
    result = classify(criteria, marrow(2.0, circulating=1.0), nadir=Nadir(1.0, 0.0), prior_best=CRP)
    assert result.category is RELAPSE


def test_after_a_partial_response_a_rise_is_a_progression_not_a_relapse(criteria):
    result = classify(criteria, marrow(25.0, platelets=30.0), nadir=Nadir(10.0, 0.0), prior_best=PR)
    assert result.category is PROGRESSION


# --------------------------------------------------------------------------- thresholds, reading


def test_the_result_carries_the_protocols_thresholds_and_their_reference(criteria):
    result = classify(criteria, marrow(2.0))
    assert result.thresholds["cr_marrow_blasts_below_pct"] == 5
    assert result.thresholds["anc_min"] == 1.0
    assert result.thresholds["platelets_min"] == 100
    assert result.thresholds["pr_min_decrease_pct"] == 50
    assert result.thresholds["progression_increase_pct"] == 25
    assert "2010;16:1187" in result.reference
    assert result.is_response


def test_the_thresholds_come_from_the_protocol_not_the_code(criteria):
    stricter = criteria.model_copy(update={"cr_marrow_blasts_below_pct": 2.0})
    assert classify_response(marrow(3.0), BASELINE, Nadir.of(BASELINE), None, criteria).category is CR
    # below a 2 % CR threshold 3 % is no CR, but a partial response (2-25 %, -92 %)
    assert classify_response(marrow(3.0), BASELINE, Nadir.of(BASELINE), None, stricter).category is PR


def test_it_reads_an_assessment_through_the_protocols_concepts():
    protocol = load_default_protocol()
    data = {
        "marrow_blasts_pct": 12.0,
        "circulating_blasts_present": True,
        "circulating_blasts_pct": 3.5,
        "anc": 1.2,
        "platelets": 140.0,
        "extramedullary_disease": False,
    }
    assessment = MarrowAssessment.from_record(protocol, "marrow_assessment", data)
    assert assessment == MarrowAssessment(12.0, 3.5, False, 1.2, 140.0)
    uncounted = MarrowAssessment.from_record(
        protocol, "marrow_assessment", {**data, "circulating_blasts_pct": None}
    )
    assert uncounted.circulating_blasts is None and uncounted.circulating_present
    none = MarrowAssessment.from_record(
        protocol, "marrow_assessment", {**data, "circulating_blasts_present": False}
    )
    assert none.circulating_blasts == 0.0


def test_the_nadir_and_the_best_response_follow_the_assessments():
    nadir = track_nadir(Nadir(40.0, 12.0), marrow(18.0, circulating=0.0))
    assert nadir == Nadir(18.0, 0.0)
    assert track_nadir(nadir, marrow(30.0, circulating=None)) == Nadir(18.0, 0.0)
    assert best_response(None, NO_RESPONSE) is None
    assert best_response(None, PR) is PR
    assert best_response(PR, CRP) is CRP
    assert best_response(CR, PR) is CR
    assert best_response(CR, PROGRESSION) is CR


# --------------------------------------------------------------------------- issue 10: precedence and explanation


def test_the_explanation_names_the_deciding_criterion_as_the_issue_shows_it(criteria):
    baseline = marrow(80.0, anc=0.4, platelets=20.0)
    result = classify(criteria, marrow(20.0, anc=1.5, platelets=120.0), baseline=baseline)
    assert result.category is PR
    assert result.explanation.startswith(
        "PR: marrow blasts 20 %, a 75 % decrease from 80 % at baseline; ANC 1.5"
    )
    assert "platelets 120" in result.explanation


def test_a_25_percent_rise_over_the_nadir_is_no_progression_below_5_percent_blasts(criteria):
    # 3 % -> 4 % is +33 % over the nadir, but a progression needs marrow blasts >= 5 %
    # (issue 10: "marrow blasts >= 5 % and a relative increase >= 25 % over the nadir")
    result = classify(criteria, marrow(4.0, anc=0.5, platelets=30.0), nadir=Nadir(3.0, None))
    assert result.category is NO_RESPONSE


def test_a_rise_to_exactly_5_percent_blasts_of_25_percent_over_the_nadir_is_a_progression(criteria):
    result = classify(criteria, marrow(5.0, anc=0.5, platelets=30.0), nadir=Nadir(4.0, None))
    assert result.category is PROGRESSION
    assert "+25 % over the nadir of 4 %" in result.explanation


def test_the_nadir_defaults_to_the_baseline(criteria):
    # baseline 40 %: 50 % is +25 % over it, the nadir when nothing lower was seen
    assert classify(criteria, marrow(50.0, anc=0.5, platelets=30.0)).category is PROGRESSION
    assert classify(criteria, marrow(49.9, anc=0.5, platelets=30.0)).category is NO_RESPONSE


def test_relapse_comes_before_progression_after_a_complete_response(criteria):
    # after a CR, new extramedullary disease with 30 % blasts is a relapse, not a PD
    result = classify(criteria, marrow(30.0, emd=True), nadir=Nadir(1.0, 0.0), prior_best=CRP)
    assert result.category is RELAPSE
    assert result.explanation.startswith("Relapse after CRp")


def test_progression_comes_before_a_complete_response(criteria):
    # blasts below 5 % with recovered counts, but new extramedullary disease: PD, not CR
    result = classify(criteria, marrow(2.0, emd=True))
    assert result.category is PROGRESSION


def test_a_crp_comes_before_a_partial_response_and_needs_the_anc(criteria):
    assert classify(criteria, marrow(4.9, platelets=20.0)).category is CRP
    assert classify(criteria, marrow(4.9, platelets=20.0, anc=0.99)).category is NO_RESPONSE


def test_a_relapse_needs_a_prior_complete_response_not_a_partial_one(criteria):
    # 10 % blasts after a PR at 8 %: +25 % over the nadir, a progression
    result = classify(criteria, marrow(10.0, platelets=30.0), nadir=Nadir(8.0, 0.0), prior_best=PR)
    assert result.category is PROGRESSION


def test_a_circulating_count_rising_by_exactly_25_percent_is_a_progression(criteria):
    result = classify(criteria, marrow(30.0, circulating=12.5), nadir=Nadir(30.0, 10.0))
    assert result.category is PROGRESSION
    assert "circulating blasts 12.5 %" in result.explanation


def test_every_reason_of_an_explanation_is_a_template_with_its_parameters(criteria):
    from trialdesk.clinical.response import TEMPLATES

    for result in (
        classify(criteria, marrow(2.0)),
        classify(criteria, marrow(20.1)),
        classify(criteria, marrow(5.0), nadir=Nadir(1.0, 0.0), prior_best=CR),
        classify(criteria, marrow(60.0, anc=0.2, platelets=10.0)),
    ):
        assert result.headline.key in TEMPLATES
        for reason in result.reasons:
            assert reason.template == TEMPLATES[reason.key] and reason.text in result.explanation


def test_the_categories_are_the_clis_codes():
    assert [c.value for c in ResponseCategory] == ["CR", "CRp", "PR", "NR", "PD", "relapse"]
