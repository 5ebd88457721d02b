"""A discordance between the investigator's assessment and the derived response is
flagged for the data manager (a system query naming the derived response and why); the
investigator may confirm their assessment with a justification, audited; the confirmed
response then counts. Criteria: BBMT 2010;16:1187, Table 4a."""

from __future__ import annotations

import pytest
from tests.assessments.conftest import CYTOLYTIC_MARROW, login

from trialdesk.assessments.models import ResponseConfirmation
from trialdesk.assessments.services import (
    DISCORDANCE_QUERY,
    ConfirmationRefused,
    confirm_response,
    study_responses,
    subject_course,
)
from trialdesk.audit.models import AuditEvent
from trialdesk.queries.models import Query, QueryStatus

pytestmark = pytest.mark.django_db


def _discordance_queries(record):
    return Query.objects.system("test").filter(record=record, check_code=DISCORDANCE_QUERY)


def test_a_discordant_marrow_raises_a_query_with_the_derived_response_and_why(month_marrow):
    (query,) = _discordance_queries(month_marrow)
    assert query.status == QueryStatus.OPEN and query.field_code == "investigator_response"
    text = query.messages.get().text
    assert "(Partial response (PR))" in text and "No response: Platelets 40 (below 100)" in text


def test_an_agreeing_marrow_raises_no_query(cast, marrow_subject):
    from trialdesk.crf.services import save_form

    outcome = save_form(
        cast.coordinator_nantes,
        marrow_subject,
        "marrow_assessment",
        {**CYTOLYTIC_MARROW, "investigator_response": "NR"},
        visit=marrow_subject.visits.get(code="M1"),
    )
    assert not _discordance_queries(outcome.record).exists()


def test_the_investigator_confirms_their_assessment_and_it_becomes_the_confirmed_response(
    cast, study, month_marrow
):
    before = AuditEvent.objects.count()
    confirm_response(cast.investigator_nantes, month_marrow, "Cytolytic response: blasts down by two thirds.")
    course = subject_course(cast.investigator_nantes, study, month_marrow.subject)
    (assessed,) = course.assessments
    assert assessed.derived.category == "NR" and assessed.confirmed == "PR"
    assert course.derived.best == "NR" and course.confirmed.best == "PR"
    event = AuditEvent.objects.filter(action="response_confirm").get()
    assert event.role == "investigator" and event.old_value == "NR" and event.new_value == "PR"
    assert "two thirds" in event.reason and AuditEvent.objects.count() > before
    # the justification answers the data manager's query: both reasons in one thread
    (query,) = _discordance_queries(month_marrow)
    assert query.status == QueryStatus.ANSWERED
    # their words as they typed them, no prefix in the language of the moment
    assert query.messages.order_by("pk").last().text == "Cytolytic response: blasts down by two thirds."


def test_a_confirmation_needs_a_justification_and_writes_nothing_without_one(cast, month_marrow):
    before = AuditEvent.objects.count()
    with pytest.raises(ConfirmationRefused, match="justification"):
        confirm_response(cast.investigator_nantes, month_marrow, "   ")
    assert not ResponseConfirmation.objects.system("test").exists()
    assert AuditEvent.objects.count() == before


def test_it_refuses_to_confirm_an_assessment_that_agrees(cast, marrow_subject):
    from trialdesk.crf.services import save_form

    record = save_form(
        cast.investigator_nantes,
        marrow_subject,
        "marrow_assessment",
        {**CYTOLYTIC_MARROW, "investigator_response": "NR"},
        visit=marrow_subject.visits.get(code="M1"),
    ).record
    with pytest.raises(ConfirmationRefused, match="nothing to confirm"):
        confirm_response(cast.investigator_nantes, record, "why not")


def test_a_coordinator_cannot_confirm(cast, month_marrow):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        confirm_response(cast.coordinator_nantes, month_marrow, "I think so")


def test_a_changed_assessment_makes_the_confirmation_stale(cast, study, month_marrow):
    from trialdesk.crf.services import save_form

    confirm_response(cast.investigator_nantes, month_marrow, "Cytolytic response.")
    save_form(
        cast.investigator_nantes,
        month_marrow.subject,
        "marrow_assessment",
        {**CYTOLYTIC_MARROW, "investigator_response": "CRp"},
        visit=month_marrow.visit,
        expected_version=month_marrow.version,
        reason="transcription_error",
    )
    (assessed,) = subject_course(cast.investigator_nantes, study, month_marrow.subject).assessments
    assert assessed.discordant and not assessed.confirmed_by_investigator and assessed.confirmed == "NR"


