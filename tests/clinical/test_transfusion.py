"""Transfusion needs (DESIGN §4; the protocol's transfusion_needs endpoint: units per 28
days in the 28 days before the first dose and on treatment, first dose to last dose + 7
days; transfusion independence: none for >= 56 days)."""

from __future__ import annotations

import datetime as dt

from trialdesk.clinical.transfusion import (
    Product,
    Transfusion,
    TransfusionSettings,
    settings_of,
    transfusion_needs,
)
from trialdesk.protocol import load_default_protocol

D0 = dt.date(2026, 3, 1)
RBC, PLT = Product.RED_CELLS, Product.PLATELETS


def day(n):
    return D0 + dt.timedelta(days=n)


def t(n, product=RBC, units=2):
    return Transfusion(day(n), product, units)


def test_the_settings_are_the_protocols():
    assert settings_of(load_default_protocol()) == TransfusionSettings(28, 56, 7)


def test_the_28_days_before_the_first_dose_count_the_units_given_then():
    needs = transfusion_needs([t(-29), t(-28), t(-1, PLT, 1), t(0)], D0, day(60))
    assert needs.before.start == day(-28) and needs.before.end == day(-1)
    assert needs.before.units == {RBC: 2, PLT: 1}  # day -29 is outside, day 0 is on treatment
    assert needs.before.per_period(RBC) == 2
    assert needs.dependent_before


def test_on_treatment_runs_to_the_last_dose_plus_7_days_per_28_days():
    needs = transfusion_needs([t(0), t(30), t(62), t(63)], D0, day(55))
    assert needs.on_treatment.start == D0 and needs.on_treatment.end == day(62)
    assert needs.on_treatment.units == {RBC: 6}  # day 63 is after the last dose + 7
    assert needs.on_treatment.days == 63
    assert abs(needs.on_treatment.per_period(RBC) - 6 * 28 / 63) < 1e-9


def test_55_days_without_a_transfusion_is_not_independence():
    # transfused on day 0 and day 56: days 1-55 are free, 55 days
    needs = transfusion_needs([t(0), t(56)], D0, day(60))
    assert needs.longest_free_days == 55 and needs.independent is False


def test_56_days_without_a_transfusion_is_independence():
    needs = transfusion_needs([t(0), t(57)], D0, day(60))
    assert needs.longest_free_days == 56 and needs.independent is True
    assert needs.longest_free_from == day(1)


def test_the_free_run_may_start_at_the_first_dose_or_end_at_the_periods_end():
    # none from day 0 to day 55 (56 days), then one on day 56
    assert transfusion_needs([t(56)], D0, day(60)).longest_free_days == 56
    # one on day 0, then none to the end (last dose day 49 + 7 = day 56): days 1-56
    assert transfusion_needs([t(0)], D0, day(49)).independent is True
    assert transfusion_needs([t(0)], D0, day(48)).independent is False


def test_while_treatment_goes_on_the_period_ends_today():
    needs = transfusion_needs([t(0)], D0, None, as_of=day(30))
    assert needs.on_treatment.end == day(30) and needs.independent is None  # 31 days: not known yet


def test_before_the_first_dose_nothing_is_assessable():
    needs = transfusion_needs([t(-3)], None, None, as_of=D0)
    assert needs.before is None and needs.independent is None


def test_a_transfusion_is_read_through_the_concepts():
    protocol = load_default_protocol()
    data = {"transfusion_date": "2026-03-02", "product": "platelets", "units": 1}
    assert Transfusion.from_record(protocol, "transfusion", data) == Transfusion(day(1), PLT, 1)


def test_independence_is_not_known_before_56_days_on_treatment():
    needs = transfusion_needs([t(0)], D0, None, as_of=day(54))  # 55 days on treatment so far
    assert needs.longest_free_days == 54 and needs.independent is None
    assert transfusion_needs([t(0)], D0, None, as_of=day(56)).independent is True
