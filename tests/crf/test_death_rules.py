"""The death date is the same on every form that states it; nothing is dated after it but
the forms that report the death (follow-up, end of study).

Both rules raise a query and save (never refuse): only the source documents say which of
two dates is wrong, and refusing would leave the true one impossible to enter while the
other stands (two forms each refusing the other's date could never be corrected)."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.crf.services import save_form
from trialdesk.protocol.crossrecord import AFTER_DEATH, DEATH_MISMATCH
from trialdesk.queries.models import Query, QueryStatus

DEATH = dt.date(2026, 11, 24)


def _visit(subject, code):
    from trialdesk.subjects.models import Visit

    visit = subject.visits.filter(code=code).first()
    if visit is None:  # an event-driven visit (end of study) is opened when it happens
        visit = Visit.objects.create(subject=subject, code=code)
    return visit


def _queries(record, code):
    return list(Query.objects.system("test").filter(record=record, check_code=code))


def _follow_up_dead(cast, subject, died_on=DEATH, contact=dt.date(2026, 11, 25), **kwargs):
    data = {
        "contact_date": contact.isoformat(),
        "vital_status": "dead",
        "death_date": died_on.isoformat(),
        "death_cause": "leukemia",
        "new_treatment": "no",
    }
    return save_form(
        cast.investigator_nantes, subject, "follow_up", data, visit=_visit(subject, "FU1"), **kwargs
    )


def _end_of_study_dead(cast, subject, died_on, **kwargs):
    data = {"end_date": "2026-11-25", "reason": "death", "death_date": died_on.isoformat()}
    return save_form(
        cast.investigator_nantes, subject, "end_of_study", data, visit=_visit(subject, "EOS"), **kwargs
    )


def test_the_same_death_date_on_the_follow_up_and_the_end_of_study_raises_no_query(cast, enrolled_subject):
    _follow_up_dead(cast, enrolled_subject)
    outcome = _end_of_study_dead(cast, enrolled_subject, DEATH)
    assert _queries(outcome.record, DEATH_MISMATCH) == []


def test_a_death_date_unlike_the_follow_ups_is_saved_and_queried(cast, enrolled_subject):
    _follow_up_dead(cast, enrolled_subject)
    outcome = _end_of_study_dead(cast, enrolled_subject, DEATH + dt.timedelta(days=1))
    assert outcome.record.data["death_date"] == "2026-11-25"
    (query,) = _queries(outcome.record, DEATH_MISMATCH)
    assert query.status == QueryStatus.OPEN and query.field_code == "death_date"
    assert "2026-11-25" in query.summary and "2026-11-24" in query.summary


def test_correcting_the_death_date_closes_its_query(cast, enrolled_subject):
    _follow_up_dead(cast, enrolled_subject)
    wrong = _end_of_study_dead(cast, enrolled_subject, DEATH + dt.timedelta(days=1))
    _end_of_study_dead(
        cast, enrolled_subject, DEATH, expected_version=wrong.record.version, reason="transcription_error"
    )
    (query,) = _queries(wrong.record, DEATH_MISMATCH)
    assert query.status == QueryStatus.CLOSED


def test_correcting_the_other_form_closes_the_query_too(cast, enrolled_subject):
    """The follow-up had the wrong date: correcting it re-runs the end of study's rule."""
    follow_up = _follow_up_dead(cast, enrolled_subject, died_on=DEATH - dt.timedelta(days=2))
    eos = _end_of_study_dead(cast, enrolled_subject, DEATH)
    assert [q.status for q in _queries(eos.record, DEATH_MISMATCH)] == [QueryStatus.OPEN]
    _follow_up_dead(
        cast, enrolled_subject, expected_version=follow_up.record.version, reason="transcription_error"
    )
    assert [q.status for q in _queries(eos.record, DEATH_MISMATCH)] == [QueryStatus.CLOSED]


def test_a_record_dated_the_day_after_the_death_is_saved_and_queried(cast, enrolled_subject):
    _follow_up_dead(cast, enrolled_subject)
    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": "2026-11-25", "product": "red_cells", "units": 2},
    )
    (query,) = _queries(outcome.record, AFTER_DEATH)
    assert query.status == QueryStatus.OPEN and query.field_code == "transfusion_date"


def test_a_record_dated_on_the_day_of_the_death_is_not_queried(cast, enrolled_subject):
    _follow_up_dead(cast, enrolled_subject)
    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": DEATH.isoformat(), "product": "red_cells", "units": 2},
    )
    assert _queries(outcome.record, AFTER_DEATH) == []


def test_the_follow_up_reporting_the_death_may_be_dated_the_day_after_it(cast, enrolled_subject):
    _end_of_study_dead(cast, enrolled_subject, DEATH)
    outcome = _follow_up_dead(cast, enrolled_subject, contact=DEATH + dt.timedelta(days=1))
    assert _queries(outcome.record, AFTER_DEATH) == [] and _queries(outcome.record, DEATH_MISMATCH) == []


def test_a_death_recorded_after_an_assessment_queries_that_assessment(cast, enrolled_subject):
    transfusion = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": "2026-11-25", "product": "red_cells", "units": 2},
    )
    assert _queries(transfusion.record, AFTER_DEATH) == []
    _follow_up_dead(cast, enrolled_subject)
    assert [q.status for q in _queries(transfusion.record, AFTER_DEATH)] == [QueryStatus.OPEN]


@pytest.mark.parametrize("language, words", [("en", "after the death"), ("fr", "après le décès")])
def test_the_query_of_a_record_after_the_death_is_shown_in_the_users_language(
    cast, enrolled_subject, language, words
):
    from django.utils import translation

    from trialdesk.crf.rendering import translated

    _follow_up_dead(cast, enrolled_subject)
    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": "2026-11-25", "product": "red_cells", "units": 2},
    )
    (failure,) = [f for f in outcome.validation.check_failures if f.code == AFTER_DEATH]
    with translation.override(language):
        assert words in translated(failure.message, enrolled_subject.study.protocol.form("transfusion"))