def test_the_study_responses_are_plain_data_per_assessment_and_subject(cast, study, month_marrow):
    confirm_response(cast.investigator_nantes, month_marrow, "Cytolytic response.")
    data = study_responses(cast.statistician, study)[month_marrow.subject_id]
    assert data["derived"]["best"] == "NR" and data["confirmed"]["best"] == "PR"
    assert data["confirmed"]["first_response_on"] == "2026-11-30"
    assert data["assessments"][0]["discordant"] and data["assessments"][0]["confirmed_by_investigator"]
    assert data["cytogenetic"]["achieved"] is True
    assert data["her2_positive_blasts"] == [
        {"date": "2026-11-20", "pct": 45},
        {"date": "2026-11-30", "pct": 30},
    ]
    assert "transfusions" in data


def test_the_study_responses_read_in_a_constant_number_of_queries(
    cast, study, month_marrow, django_assert_max_num_queries
):
    study_responses(cast.data_manager, study)  # warm the access cache
    with django_assert_max_num_queries(6):
        study_responses(cast.data_manager, study)


def test_a_foreign_investigator_sees_nothing_of_the_subject(cast, study, month_marrow):
    assert month_marrow.subject_id not in study_responses(cast.investigator_rennes, study)


# --------------------------------------------------------------------------- the page


def _url(record):
    return f"/assessments/records/{record.pk}/confirm-response/"


def test_the_confirmation_page_shows_both_assessments(client, cast, month_marrow):
    html = login(client, cast.investigator_nantes).get(_url(month_marrow)).content.decode()
    assert "No response" in html and "Partial response (PR)" in html and "platelets 40 (below 100)" in html
    assert 'name="justification"' in html


def test_the_confirmation_page_confirms_with_a_justification(client, cast, month_marrow):
    response = login(client, cast.investigator_nantes).post(
        _url(month_marrow), {"justification": "Cytolytic."}
    )
    assert response.status_code == 302
    assert ResponseConfirmation.objects.system("test").get().justification == "Cytolytic."


def test_the_confirmation_page_refuses_an_empty_justification_in_the_users_language(
    client, cast, month_marrow
):
    response = login(client, cast.investigator_nantes).post(
        _url(month_marrow), {"justification": ""}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.status_code == 400
    assert (
        "justification" in response.content.decode()
        and "rien n&#x27;a été confirmé" in response.content.decode()
    )
    assert not ResponseConfirmation.objects.system("test").exists()


@pytest.mark.parametrize(
    ("role", "get", "post"),
    [
        ("investigator_nantes", 200, 302),
        ("coordinator_nantes", 403, 403),
        ("investigator_rennes", 404, 404),
        ("monitor", 403, 403),
        ("data_manager", 403, 403),
        ("statistician", 403, 403),
        ("sponsor", 403, 403),
    ],
)
def test_the_confirmation_page_for_every_role(client, cast, month_marrow, role, get, post):
    login(client, getattr(cast, role))
    assert client.get(_url(month_marrow)).status_code == get
    assert client.post(_url(month_marrow), {"justification": "x"}).status_code == post
    assert ResponseConfirmation.objects.system("test").exists() == (post == 302)


def test_a_record_without_a_discordance_sends_back_to_its_form(client, cast, marrow_subject):
    record = marrow_subject.form_records.get(form_code="screening")
    response = login(client, cast.investigator_nantes).get(_url(record))
    assert response.status_code == 302


def test_a_correction_that_removes_the_discordance_closes_its_query(cast, month_marrow):
    from trialdesk.crf.services import save_form

    save_form(
        cast.investigator_nantes,
        month_marrow.subject,
        "marrow_assessment",
        {**CYTOLYTIC_MARROW, "investigator_response": "NR"},
        visit=month_marrow.visit,
        expected_version=month_marrow.version,
        reason="transcription_error",
    )
    (query,) = _discordance_queries(month_marrow)
    assert query.status == QueryStatus.CLOSED
    assert "agrees with the derived response" in query.messages.order_by("pk").last().text


def test_a_changed_baseline_raises_the_query_on_the_later_marrow_it_makes_discordant(cast, marrow_subject):
    from tests.assessments.conftest import BASELINE_MARROW

    from trialdesk.crf.services import save_form

    # month 1 agrees: PR (60 -> 20 %, counts recovered)
    month = save_form(
        cast.investigator_nantes,
        marrow_subject,
        "marrow_assessment",
        {**CYTOLYTIC_MARROW, "platelets": 120},
        visit=marrow_subject.visits.get(code="M1"),
    ).record
    assert not _discordance_queries(month).exists()
    # the baseline corrected to 30 %: 20 % is only a 33 % decrease, no PR any more
    baseline = marrow_subject.form_records.get(form_code="marrow_assessment", visit__code="SCR")
    save_form(
        cast.investigator_nantes,
        marrow_subject,
        "marrow_assessment",
        {**BASELINE_MARROW, "marrow_blasts_pct": 30},
        visit=baseline.visit,
        expected_version=baseline.version,
        reason="transcription_error",
    )
    (query,) = _discordance_queries(month)
    assert query.status == QueryStatus.OPEN and "33.3 % decrease" in query.messages.get().text
