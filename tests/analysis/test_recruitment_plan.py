"""The recruitment plan of the protocol: its target, planned end and linear plan."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.analysis.recruitment import plan_of, planned_end, recruitment_target
from trialdesk.protocol import load_default_protocol


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def test_the_planned_end_is_the_last_day_of_the_primary_completion_month(protocol):
    # NCT00724360: primary completion 2011-07 (registry)
    assert protocol.identification.primary_completion_date == "2011-07"
    assert planned_end(protocol) == dt.date(2011, 7, 31)


def test_an_actual_enrollment_stands_as_the_target_and_says_so(protocol):
    target = recruitment_target(protocol)
    assert (target.count, target.planned) == (15, False)  # registry: 15, actual


def test_the_plan_grows_linearly_from_the_first_activation_to_the_target(protocol):
    plan = plan_of(protocol, dt.date(2010, 7, 31))  # 365 days before the planned end
    assert plan.expected_on(dt.date(2010, 7, 31)) == 0
    assert plan.expected_on(dt.date(2011, 1, 30)) == pytest.approx(15 * 183 / 365)
    assert plan.expected_on(dt.date(2011, 7, 31)) == plan.expected_on(dt.date(2012, 1, 1)) == 15


def test_there_is_no_plan_when_the_planned_end_is_not_after_the_activation(protocol):
    assert plan_of(protocol, dt.date(2011, 7, 31)) is None
    assert plan_of(protocol, None) is None
