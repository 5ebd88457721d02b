"""simulate_cohort(today=…): the same trial in progress, its calendar shifted so that today falls
in its last months, nothing after today recorded, the last patients still on treatment."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.simulate import simulate_cohort

TODAY = dt.date(2026, 12, 9)
D = dt.timedelta


@pytest.fixture(scope="module")
def in_progress(protocol):
    return simulate_cohort(protocol, seed=2012, today=TODAY)


def test_it_is_deterministic(protocol, in_progress):
    assert simulate_cohort(protocol, seed=2012, today=TODAY) == in_progress


def test_nothing_after_today_is_recorded(in_progress):
    for subject in in_progress.subjects:
        for visit in subject.visits:
            assert visit.actual_date is None or visit.actual_date <= TODAY
        for record in subject.records:
            date_fields = [v for v in record.data.values() if isinstance(v, dt.date)]
            # a record's own date (the first date it holds) is today at the latest
            assert not date_fields or min(date_fields) <= TODAY, (subject.label, record.form_code)


def test_every_patient_is_enrolled_and_the_last_ones_are_still_treated(in_progress):
    treated = in_progress.treated
    assert len(treated) == 15 and len(in_progress.screen_failures) == 9
    still = [s for s in treated if s.status == "enrolled" and not s.records_of("end_of_treatment")]
    assert 2 <= len(still) <= 3
    assert all(s.first_dose_on >= TODAY - D(days=140) for s in still)


def test_the_registry_calendar_is_the_default(protocol, cohort):
    assert max(s.screened_on for s in cohort.subjects) < dt.date(2012, 1, 1)
    assert all(s.status != "enrolled" for s in cohort.treated)  # the whole trial: everyone off study


def test_day_zero_is_planned_from_the_planned_first_dose_and_the_rest_from_the_first_dose(
    protocol, in_progress
):
    for s in in_progress.treated:
        for v in s.visits:
            planned = protocol.visit(v.code)
            if planned.anchor == "first_dose" and planned.day == 0:
                assert v.planned_date == s.planned_first_dose_on and v.actual_date == s.first_dose_on
            elif planned.anchor == "first_dose" and planned.day and planned.day > 0:
                assert v.planned_date == s.first_dose_on + D(days=planned.day)


@pytest.mark.parametrize("today", [TODAY, dt.date(2025, 3, 30), dt.date(2026, 1, 1)])
@pytest.mark.parametrize("seed", [2012, 1, 99])
def test_one_patient_in_follow_up_has_its_first_call_due_today_at_the_sponsors_site(protocol, seed, today):
    """The course is timed from its end of treatment: the first follow-up visit (day 90 after it,
    the protocol's schedule) is planned today; the patient is alive and the call not made yet."""
    cohort = simulate_cohort(protocol, seed=seed, today=today)
    form = protocol.concept_form("treatment_stopped_on")
    follow_up = protocol.concept_form("contacted_on")
    first_call = next(
        v for v in protocol.schedule.expanded_visits() if v.anchor == "end_of_treatment" and v.day
    )
    due = []
    for s in cohort.treated:
        ended = [protocol.read_concept("treatment_stopped_on", form, r.data) for r in s.records_of(form)]
        if s.status == "enrolled" and ended and ended[0] + D(days=first_call.day) == today:
            due.append(s)
    assert len(due) == 1
    (subject,) = due
    assert subject.site_code == protocol.sites[0].code and subject.death_date is None
    assert not subject.records_of(follow_up) and subject.visit(first_call.code) is None
