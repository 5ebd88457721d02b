"""Eligibility of NCT00724360: every criterion at its threshold and one step either side,
three-valued verdicts, the screening window, and the explanations a clinician reads."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from trialdesk.clinical.eligibility import EligibilityResult, assess_eligibility
from trialdesk.protocol import load_default_protocol
from trialdesk.rules import parse

PROTOCOL = load_default_protocol()

#: a subject who meets every criterion, typed as coerce_screening_values returns them
ELIGIBLE = {
    "age_years": 45,
    "diagnosis": "b_all",
    "disease_status": "relapsed",
    "ecog": 1,
    "ast": 80.0,
    "ast_uln": 40.0,
    "alt": 60.0,
    "alt_uln": 40.0,
    "creatinine": 80.0,
    "creatinine_uln": 100.0,
    "marrow_blasts_pct": 65.0,
    "her2_positive_blasts_pct": 45.0,
    "prior_trastuzumab": False,
    "lvef_pct": 60.0,
}


def criterion_reading(field: str) -> str:
    """The code of the criterion whose rule reads ``field`` (so the tests do not hang on codes)."""
    codes = [c.code for c in PROTOCOL.eligibility.criteria if field in parse(c.rule).fields]
    assert len(codes) == 1, f"{field} is read by {codes}"
    return codes[0]


def assess(**changes) -> EligibilityResult:
    values = {**ELIGIBLE, **changes}
    return assess_eligibility(PROTOCOL, {k: v for k, v in values.items() if v is not ...})


def status_of(result: EligibilityResult, field: str) -> str:
    code = criterion_reading(field)
    return next(c.status for c in result.criteria if c.code == code)


def explanation_of(result: EligibilityResult, field: str) -> str:
    code = criterion_reading(field)
    return next(c.explanation for c in result.criteria if c.code == code)


def test_the_reference_subject_is_eligible():
    result = assess()
    assert result.verdict == "eligible"
    assert [c.status for c in result.criteria] == ["met"] * len(PROTOCOL.eligibility.criteria)
    assert result.not_met == [] and result.missing == []


# --------------------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    ("field", "changes", "status"),
    [
        # age >= 18 (the structured "18 Years and older" wins over the text "> 18")
        ("age_years", {"age_years": 17}, "not_met"),
        ("age_years", {"age_years": 18}, "met"),
        ("age_years", {"age_years": 19}, "met"),
        # ECOG 0-2
        ("ecog", {"ecog": 0}, "met"),
        ("ecog", {"ecog": 2}, "met"),
        ("ecog", {"ecog": 3}, "not_met"),
        ("ecog", {"ecog": 4}, "not_met"),
        # AST <= 5 x ULN
        ("ast", {"ast": 199.9, "ast_uln": 40.0}, "met"),
        ("ast", {"ast": 200.0, "ast_uln": 40.0}, "met"),
        ("ast", {"ast": 200.1, "ast_uln": 40.0}, "not_met"),
        # ALT <= 5 x ULN, each on its own (AST and ALT each, the conservative reading)
        ("alt", {"alt": 199.9, "alt_uln": 40.0}, "met"),
        ("alt", {"alt": 200.0, "alt_uln": 40.0}, "met"),
        ("alt", {"alt": 200.1, "alt_uln": 40.0}, "not_met"),
        ("alt", {"ast": 200.1, "ast_uln": 40.0, "alt": 20.0}, "not_met"),
        # creatinine < 2 x ULN (strictly)
        ("creatinine", {"creatinine": 199.9, "creatinine_uln": 100.0}, "met"),
        ("creatinine", {"creatinine": 200.0, "creatinine_uln": 100.0}, "not_met"),
        ("creatinine", {"creatinine": 200.1, "creatinine_uln": 100.0}, "not_met"),
        # ULN values that are not round in binary floating point
        ("creatinine", {"creatinine": 0.3, "creatinine_uln": 0.15}, "not_met"),
        ("creatinine", {"creatinine": 0.29, "creatinine_uln": 0.15}, "met"),
        # marrow blasts > 20 %
        ("marrow_blasts_pct", {"marrow_blasts_pct": 19.9}, "not_met"),
        ("marrow_blasts_pct", {"marrow_blasts_pct": 20.0}, "not_met"),
        ("marrow_blasts_pct", {"marrow_blasts_pct": 20.1}, "met"),
        # HER2-positive blasts > 30 %
        ("her2_positive_blasts_pct", {"her2_positive_blasts_pct": 29.9}, "not_met"),
        ("her2_positive_blasts_pct", {"her2_positive_blasts_pct": 30.0}, "not_met"),
        ("her2_positive_blasts_pct", {"her2_positive_blasts_pct": 30.1}, "met"),
        # exclusion: LVEF < 50 % excludes
        ("lvef_pct", {"lvef_pct": 49.9}, "not_met"),
        ("lvef_pct", {"lvef_pct": 50.0}, "met"),
        ("lvef_pct", {"lvef_pct": 50.1}, "met"),
        # exclusion: previous treatment by trastuzumab
        ("prior_trastuzumab", {"prior_trastuzumab": True}, "not_met"),
        ("prior_trastuzumab", {"prior_trastuzumab": False}, "met"),
    ],
)
def test_each_criterion_at_its_threshold_and_one_step_either_side(field, changes, status):
    """Thresholds from the registry record NCT00724360 (shared/data/NCT00724360.registry.txt,
    inclusion and exclusion criteria), read as the protocol file's decisions say."""
    result = assess(**changes)
    assert status_of(result, field) == status
    assert result.verdict == ("eligible" if status == "met" else "not_eligible")


