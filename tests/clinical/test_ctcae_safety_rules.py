"""Expectedness, SUSAR and its reporting deadline, the highlights and tolerance counts, the
death a grade 5 event implies (trialdesk.clinical.safety, pure).

Deadlines: ICH E2A III.A.1 and EU Regulation 536/2014 art. 42: a fatal or life-threatening
SUSAR within 7 days of the sponsor's first knowledge, any other within 15 days; the
protocol file holds both (safety.susar_deadlines)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical import safety as rules
from trialdesk.protocol import load_default_protocol


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


@pytest.fixture(scope="module")
def ae_form(protocol):
    return protocol.concept_form("adverse_event_term")


AWARE = dt.date(2026, 12, 1)


def test_the_protocol_holds_the_7_and_15_days_of_ich_e2a(protocol):
    deadlines = protocol.safety.susar_deadlines
    assert (deadlines.fatal_or_life_threatening_days, deadlines.other_days) == (7, 15)
    assert deadlines.source == "operational" and "E2A" in deadlines.rationale


def test_a_fatal_or_life_threatening_susar_is_due_7_days_after_awareness(protocol):
    assert rules.susar_deadline(protocol.safety.susar_deadlines, AWARE, True) == dt.date(2026, 12, 8)


def test_any_other_susar_is_due_15_days_after_awareness(protocol):
    assert rules.susar_deadline(protocol.safety.susar_deadlines, AWARE, False) == dt.date(2026, 12, 16)


def test_the_deadline_day_is_still_on_time_and_the_day_after_is_overdue(protocol):
    deadline = rules.susar_deadline(protocol.safety.susar_deadlines, AWARE, True)
    assert rules.days_left(deadline, deadline - dt.timedelta(days=1)) == 1
    assert rules.days_left(deadline, deadline) == 0
    assert rules.days_left(deadline, deadline + dt.timedelta(days=1)) == -1


def test_a_listed_reaction_is_expected(protocol):
    result = rules.assess_expectedness(protocol.safety, 10051792, 3)  # Infusion related reaction
    assert result.expected and result.why == rules.LISTED
    assert "section 4.8" in result.explanation


def test_an_unlisted_reaction_is_unexpected(protocol):
    result = rules.assess_expectedness(protocol.safety, "10040047", 4)  # Sepsis
    assert not result.expected and result.why == rules.NOT_LISTED


def test_a_reaction_listed_up_to_a_grade_is_expected_at_that_grade_and_unexpected_above(protocol):
    listed = protocol.safety.expected_reaction(10016558)  # Fever, listed up to grade 2
    assert listed.max_grade == 2
    assert rules.assess_expectedness(protocol.safety, 10016558, 2).expected
    above = rules.assess_expectedness(protocol.safety, 10016558, 3)
    assert not above.expected and above.why == rules.MORE_SEVERE


def test_an_event_without_a_code_is_not_called_expected(protocol):
    assert not rules.assess_expectedness(protocol.safety, None, 3).expected


@pytest.mark.parametrize(
    ("related", "expected", "susar"),
    [
        (True, False, True),
        (True, True, False),
        (False, False, False),
        (None, False, False),
        (True, None, False),
    ],
)
def test_a_susar_is_related_and_unexpected(related, expected, susar):
    assert rules.is_susar(related, expected) is susar


@pytest.mark.parametrize(
    ("causality", "related"),
    [
        ("causality_not_related", False),
        ("causality_unlikely", False),
        ("causality_possible", True),
        ("causality_probable", True),
        ("causality_definite", True),
    ],
)
def test_possible_probable_and_definite_count_as_related(protocol, ae_form, causality, related):
    data = protocol.concept_data(ae_form, {causality: True})
    assert rules.is_related(protocol, ae_form, data) is related


def test_an_event_without_causality_is_not_assessed(protocol, ae_form):
    assert rules.is_related(protocol, ae_form, {}) is None


def test_death_or_life_threat_make_the_7_day_kind(protocol, ae_form):
    assert rules.is_fatal_or_life_threatening(
        protocol, ae_form, protocol.concept_data(ae_form, {"seriousness_life_threatening": True})
    )
    assert rules.is_fatal_or_life_threatening(
        protocol, ae_form, protocol.concept_data(ae_form, {"outcome_fatal": True})
    )
    hospitalised = protocol.concept_data(
        ae_form, {"seriousness_hospitalisation": True, "adverse_event_grade": 3}
    )
    assert not rules.is_fatal_or_life_threatening(protocol, ae_form, hospitalised)


def test_infusion_reactions_and_cardiac_events_are_highlighted(protocol):
    safety = protocol.safety
    assert rules.highlights_of(safety, "10051792", "Injury, poisoning and procedural complications") == [
        "infusion_reactions"
    ]
    assert rules.highlights_of(safety, "10050528", "Investigations") == [
        "cardiac_events"
    ]  # Ejection fraction decreased
    assert rules.highlights_of(safety, "10019279", "Cardiac disorders") == ["cardiac_events"]  # by its SOC
    assert rules.highlights_of(safety, "10016288", "Blood and lymphatic system disorders") == []


def test_tolerance_counts_events_subjects_serious_and_worst_grade_per_highlight(protocol, ae_form):
    def ae(term_code, soc, grade, serious=False):
        return protocol.concept_data(
            ae_form,
            {
                "adverse_event_meddra": term_code,
                "adverse_event_soc": soc,
                "adverse_event_grade": grade,
                "adverse_event_serious": serious,
            },
        )

    events = [
        ("A", ae("10051792", "Injury, poisoning and procedural complications", 1)),
        ("A", ae("10051792", "Injury, poisoning and procedural complications", 2)),
        ("B", ae("10050528", "Investigations", 3, serious=True)),
        ("B", ae("10016288", "Blood and lymphatic system disorders", 3, serious=True)),
    ]
    counts = rules.tolerance(protocol, events).as_dict()
    assert (counts["events"], counts["serious_events"], counts["subjects"]) == (4, 2, 2)
    infusion = counts["highlights"]["infusion_reactions"]
    assert (
        infusion["events"],
        infusion["subjects"],
        infusion["worst_grade"],
        infusion["serious_events"],
    ) == (
        2,
        1,
        2,
        0,
    )
    cardiac = counts["highlights"]["cardiac_events"]
    assert (cardiac["events"], cardiac["worst_grade"], cardiac["serious_events"]) == (1, 3, 1)


def test_a_grade_5_event_needs_a_death_on_its_end_date():
    day = dt.date(2026, 11, 30)
    assert rules.fatal_event_problem(5, day, day) is None
    assert rules.fatal_event_problem(5, day, None) is not None  # no death recorded
    assert rules.fatal_event_problem(5, day, day + dt.timedelta(days=1)) is not None  # one day apart
    assert rules.fatal_event_problem(4, day, None) is None


@given(aware=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 1, 1)), severe=st.booleans())
def test_a_report_on_any_day_up_to_the_deadline_is_on_time_and_never_after(aware, severe):
    deadlines = load_default_protocol().safety.susar_deadlines
    deadline = rules.susar_deadline(deadlines, aware, severe)
    days = 7 if severe else 15  # ICH E2A
    assert (deadline - aware).days == days
    assert rules.days_left(deadline, aware) == days
    assert (
        rules.days_left(deadline, deadline) == 0
        and rules.days_left(deadline, deadline + dt.timedelta(days=1)) < 0
    )
