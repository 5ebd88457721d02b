"""The analysis's exposure counts the cardiac holds of the snapshot and the deviations the
clinical rules find on it (``clinical.deviations``): a dose on a day a hold covers is a
deviation, a dose on the day of its lift is not."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from tests.analysis.test_endpoint_rules import D0, _analysis, _marrow, _treated

from trialdesk.clinical.deviations import DOSE_DURING_HOLD
from trialdesk.protocol import load_default_protocol
from trialdesk.snapshot.model import HoldSnapshot, RecordRef


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _hold(started_on: dt.date, ended_on: dt.date | None) -> HoldSnapshot:
    # baseline 62 %, 45 %: a drop of 17 points, 16 or more (trastuzumab label; protocol dose_rules.cardiac_hold)
    return HoldSnapshot(
        record=RecordRef("lvef", "C1", 0),
        started_on=started_on,
        criterion="drop",
        explanation="hold: LVEF 45 %, a drop of 17 points from 62 % at baseline, 16 points or more",
        baseline_pct=62.0,
        value_pct=45.0,
        drop_points=17.0,
        repeat_lvef_due_on=started_on + dt.timedelta(days=28),
        status="lifted" if ended_on else "active",
        ended_on=ended_on,
    )


def _with_hold(protocol, number: str, hold: HoldSnapshot):
    subject = _treated(protocol, number, _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"))
    return replace(subject, cardiac_holds=(hold,))


def test_doses_on_days_a_hold_covers_are_counted_and_the_dose_on_the_day_of_its_lift_is_not(protocol):
    # weekly doses on D0, D0+7 … D0+49; the hold from D0+13 to its lift on D0+28: D0+14 and D0+21 during it
    held = _with_hold(protocol, "S-1", _hold(D0 + dt.timedelta(days=13), D0 + dt.timedelta(days=28)))
    plain = _treated(protocol, "S-2", _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"))
    e = _analysis(protocol, held, plain).exposure
    assert e.with_cardiac_hold == ("S-1",)
    assert e.doses_during_hold == {"S-1": 2} and e.doses_during_hold_total == 2
    assert e.deviations_by_rule[DOSE_DURING_HOLD] == ("S-1", "S-1")
    assert e.per_subject["S-1"].holds == 1 and e.per_subject["S-2"].holds == 0
    assert e.summary.holds == 1


def test_a_hold_still_in_force_covers_every_dose_from_its_first_day(protocol):
    held = _with_hold(protocol, "S-1", _hold(D0 + dt.timedelta(days=35), None))  # doses D0+35, D0+42, D0+49
    e = _analysis(protocol, held).exposure
    assert e.doses_during_hold == {"S-1": 3}


def test_without_a_hold_no_dose_is_counted_during_one(protocol):
    plain = _treated(protocol, "S-2", _marrow(protocol, D0 - dt.timedelta(days=5), 60, "SCR"))
    e = _analysis(protocol, plain).exposure
    assert (
        e.with_cardiac_hold == ()
        and e.doses_during_hold == {}
        and DOSE_DURING_HOLD not in e.deviations_by_rule
    )
