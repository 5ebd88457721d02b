"""A grade 5 event implies a death recorded on its end date (issue 10's edit check): saved
before the death is recorded it raises a query, which closes when the death is recorded on
that day; a death on another day keeps it open."""

from __future__ import annotations

import pytest
from tests.safety.conftest import SERIOUS_AE

from trialdesk.queries.models import Query, QueryStatus
from trialdesk.safety.services import FATAL_CHECK

FATAL = dict(
    SERIOUS_AE,
    event_term="Sepsis",
    grade=5,
    outcome="fatal",
    onset_date="2026-11-27",
    resolution_date="2026-11-30",
    sae_death=True,
    sae_hospitalisation=False,
    related="unlikely",
    action_taken="drug_withdrawn",
)


def _queries(record):
    return list(Query.objects.system("tests").filter(record=record, check_code=FATAL_CHECK))


@pytest.fixture
def record_death(cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    def record(day: str):
        visit = enrolled_subject.visits.filter(code="EOS").first()
        if visit is None:
            pytest.skip("no end-of-study visit in this casebook")
        return save_form(
            cast.investigator_nantes,
            enrolled_subject,
            "end_of_study",
            {"end_date": day, "reason": "death", "death_date": day},
            visit=visit,
        )

    return record


def test_a_grade_5_event_without_a_recorded_death_raises_a_query(save_ae):
    outcome = save_ae(FATAL)
    [query] = _queries(outcome.record)
    assert query.status == QueryStatus.OPEN and "no death is recorded" in query.summary


def test_the_fatal_event_query_reads_in_french_and_stays_stored_in_english(save_ae, study):
    from django.utils import translation

    from trialdesk.queries import wording

    outcome = save_ae(FATAL)
    [query] = _queries(outcome.record)
    assert query.summary.startswith("A grade 5 event is a death, but no death is recorded")
    with translation.override("fr"):
        shown = wording.of_summary(query, study.protocol)
    assert shown.lang == "" and "grade 5" in shown.text and "death" not in shown.text


def test_a_grade_4_event_raises_none(save_ae):
    outcome = save_ae(
        dict(FATAL, grade=4, outcome="not_recovered", sae_death=False, sae_life_threatening=True)
    )
    assert _queries(outcome.record) == []


def test_the_death_recorded_on_the_events_end_date_closes_the_query(save_ae, record_death):
    outcome = save_ae(FATAL)
    record_death("2026-11-30")
    [query] = _queries(outcome.record)
    assert query.status == QueryStatus.CLOSED


def test_a_death_recorded_a_day_later_keeps_the_query_open(save_ae, record_death):
    outcome = save_ae(FATAL)
    record_death("2026-12-01")
    [query] = _queries(outcome.record)
    assert query.status == QueryStatus.OPEN