@pytest.mark.parametrize(
    ("diagnosis", "disease_status"),
    list(itertools.product(["b_all", "t_all", "other"], ["relapsed", "refractory", "first_line"])),
)
def test_only_relapsed_or_refractory_b_all_is_eligible(diagnosis, disease_status):
    result = assess(diagnosis=diagnosis, disease_status=disease_status)
    expected = diagnosis == "b_all" and disease_status in ("relapsed", "refractory")
    assert status_of(result, "diagnosis") == ("met" if expected else "not_met")
    assert result.verdict == ("eligible" if expected else "not_eligible")


def test_integer_and_decimal_values_give_the_same_decision():
    assert assess(ast=200, ast_uln=40).verdict == "eligible"
    assert assess(marrow_blasts_pct=20).verdict == "not_eligible"


# --------------------------------------------------------------------------- three-valued verdicts


def test_a_missing_value_with_everything_else_met_is_not_assessable():
    result = assess(ast=...)
    assert result.verdict == "not_assessable"
    assert status_of(result, "ast") == "unknown"
    assert result.missing == ["ast"]
    assert [c.code for c in result.unknown] == [criterion_reading("ast")]


def test_a_none_value_counts_as_missing():
    assert assess(lvef_pct=None).verdict == "not_assessable"


def test_a_missing_value_plus_a_failed_criterion_is_not_eligible():
    result = assess(ast=..., ecog=3)
    assert result.verdict == "not_eligible"
    assert [c.code for c in result.not_met] == [criterion_reading("ecog")]
    assert result.missing == ["ast"]


def test_a_failed_part_decides_even_when_another_part_of_the_same_criterion_is_missing():
    result = assess(ast=..., alt=400.0)
    assert status_of(result, "alt") == "not_met"
    assert result.verdict == "not_eligible"


def test_nothing_entered_is_not_assessable_never_eligible():
    result = assess_eligibility(PROTOCOL, {})
    assert result.verdict == "not_assessable"
    assert {c.status for c in result.criteria} == {"unknown"}
    assert set(result.missing) == set(ELIGIBLE)


def test_a_value_of_the_wrong_type_makes_its_criterion_unknown():
    result = assess(age_years="45")
    assert status_of(result, "age_years") == "unknown"
    assert result.verdict == "not_assessable"
    assert "cannot compare a text with a number" in explanation_of(result, "age_years")


# --------------------------------------------------------------------------- screening window


def test_a_value_older_than_the_window_counts_as_missing():
    as_of = dt.date(2024, 1, 16)
    result = assess_eligibility(PROTOCOL, ELIGIBLE, {"ast": dt.date(2024, 1, 1)}, as_of)
    assert PROTOCOL.eligibility.window_days == 14
    assert result.verdict == "not_assessable"
    assert result.stale == {"ast": dt.date(2024, 1, 1)}
    assert result.missing == ["ast"]
    assert explanation_of(result, "ast") == "AST measured 2024-01-01, older than the 14-day screening window"


def test_a_value_exactly_at_the_window_edge_counts():
    as_of = dt.date(2024, 1, 15)
    result = assess_eligibility(PROTOCOL, ELIGIBLE, {"ast": dt.date(2024, 1, 1)}, as_of)
    assert result.verdict == "eligible"
    assert result.stale == {}


