"""Weight-based dosing, at every threshold's boundary (DESIGN §4 "Dosing").

Source of the rules: the trastuzumab (Herceptin) label, as the protocol's dose_rules
state them — 4 mg/kg loading then 2 mg/kg weekly (registry record NCT00724360); a
weight change of more than 10 % from the weight used re-computes the dose; a weekly
dose late by more than one week is given as a new 4 mg/kg loading dose; a dose more
than 10 % away from the prescription is a deviation.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical.dosing import check_deviation, check_weight, compute_dose
from trialdesk.protocol import load_default_protocol

RULES = load_default_protocol().dose_rules
DAY = dt.date(2008, 3, 3)


def test_the_protocol_states_the_labels_thresholds():
    assert (RULES.loading_mg_per_kg, RULES.maintenance_mg_per_kg, RULES.interval_days) == (4, 2, 7)
    assert RULES.weight_change_recompute_pct == 10
    assert RULES.reload_if_late_by_more_than_days == 7
    assert RULES.deviation_pct == 10


def test_the_dose_is_mg_per_kg_times_the_weight():
    dose = compute_dose(2, 70.5)
    assert dose.dose_mg == 141.0
    assert dose.explanation == "2 mg/kg x 70.5 kg = 141 mg"


def test_a_dose_needs_a_positive_weight():
    with pytest.raises(ValueError):
        compute_dose(2, 0)


# --------------------------------------------------------------------------- weight change


@pytest.mark.parametrize("weight_now", [77.0, 63.0])
def test_a_weight_change_of_exactly_10_percent_keeps_the_dose(weight_now):
    check = check_weight(70.0, weight_now, RULES)
    assert check.recompute is False
    assert check.weight_for_dose == 70.0
    assert "not more than 10 %" in check.explanation


@pytest.mark.parametrize("weight_now", [77.1, 62.9])
def test_a_weight_change_of_more_than_10_percent_recomputes_the_dose(weight_now):
    check = check_weight(70.0, weight_now, RULES)
    assert check.recompute is True
    assert check.weight_for_dose == weight_now
    assert "the dose is recomputed" in check.explanation


# --------------------------------------------------------------------------- deviation


@pytest.mark.parametrize("given_mg", [110.0, 90.0])
def test_a_dose_exactly_10_percent_off_is_not_a_deviation(given_mg):
    check = check_deviation(100.0, given_mg, RULES)
    assert check.deviation is False
    assert "within 10 %" in check.explanation


@pytest.mark.parametrize("given_mg", [110.1, 89.9])
def test_a_dose_more_than_10_percent_off_is_a_deviation(given_mg):
    check = check_deviation(100.0, given_mg, RULES)
    assert check.deviation is True
    assert "a dose deviation" in check.explanation


# the interval since the last dose and the next dose: tests/clinical/test_dosing_proposal.py


# --------------------------------------------------------------------------- properties

tenths_of_kg = st.integers(min_value=300, max_value=2000)  # 30.0 to 200.0 kg, as scales show it


@given(st.sampled_from([2.0, 4.0]), tenths_of_kg, tenths_of_kg)
def test_the_dose_never_falls_when_the_weight_rises(mg_per_kg, a, b):
    light, heavy = sorted((a / 10, b / 10))
    assert compute_dose(mg_per_kg, light).dose_mg <= compute_dose(mg_per_kg, heavy).dose_mg


@given(tenths_of_kg, tenths_of_kg)
def test_the_dose_is_recomputed_if_and_only_if_the_weight_changed_by_more_than_10_percent(used, now):
    # exact in integers: |now - used| / used > 10 / 100
    expected = abs(now - used) * 100 > RULES.weight_change_recompute_pct * used
    assert check_weight(used / 10, now / 10, RULES).recompute is expected


@given(st.integers(min_value=10, max_value=2500), st.integers(min_value=0, max_value=3000))
def test_a_dose_is_a_deviation_if_and_only_if_more_than_10_percent_off(prescribed, given_mg):
    expected = abs(given_mg - prescribed) * 100 > RULES.deviation_pct * prescribed
    assert check_deviation(float(prescribed), float(given_mg), RULES).deviation is expected
