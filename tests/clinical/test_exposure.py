"""Exposure to trastuzumab from the doses given (issue 9, "Exposure")."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.clinical.exposure import DoseValue, exposure, summarise
from trialdesk.protocol import default_protocol_path, load_protocol

RULES = load_protocol(default_protocol_path()).dose_rules
DAY0 = dt.date(2026, 9, 7)


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def test_exposure_and_dose_intensity_of_a_worked_example():
    """A 70 kg patient (the dose is 4 mg/kg loading, then 2 mg/kg weekly: protocol dose_rules,
    from the registry record NCT00724360):

    day 0   280 mg  loading   4.0 mg/kg
    day 7   140 mg            2.0 mg/kg   7 days: on time
    day 17  126 mg            1.8 mg/kg  10 days: late (more than 9)
    day 33  280 mg  reload    4.0 mg/kg  16 days: missed (more than 14)
    day 40  140 mg            2.0 mg/kg   7 days: on time

    cumulative 280 + 140 + 126 + 280 + 140 = 966 mg; 4 + 2 + 1.8 + 4 + 2 = 13.8 mg/kg
    duration: day 0 to day 40, + 7 = 47 days
    planned: 4 + 2 x (47 / 7 - 1) = 4 + 80/7 = 15.428571 mg/kg
    intensity: 13.8 / 15.428571 = 0.894444
    """
    doses = [
        DoseValue(day(0), 280, 70, 280, True, "infusion#1"),
        DoseValue(day(7), 140, 70, 140, False, "infusion#2"),
        DoseValue(day(17), 126, 70, 140, False, "infusion#3"),
        DoseValue(day(33), 280, 70, 280, True, "infusion#4"),
        DoseValue(day(40), 140, 70, 140, False, "infusion#5"),
    ]
    result = exposure(RULES, doses, holds=0)
    assert result.doses == 5
    assert result.cumulative_mg == 966
    assert result.cumulative_mg_per_kg == pytest.approx(13.8)
    assert result.duration_days == 47
    assert result.planned_mg_per_kg == pytest.approx(4 + 80 / 7)
    assert result.dose_intensity == pytest.approx(0.894444, abs=1e-6)
    assert (result.late_doses, result.missed_doses, result.reloads) == (1, 1, 1)


def test_eight_weekly_doses_on_time_have_a_dose_intensity_of_one():
    """4 + 7 x 2 = 18 mg/kg received over 8 weeks; planned 4 + 2 x (56/7 - 1) = 18."""
    doses = [DoseValue(day(7 * n), 240 if n == 0 else 120, 60, loading=n == 0) for n in range(8)]
    result = exposure(RULES, doses)
    assert result.duration_days == 56 and result.duration_weeks == 8
    assert result.dose_intensity == pytest.approx(1.0)


def test_a_subject_without_a_dose_has_no_exposure():
    result = exposure(RULES, [])
    assert result.doses == 0 and result.duration_days == 0 and result.dose_intensity is None


def test_a_dose_without_its_weight_counts_as_a_dose_but_not_in_mg_per_kg():
    result = exposure(RULES, [DoseValue(day(0), 280, 70, loading=True), DoseValue(day(7), 140, None)])
    assert (
        result.doses == 2 and result.cumulative_mg == 420 and result.cumulative_mg_per_kg == pytest.approx(4)
    )
    assert result.incomplete_doses == 1


def test_the_overall_exposure_sums_the_treated_subjects():
    one = exposure(RULES, [DoseValue(day(0), 280, 70, loading=True)], holds=1)
    two = exposure(RULES, [DoseValue(day(0), 240, 60, loading=True), DoseValue(day(7), 120, 60)])
    summary = summarise([one, two, exposure(RULES, [])])
    assert (
        summary.subjects == 2 and summary.doses == 3 and summary.cumulative_mg == 640 and summary.holds == 1
    )
    assert summary.median_duration_days == (7 + 14) / 2
    assert summary.as_dict()["subjects"] == 2
    assert one.as_dict()["first_dose_on"] == day(0).isoformat()
