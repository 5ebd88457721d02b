"""The cardiac hold and the suggested CTCAE grade of "Ejection fraction decreased" (pure).

Hold thresholds: DESIGN §4 and the trastuzumab (Herceptin) label, "withhold for >= 16
percentage points absolute decrease in LVEF from pre-treatment values, or an LVEF value
below institutional limits of normal (50 %) and >= 10 percentage points absolute decrease";
here from the seed protocol's ``dose_rules.cardiac_hold`` (16, 50, 10).

Grade thresholds: CTCAE v5.0 (NCI, 2017-11-27), Investigations, "Ejection fraction
decreased" (MedDRA 10050528): grade 2 "Resting ejection fraction (EF) 50 - 40%; 10 - 19%
drop from baseline", grade 3 "Resting ejection fraction (EF) 39 - 20%; >=20% drop from
baseline", grade 4 "Resting ejection fraction (EF) <20%"; no grade 1.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical import ctcae
from trialdesk.clinical.cardiac import (
    EF_DECREASED_MEDDRA_CODE,
    assess_cardiac_hold,
    lvef_drop,
    suggest_ef_decreased_grade,
)
from trialdesk.protocol import default_protocol_path, load_protocol


@functools.cache
def _seed_rules():
    return load_protocol(default_protocol_path()).dose_rules.cardiac_hold


@pytest.fixture
def rules():
    return _seed_rules()


def test_the_seed_protocol_holds_the_labels_thresholds(rules):
    assert (rules.drop_points, rules.below_pct, rules.drop_points_when_below) == (16, 50, 10)
    assert rules.repeat_lvef.within_days == 28  # the label: repeat the LVEF within 4 weeks
    assert rules.source == "operational" and rules.repeat_lvef.rationale


def test_the_drop_is_in_absolute_points():
    assert lvef_drop(58, 48) == 10
    assert lvef_drop(60, 65) == -5


def test_the_drop_reads_decimals_as_typed():
    assert lvef_drop(58.1, 42.1) == 16


def test_it_refuses_a_value_that_is_not_a_percentage():
    with pytest.raises(ValueError, match="between 0 and 100"):
        lvef_drop(60, 140)
    with pytest.raises(ValueError, match="must be a number"):
        lvef_drop(True, 40)


def test_a_drop_of_16_points_holds_whatever_the_value(rules):
    decision = assess_cardiac_hold(70, 54, rules)
    assert decision.hold and decision.drop_points == 16 and decision.criterion == "drop"
    assert (
        decision.explanation
        == "hold: LVEF 54 %, a drop of 16 points from 70 % at baseline, 16 points or more"
    )


def test_a_drop_of_15_points_above_50_does_not_hold(rules):
    decision = assess_cardiac_hold(70, 55, rules)
    assert not decision.hold and decision.drop_points == 15
    assert "less than 16 points" in decision.explanation


def test_49_percent_with_a_drop_of_10_holds(rules):
    decision = assess_cardiac_hold(59, 49, rules)
    assert decision.hold and decision.criterion == "below_with_drop"
    assert decision.explanation == (
        "hold: LVEF 49 %, below 50 % with a drop of 10 points from 59 % at baseline (10 points or more)"
    )


def test_49_percent_with_a_drop_of_9_does_not_hold(rules):
    decision = assess_cardiac_hold(58, 49, rules)
    assert not decision.hold
    assert (
        decision.explanation
        == "no hold: LVEF 49 %, below 50 % but a drop of 9 points from 58 % at baseline, less than 10 points"
    )


def test_exactly_50_percent_with_a_drop_of_10_does_not_hold(rules):
    decision = assess_cardiac_hold(60, 50, rules)
    assert not decision.hold and "not below 50 %" in decision.explanation


def test_a_rise_never_holds(rules):
    decision = assess_cardiac_hold(45, 48, rules)
    assert not decision.hold and "a rise of 3 points" in decision.explanation


@given(
    baseline=st.floats(min_value=5, max_value=95, allow_nan=False),
    value=st.floats(min_value=5, max_value=95, allow_nan=False),
)
def test_the_hold_is_exactly_the_labels_two_criteria(baseline, value):
    rules = _seed_rules()
    drop = baseline - value
    decision = assess_cardiac_hold(baseline, value, rules)
    if drop >= 16 + 1e-6 or (value < 50 - 1e-6 and drop >= 10 + 1e-6):
        assert decision.hold
    if drop < 10 - 1e-6 or (value >= 50 + 1e-6 and drop < 16 - 1e-6):
        assert not decision.hold


# ---------------------------------------------------------------- the suggested CTCAE grade


def test_the_grading_agrees_with_the_packaged_ctcae_text():
    term = ctcae.term_by_code(EF_DECREASED_MEDDRA_CODE)
    assert term.term == "Ejection fraction decreased" and term.allowed_grades == (2, 3, 4)
    assert term.grade_text(2) == "Resting ejection fraction (EF) 50 - 40%; 10 - 19% drop from baseline"
    assert term.grade_text(3) == "Resting ejection fraction (EF) 39 - 20%; >=20% drop from baseline"
    assert term.grade_text(4) == "Resting ejection fraction (EF) <20%"


def test_no_grade_above_50_percent_with_a_drop_under_10():
    assert suggest_ef_decreased_grade(60, 51) is None  # drop 9, EF above 50
    assert suggest_ef_decreased_grade(55.5, 50.5) is None


def test_exactly_50_percent_is_grade_2():  # "50 - 40%"
    grade = suggest_ef_decreased_grade(52, 50)
    assert grade.grade == 2 and grade.criterion == "ef"
    assert grade.grade_text == "Resting ejection fraction (EF) 50 - 40%; 10 - 19% drop from baseline"


def test_a_drop_of_exactly_10_is_grade_2_above_50_percent():  # "10 - 19% drop"
    grade = suggest_ef_decreased_grade(65, 55)
    assert grade.grade == 2 and grade.criterion == "drop"
    assert "a drop of 10 points from 65 % at baseline" in grade.explanation


def test_a_drop_of_19_is_grade_2_and_of_20_is_grade_3():  # "10 - 19%" / ">=20% drop"
    assert suggest_ef_decreased_grade(79, 60).grade == 2
    assert suggest_ef_decreased_grade(80, 60).grade == 3


def test_40_percent_is_grade_2_and_39_is_grade_3():  # "50 - 40%" / "39 - 20%"
    assert suggest_ef_decreased_grade(45, 40).grade == 2
    assert suggest_ef_decreased_grade(45, 39).grade == 3
    assert suggest_ef_decreased_grade(45, 39.5).grade == 3  # between the bands: below 40


def test_20_percent_is_grade_3_and_19_is_grade_4():  # "39 - 20%" / "<20%"
    assert suggest_ef_decreased_grade(25, 20).grade == 3
    grade = suggest_ef_decreased_grade(25, 19)
    assert grade.grade == 4 and grade.grade_text == "Resting ejection fraction (EF) <20%"


def test_the_higher_of_the_two_criteria_wins():
    # EF 45 % is grade 2 by value; a drop of 20 points is grade 3 by drop
    grade = suggest_ef_decreased_grade(65, 45)
    assert grade.grade == 3 and grade.criterion == "drop" and grade.drop_points == 20


def test_without_a_baseline_only_the_resting_value_grades():
    assert suggest_ef_decreased_grade(None, 60) is None
    assert suggest_ef_decreased_grade(None, 35).grade == 3


@given(
    baseline=st.floats(min_value=5, max_value=95, allow_nan=False),
    value=st.floats(min_value=5, max_value=95, allow_nan=False),
)
def test_the_suggested_grade_is_one_ctcae_defines(baseline, value):
    grade = suggest_ef_decreased_grade(baseline, value)
    if grade is not None:
        assert grade.grade in ctcae.allowed_grades(EF_DECREASED_MEDDRA_CODE)
