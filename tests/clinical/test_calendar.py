"""The visit calendar from the first dose (DESIGN §3: day 0 is the first dose) and its re-planning."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical.calendar import (
    END_OF_TREATMENT,
    FIRST_DOSE,
    VisitState,
    plan_calendar,
    screening_window_check,
)
from trialdesk.protocol import default_protocol_path, load_protocol

PROTOCOL = load_protocol(default_protocol_path())
SCHEDULE = PROTOCOL.schedule
VISITS = {v.code: v for v in SCHEDULE.expanded_visits()}
DAY0 = dt.date(2026, 12, 7)
dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 1, 1))


def _by_code(planned):
    return {p.code: p for p in planned}


def test_treatment_visits_are_planned_from_the_first_dose():
    planned = _by_code(plan_calendar(SCHEDULE, {FIRST_DOSE: DAY0}))
    for code, visit in VISITS.items():
        if visit.anchor == FIRST_DOSE and visit.day is not None:
            assert planned[code].planned_date == DAY0 + dt.timedelta(days=visit.day)


def test_end_of_treatment_visits_wait_for_the_end_of_treatment():
    planned = _by_code(plan_calendar(SCHEDULE, {FIRST_DOSE: DAY0}))
    anchored_on_eot = [code for code, v in VISITS.items() if v.anchor == END_OF_TREATMENT]
    assert anchored_on_eot and all(planned[code].planned_date is None for code in anchored_on_eot)
    eot = DAY0 + dt.timedelta(days=70)
    planned = _by_code(plan_calendar(SCHEDULE, {FIRST_DOSE: DAY0, END_OF_TREATMENT: eot}))
    for code in anchored_on_eot:
        if VISITS[code].day is not None:
            assert planned[code].planned_date == eot + dt.timedelta(days=VISITS[code].day)


def test_event_driven_visits_have_no_planned_date():
    planned = _by_code(plan_calendar(SCHEDULE, {FIRST_DOSE: DAY0, END_OF_TREATMENT: DAY0}))
    for code, visit in VISITS.items():
        if visit.day is None:
            assert planned[code].planned_date is None and "event-driven" in planned[code].explanation


@given(first=dates, second=dates)
def test_replanning_moves_what_has_not_happened_and_keeps_what_has(first, second):
    initial = plan_calendar(SCHEDULE, {FIRST_DOSE: first})
    done = {p.code for p in initial[:3]}  # the first visits took place
    current = [
        VisitState(p.code, p.planned_date, p.window_start, p.window_end,
                   actual_date=p.planned_date if p.code in done else None, has_data=p.code in done)
        for p in initial
    ]
    again = _by_code(plan_calendar(SCHEDULE, {FIRST_DOSE: second}, current))
    shift = second - first
    for p in initial:
        if p.code in done:
            assert again[p.code].kept and again[p.code].planned_date == p.planned_date
        elif p.planned_date is not None:
            assert again[p.code].planned_date == p.planned_date + shift


@given(first=dates)
def test_every_planned_date_lies_within_its_window(first):
    for p in plan_calendar(SCHEDULE, {FIRST_DOSE: first, END_OF_TREATMENT: first + dt.timedelta(days=100)}):
        if p.planned_date is not None:
            assert p.window_start <= p.planned_date <= p.window_end


def test_a_pinned_visit_keeps_its_own_date():
    screening = next(code for code, v in VISITS.items() if PROTOCOL.eligibility.form in v.forms)
    on = dt.date(2026, 11, 20)
    planned = _by_code(plan_calendar(SCHEDULE, {FIRST_DOSE: DAY0}, fixed={screening: on}))
    assert planned[screening].planned_date == on


@pytest.mark.parametrize(
    "days_before, ok",
    [(0, True), (14, True), (15, False), (-1, False)],
)
def test_the_screening_window_is_checked_against_the_first_dose(days_before, ok):
    """Eligibility window of 14 days before the first dose (the protocol's eligibility.window_days)."""
    check = screening_window_check(DAY0 - dt.timedelta(days=days_before), DAY0, 14)
    assert check.ok is ok
