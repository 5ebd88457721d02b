"""The proposed dose and the interval since the last dose, at every boundary (issue 9).

Source of the numbers: the trastuzumab (Herceptin) label as the protocol's dose_rules
state them — 4 mg/kg loading then 2 mg/kg weekly (registry record NCT00724360); a
maintenance dose is due 7 days after the previous one, more than 9 days after it is a
late dose, more than 14 days a missed dose that needs a new loading dose; doses under
5 days apart are too early; a weight change of more than 10 % recomputes the dose. The
pharmacy prepares to the nearest mg from 150 mg vials (operational).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical.dosing import classify_interval, propose_dose, round_dose, vials_for
from trialdesk.protocol import load_default_protocol

RULES = load_default_protocol().dose_rules
DAY = dt.date(2026, 3, 2)


def _after(days: int) -> dt.date:
    return DAY + dt.timedelta(days=days)


def test_the_protocol_states_the_labels_days_and_the_pharmacys_preparation():
    assert (RULES.timing.minimum_interval_days, RULES.timing.late_after_days, RULES.reload_after_days) == (
        5,
        9,
        14,
    )
    assert (RULES.preparation.round_to_mg, RULES.preparation.vial_mg) == (1, 150)
    assert RULES.timing.source == RULES.preparation.source == "operational"


# --------------------------------------------------------------------------- interval


def test_a_first_dose_has_no_interval():
    interval = classify_interval(None, DAY, RULES)
    assert (interval.status, interval.days_since) == ("first", None)


@pytest.mark.parametrize(
    ("days", "status"),
    [
        (0, "too_early"),
        (4, "too_early"),
        (5, "on_time"),
        (7, "on_time"),
        (9, "on_time"),
        (10, "late"),
        (14, "late"),
        (15, "missed"),
        (16, "missed"),
    ],
)
def test_a_dose_is_classified_by_the_days_since_the_last_one(days, status):
    interval = classify_interval(DAY, _after(days), RULES)
    assert (interval.status, interval.days_since) == (status, days)
    assert interval.reload_due is (status == "missed")


def test_the_interval_says_why_in_english_and_carries_its_template():
    interval = classify_interval(DAY, _after(16), RULES)
    assert interval.explanation == "16 days since the last dose, more than 14: a missed dose"
    assert interval.explanation.params == {"days": 16, "limit": 14}
    assert "%(days)d" in interval.explanation.template


def test_it_refuses_a_dose_dated_before_the_previous_one():
    with pytest.raises(ValueError):
        classify_interval(DAY, _after(-1), RULES)


# --------------------------------------------------------------------------- kind of dose


def test_the_first_dose_is_a_loading_dose_on_the_current_weight():
    dose = propose_dose(RULES, DAY, previous_dose_on=None, weight_now_kg=70.4, weight_used_kg=None)
    assert (dose.kind, dose.mg_per_kg, dose.weight_kg, dose.dose_mg, dose.vials) == (
        "loading",
        4,
        70.4,
        282,
        2,
    )
    assert dose.reason.startswith("loading: first dose")


@pytest.mark.parametrize("days", [9, 10, 14])
def test_a_dose_up_to_14_days_after_the_last_is_maintenance(days):
    dose = propose_dose(RULES, _after(days), previous_dose_on=DAY, weight_now_kg=70, weight_used_kg=70)
    assert (dose.kind, dose.mg_per_kg, dose.dose_mg, dose.vials) == ("maintenance", 2, 140, 1)


def test_a_late_dose_is_maintenance_and_says_it_is_late():
    dose = propose_dose(RULES, _after(10), previous_dose_on=DAY, weight_now_kg=70, weight_used_kg=70)
    assert dose.interval.status == "late"
    assert "a late dose (more than 9)" in dose.reason


@pytest.mark.parametrize("days", [15, 16])
def test_a_missed_dose_is_a_new_loading_dose(days):
    dose = propose_dose(RULES, _after(days), previous_dose_on=DAY, weight_now_kg=70, weight_used_kg=70)
    assert (dose.kind, dose.mg_per_kg, dose.dose_mg, dose.vials) == ("loading", 4, 280, 2)
    assert dose.reason.startswith(f"loading: {days} days since the last dose, more than 14")


def test_on_a_cardiac_hold_no_dose_is_proposed():
    dose = propose_dose(
        RULES, _after(7), previous_dose_on=DAY, weight_now_kg=70, weight_used_kg=70, on_cardiac_hold=True
    )
    assert (dose.kind, dose.mg_per_kg, dose.dose_mg, dose.vials) == (None, None, None, None)
    assert dose.reason.startswith("no dose: the subject is on cardiac hold")


# --------------------------------------------------------------------------- weight


@pytest.mark.parametrize("weight_now", [77.0, 63.0])
def test_a_weight_change_of_exactly_10_percent_keeps_the_weight_used(weight_now):
    dose = propose_dose(RULES, _after(7), previous_dose_on=DAY, weight_now_kg=weight_now, weight_used_kg=70)
    assert dose.weight_kg == 70
    assert dose.dose_mg == 140
    assert "recomputed" not in dose.reason


@pytest.mark.parametrize(("weight_now", "dose_mg"), [(77.1, 154), (62.9, 126)])
def test_a_weight_change_just_over_10_percent_recomputes_the_dose_and_says_so(weight_now, dose_mg):
    dose = propose_dose(RULES, _after(7), previous_dose_on=DAY, weight_now_kg=weight_now, weight_used_kg=70)
    assert dose.weight_kg == weight_now
    assert dose.dose_mg == dose_mg
    assert "more than 10 %, the dose is recomputed" in dose.reason


def test_it_refuses_a_weight_that_is_not_positive():
    with pytest.raises(ValueError):
        propose_dose(RULES, DAY, previous_dose_on=None, weight_now_kg=0, weight_used_kg=None)


# --------------------------------------------------------------------------- preparation


@pytest.mark.parametrize(("computed", "prepared"), [(281.5, 282), (281.49, 281), (140.0, 140)])
def test_a_dose_is_prepared_to_the_nearest_mg(computed, prepared):
    assert round_dose(computed, RULES) == prepared


@pytest.mark.parametrize(("dose_mg", "vials"), [(0, 0), (1, 1), (150, 1), (151, 2), (300, 2), (301, 3)])
def test_a_started_vial_counts(dose_mg, vials):
    assert vials_for(dose_mg, RULES) == vials


# --------------------------------------------------------------------------- properties

weights = st.floats(min_value=25, max_value=250, allow_nan=False)
gaps = st.integers(min_value=0, max_value=60)


@given(gap=gaps, now=weights, used=weights)
def test_a_dose_is_loading_exactly_when_more_than_14_days_have_passed(gap, now, used):
    dose = propose_dose(RULES, _after(gap), previous_dose_on=DAY, weight_now_kg=now, weight_used_kg=used)
    assert (dose.kind == "loading") is (gap > RULES.reload_after_days)
    expected_mg_per_kg = (
        RULES.loading_mg_per_kg if gap > RULES.reload_after_days else RULES.maintenance_mg_per_kg
    )
    assert dose.mg_per_kg == expected_mg_per_kg


@given(gap=gaps, now=weights, used=weights)
def test_the_dose_is_within_half_a_mg_of_mg_per_kg_times_the_weight_and_fits_its_vials(gap, now, used):
    dose = propose_dose(RULES, _after(gap), previous_dose_on=DAY, weight_now_kg=now, weight_used_kg=used)
    assert dose.weight_kg in (now, used)
    assert abs(dose.dose_mg - dose.mg_per_kg * dose.weight_kg) <= 0.5 + 1e-9
    assert (
        (dose.vials - 1) * RULES.preparation.vial_mg < dose.dose_mg <= dose.vials * RULES.preparation.vial_mg
    )


@given(now=weights, used=weights)
def test_the_weight_used_changes_only_on_a_change_of_more_than_10_percent(now, used):
    dose = propose_dose(RULES, _after(7), previous_dose_on=DAY, weight_now_kg=now, weight_used_kg=used)
    if abs(now - used) * 100 <= RULES.weight_change_recompute_pct * used * (1 - 1e-9):
        assert dose.weight_kg == used
    elif abs(now - used) * 100 > RULES.weight_change_recompute_pct * used * (1 + 1e-9):
        assert dose.weight_kg == now


@given(gap=gaps)
def test_the_status_follows_the_days_in_order(gap):
    status = classify_interval(DAY, _after(gap), RULES).status
    t = RULES.timing
    expected = (
        "too_early"
        if gap < t.minimum_interval_days
        else "on_time"
        if gap <= t.late_after_days
        else "late"
        if gap <= RULES.reload_after_days
        else "missed"
    )
    assert status == expected
