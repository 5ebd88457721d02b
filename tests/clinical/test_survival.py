"""Overall and leukemia-free survival per subject (DESIGN §4: OS enrollment -> death,
censored at last known alive; LFS first response -> relapse/progression or death,
responders only, censored at the last assessment). Worked examples in days."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.clinical.survival import (
    DAYS_PER_MONTH,
    SurvivalFacts,
    leukemia_free_survival,
    overall_survival,
    survival_facts,
)
from trialdesk.protocol import load_default_protocol

D = dt.date


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _record(protocol, concept_form: str, **values):
    form = protocol.concept_form(concept_form)
    return form, protocol.concept_data(form, values)


def test_a_death_is_an_event_on_its_day(protocol):
    facts = survival_facts(
        protocol,
        [
            _record(
                protocol,
                "study_ended_on",
                study_ended_on=D(2026, 3, 5),
                ended_by_death=True,
                date_of_death=D(2026, 3, 1),
            ),
            _record(
                protocol,
                "contacted_on",
                contacted_on=D(2026, 3, 4),
                reported_dead=True,
                date_of_death=D(2026, 3, 1),
            ),
        ],
    )
    time = overall_survival(D(2026, 1, 1), facts)
    assert (time.event, time.end, time.days) == (True, D(2026, 3, 1), 59)
    assert "died on 2026-03-01" in time.explanation


def test_a_living_subject_is_censored_at_the_last_date_known_alive_not_at_the_contact(protocol):
    """The family called on 10 April; the patient was last seen alive on 7 April."""
    facts = survival_facts(
        protocol,
        [
            _record(
                protocol,
                "contacted_on",
                contacted_on=D(2026, 4, 10),
                reported_alive=True,
                last_known_alive=D(2026, 4, 7),
            )
        ],
    )
    # a contact reporting the subject alive also counts as known alive on its day
    assert facts.last_known_alive == D(2026, 4, 10)
    facts = SurvivalFacts(None, D(2026, 4, 7), None, None)
    time = overall_survival(D(2026, 1, 1), facts)
    assert (time.event, time.end, time.days, time.censored) == (False, D(2026, 4, 7), 96, True)


def test_the_last_date_known_alive_is_the_latest_record_of_any_form(protocol):
    facts = survival_facts(
        protocol,
        [
            _record(protocol, "dose_date", dose_date=D(2026, 2, 20), dose_given=140.0),
            _record(protocol, "marrow_assessed_on", marrow_assessed_on=D(2026, 2, 26), marrow_blasts=40.0),
            _record(
                protocol,
                "study_ended_on",
                study_ended_on=D(2026, 3, 1),
                last_known_alive=D(2026, 2, 27),
                ended_consent_withdrawn=True,
            ),
        ],
    )
    assert facts.last_known_alive == D(2026, 2, 27)
    assert facts.death_date is None


def test_nothing_known_after_the_death_counts_as_alive(protocol):
    facts = survival_facts(
        protocol,
        [
            _record(
                protocol,
                "contacted_on",
                contacted_on=D(2026, 5, 3),
                reported_dead=True,
                date_of_death=D(2026, 5, 1),
            ),
            _record(protocol, "dose_date", dose_date=D(2026, 4, 20), dose_given=140.0),
        ],
    )
    assert facts.death_date == D(2026, 5, 1)
    assert facts.last_known_alive == D(2026, 4, 20)


def test_a_death_after_the_cutoff_is_not_known_yet():
    facts = SurvivalFacts(D(2026, 6, 1), D(2026, 5, 1), None, None)
    time = overall_survival(D(2026, 1, 1), facts, cutoff=D(2026, 5, 15))
    assert (time.event, time.end) == (False, D(2026, 5, 1))


def test_a_subject_with_nothing_after_enrollment_is_censored_at_day_zero():
    time = overall_survival(D(2026, 1, 1), SurvivalFacts(None, None, None, None))
    assert (time.event, time.days) == (False, 0)


def test_leukemia_free_survival_is_none_for_a_subject_who_never_responded():
    assert leukemia_free_survival(None, SurvivalFacts(D(2026, 3, 1), None, None, None)) is None


def test_leukemia_free_survival_ends_at_the_relapse_before_the_death():
    facts = SurvivalFacts(D(2026, 9, 1), D(2026, 8, 20), None, None)
    time = leukemia_free_survival(D(2026, 3, 1), facts, failure_on=D(2026, 6, 1))
    assert (time.event, time.end, time.days) == (True, D(2026, 6, 1), 92)
    assert time.explanation.startswith("relapse or progression")


def test_leukemia_free_survival_ends_at_the_death_without_a_relapse():
    facts = SurvivalFacts(D(2026, 5, 1), D(2026, 4, 1), None, None)
    time = leukemia_free_survival(D(2026, 3, 1), facts, last_assessment_on=D(2026, 4, 1))
    assert (time.event, time.end) == (True, D(2026, 5, 1))


def test_a_relapse_reported_at_follow_up_ends_leukemia_free_survival(protocol):
    facts = survival_facts(
        protocol,
        [
            _record(
                protocol,
                "contacted_on",
                contacted_on=D(2026, 7, 1),
                reported_alive=True,
                last_known_alive=D(2026, 7, 1),
                disease_relapsed=True,
            )
        ],
    )
    time = leukemia_free_survival(D(2026, 3, 1), facts, last_assessment_on=D(2026, 5, 1))
    assert (time.event, time.end) == (True, D(2026, 7, 1))


def test_a_responder_without_event_is_censored_at_the_last_assessment_not_the_last_contact(protocol):
    """Alive on 1 September, but the disease was last assessed in remission on 1 July."""
    facts = survival_facts(
        protocol,
        [
            _record(
                protocol,
                "contacted_on",
                contacted_on=D(2026, 7, 1),
                reported_alive=True,
                last_known_alive=D(2026, 7, 1),
                disease_in_remission=True,
            ),
            _record(
                protocol,
                "contacted_on",
                contacted_on=D(2026, 9, 1),
                reported_alive=True,
                last_known_alive=D(2026, 9, 1),
                disease_not_assessed=True,
            ),
        ],
    )
    time = leukemia_free_survival(D(2026, 3, 1), facts, last_assessment_on=D(2026, 5, 1))
    assert (time.event, time.end, time.days) == (False, D(2026, 7, 1), 122)
    assert overall_survival(D(2026, 1, 1), facts).end == D(2026, 9, 1)


def test_times_in_months_use_the_mean_month():
    time = overall_survival(D(2026, 1, 1), SurvivalFacts(None, D(2027, 1, 1), None, None))
    assert time.months == pytest.approx(365 / DAYS_PER_MONTH)


def _marrow(day, blasts, anc=1.5, platelets=150.0, circulating=0.0):
    from trialdesk.clinical.course_of_disease import MarrowRecord
    from trialdesk.clinical.response import MarrowAssessment

    return MarrowRecord(
        on=D(2026, 1, 10) + dt.timedelta(days=day),
        assessment=MarrowAssessment(blasts, circulating, False, anc, platelets),
        key=day,
    )


def test_leukemia_free_survival_reads_the_course_of_disease(protocol):
    """Baseline 60 % blasts; PR on day 28 (20 %, a 67 % decrease, BBMT 2010;16:1187 Table 4a);
    progression on day 84 (40 %, +100 % over the nadir of 20 %): 56 days, an event."""
    from trialdesk.clinical.course_of_disease import course_of_disease
    from trialdesk.clinical.survival import leukemia_free_survival_of

    course = course_of_disease(
        [_marrow(-3, 60.0, anc=0.3, platelets=20.0, circulating=10.0), _marrow(28, 20.0), _marrow(84, 40.0)],
        protocol.response_criteria,
        first_dose=D(2026, 1, 10),
    )
    time = leukemia_free_survival_of(course, SurvivalFacts(None, D(2026, 6, 1), None, None))
    assert (time.start, time.end, time.days, time.event) == (D(2026, 2, 7), D(2026, 4, 4), 56, True)


def test_a_responder_still_in_response_is_censored_at_the_last_marrow(protocol):
    from trialdesk.clinical.course_of_disease import course_of_disease
    from trialdesk.clinical.survival import leukemia_free_survival_of

    course = course_of_disease(
        [_marrow(-3, 60.0, anc=0.3, platelets=20.0, circulating=10.0), _marrow(28, 20.0), _marrow(56, 18.0)],
        protocol.response_criteria,
        first_dose=D(2026, 1, 10),
    )
    time = leukemia_free_survival_of(course, SurvivalFacts(None, D(2026, 6, 1), None, None))
    assert (time.end, time.days, time.event) == (D(2026, 3, 7), 28, False)


def test_a_course_without_response_has_no_leukemia_free_survival(protocol):
    from trialdesk.clinical.course_of_disease import course_of_disease
    from trialdesk.clinical.survival import leukemia_free_survival_of

    course = course_of_disease(
        [_marrow(-3, 60.0, anc=0.3, platelets=20.0), _marrow(28, 58.0, anc=0.3, platelets=20.0)],
        protocol.response_criteria,
        first_dose=D(2026, 1, 10),
    )
    assert leukemia_free_survival_of(course, SurvivalFacts(None, D(2026, 6, 1), None, None)) is None
