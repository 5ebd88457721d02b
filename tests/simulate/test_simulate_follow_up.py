"""The simulated follow-up: calls every 3 months after treatment, the death on every form
that states it with the same date, nothing dated after it, the last date known alive, and
the subsequent treatment (the allogeneic transplant the partial response led to)."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.clinical.survival import overall_survival, survival_facts
from trialdesk.protocol.crossrecord import DEATH_DATE_KEY, death_findings, stated_death_date
from trialdesk.simulate import simulate_cohort


def _records(subject):
    return [(r.form_code, r.data) for r in reversed(subject.records)]


@pytest.fixture(scope="module", params=[2012, 1, 99, "in progress"])
def cohort(request, protocol):
    if request.param == "in progress":
        return simulate_cohort(protocol, seed=2012, today=dt.date(2012, 3, 1))
    return simulate_cohort(protocol, seed=request.param)


def test_no_simulated_record_breaks_a_death_rule(protocol, cohort):
    broken = []
    for subject in cohort.subjects:
        records = _records(subject)
        for i, (form, data) in enumerate(records):
            others = records[:i] + records[i + 1 :]
            values = {**data, DEATH_DATE_KEY: stated_death_date(protocol, others)}
            broken += [(subject.label, form, f.code) for f in death_findings(protocol, form, values)]
    assert broken == []


def test_the_death_the_records_state_is_the_subjects(protocol, cohort):
    for subject in cohort.subjects:
        if subject.treated:
            assert survival_facts(protocol, _records(subject)).death_date == subject.death_date, subject.label


def test_the_dead_and_only_they_have_an_overall_survival_event(protocol, cohort):
    for subject in cohort.subjects:
        if not subject.treated:
            continue
        time = overall_survival(subject.enrolled_on, survival_facts(protocol, _records(subject)))
        assert time.event == (subject.status == "died"), subject.label
        assert time.days >= 0


def test_living_subjects_are_followed_up_with_a_last_date_known_alive(protocol, cohort):
    ref = protocol.concept("last_known_alive")
    follow_up = protocol.concept_form("contacted_on")
    contacts = [
        r
        for s in cohort.subjects
        for r in s.records
        if r.form_code == follow_up and protocol.read_concept("reported_alive", follow_up, r.data)
    ]
    assert contacts, "no follow-up call of a living subject"
    for record in contacts:
        field = next(place.field for place in ref if place.form == follow_up)
        assert record.data[field] <= protocol.read_concept("contacted_on", follow_up, record.data)


@pytest.mark.parametrize("today", [None, dt.date(2026, 12, 9)])
def test_a_subject_has_an_allogeneic_transplant_after_treatment(protocol, today):
    """After the partial response (once followed up), and after no response at the minimum
    duration (salvage, then the graft): the demo in progress holds the latter."""
    cohort = simulate_cohort(protocol, seed=2012, today=today)
    form = protocol.concept_form("subsequent_allogeneic_transplant")
    transplanted = [
        s.label
        for s in cohort.subjects
        for r in s.records
        if r.form_code == form and protocol.read_concept("subsequent_allogeneic_transplant", form, r.data)
    ]
    assert len(transplanted) >= 1