def test_a_stale_failing_value_no_longer_decides():
    values = {**ELIGIBLE, "marrow_blasts_pct": 10.0}
    result = assess_eligibility(
        PROTOCOL, values, {"marrow_blasts_pct": dt.date(2023, 12, 1)}, dt.date(2024, 1, 2)
    )
    assert status_of(result, "marrow_blasts_pct") == "unknown"
    assert result.verdict == "not_assessable"


def test_without_a_reference_day_no_value_is_too_old():
    result = assess_eligibility(PROTOCOL, ELIGIBLE, {"ast": dt.date(2000, 1, 1)})
    assert result.verdict == "eligible"


# --------------------------------------------------------------------------- explanations


def test_liver_enzyme_above_the_limit_is_explained_in_multiples_of_uln():
    result = assess(alt=310.0, alt_uln=40.0)
    assert explanation_of(result, "alt") == "ALT 310 U/L = 7.8 × ULN, above 5 × ULN (200 U/L)"


def test_liver_enzymes_within_the_limit_are_both_explained():
    result = assess(ast=80.0, alt=60.0)
    assert explanation_of(result, "ast") == (
        "AST 80 U/L = 2.0 × ULN, at most 5 × ULN (200 U/L); ALT 60 U/L = 1.5 × ULN, at most 5 × ULN (200 U/L)"
    )


def test_a_ratio_just_above_the_limit_shows_enough_decimals_to_see_it():
    assert explanation_of(assess(ast=200.1, ast_uln=40.0), "ast").startswith(
        "AST 200.1 U/L = 5.003 × ULN, above"
    )


def test_creatinine_at_twice_uln_is_explained_as_not_below():
    result = assess(creatinine=200.0, creatinine_uln=100.0)
    assert (
        explanation_of(result, "creatinine")
        == "Serum creatinine 200 µmol/L = 2.0 × ULN, not below 2 × ULN (200 µmol/L)"
    )


def test_threshold_explanations_carry_value_unit_and_limit():
    result = assess(marrow_blasts_pct=18.0, age_years=17, ecog=3, lvef_pct=49.9)
    assert explanation_of(result, "marrow_blasts_pct") == "Bone marrow blasts 18 %, not above 20 %"
    assert explanation_of(result, "age_years") == "Age at screening 17 years, below 18 years"
    assert explanation_of(result, "ecog") == "ECOG performance status 3, above 2"
    assert (
        explanation_of(result, "lvef_pct") == "Left ventricular ejection fraction (LVEF) 49.9 %, below 50 %"
    )


def test_choices_are_explained_with_their_labels():
    result = assess(diagnosis="t_all", disease_status="first_line")
    assert explanation_of(result, "diagnosis") == (
        "Diagnosis: T-cell acute lymphoblastic leukemia, not B-cell acute lymphoblastic leukemia; "
        "Disease status: Untreated (first line), not one of Relapse, Refractory"
    )


def test_only_the_failing_part_is_explained_for_a_criterion_not_met():
    result = assess(disease_status="first_line")
    assert (
        explanation_of(result, "diagnosis")
        == "Disease status: Untreated (first line), not one of Relapse, Refractory"
    )


def test_a_yes_no_answer_is_explained_as_yes_or_no():
    assert (
        explanation_of(assess(prior_trastuzumab=True), "prior_trastuzumab")
        == "Previous treatment by trastuzumab: yes"
    )
    assert explanation_of(assess(), "prior_trastuzumab") == "Previous treatment by trastuzumab: no"


def test_missing_values_are_named_by_their_label():
    result = assess(ast=..., alt_uln=None)
    assert explanation_of(result, "ast") == "AST missing; ALT upper limit of normal missing"


def test_criterion_results_keep_the_registry_text_kind_and_rule():
    result = assess()
    lvef = next(c for c in result.criteria if c.code == criterion_reading("lvef_pct"))
    assert lvef.kind == "exclusion"
    assert "50" in lvef.text
    assert lvef.rule == "lvef_pct >= 50"
    assert lvef.source == "registry"


def test_result_as_a_dict_has_the_verdict_and_each_criterion():
    data = assess(ecog=3).to_dict()
    assert data["verdict"] == "not_eligible"
    assert set(data["criteria"][0]) == {"code", "text", "status", "explanation"}
