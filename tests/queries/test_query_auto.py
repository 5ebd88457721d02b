"""Queries raised and closed by the protocol's edit checks when a form is saved."""

from __future__ import annotations

import pytest
from tests.conftest import ELIGIBLE_SCREENING
from tests.queries.conftest import check_result, protocol_check, save

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify
from trialdesk.crf.services import FormInvalid
from trialdesk.queries import services
from trialdesk.queries.models import MessageKind, Query, QueryOrigin, QueryStatus
from trialdesk.rules import Tri


def _check_queries(record, code):
    return Query.objects.system("test").filter(record=record, check_code=code).order_by("pk")


def test_the_failing_data_of_these_tests_fails_the_real_protocol_checks(study, age_check):
    assert check_result(study, "screening", "SCR-AGE", dict(ELIGIBLE_SCREENING, age_years=14)) is Tri.FALSE
    assert check_result(study, "screening", "SCR-AGE", dict(ELIGIBLE_SCREENING)) is Tri.TRUE
    her2 = dict(ELIGIBLE_SCREENING, marrow_blasts_pct=0)
    assert protocol_check(study, "screening", "SCR-HER2").severity == "query"
    assert check_result(study, "screening", "SCR-HER2", her2) is Tri.FALSE


def test_saving_data_that_fails_a_query_check_raises_one_open_query_on_its_fields(cast, screening, age_check):
    record = save(cast.investigator_nantes, screening, age_years=14)
    (query,) = _check_queries(record, "SCR-AGE")
    assert query.status == QueryStatus.OPEN and query.origin == QueryOrigin.EDIT_CHECK
    assert query.field_code == "age_years" and query.all_fields == ["age_years"]
    assert query.record_version == record.version == 2
    assert query.raised_by is None and query.summary == age_check.message
    assert [m.kind for m in query.messages.all()] == [MessageKind.RAISE]
    event = AuditEvent.objects.get(action="query_open", object_id=str(query.pk))
    assert event.username == "system" and event.site_code == "NTE" and "SCR-AGE" in event.reason


def test_a_check_on_two_fields_raises_one_query_naming_both(cast, screening):
    record = save(cast.investigator_nantes, screening, marrow_blasts_pct=0)
    (query,) = _check_queries(record, "SCR-HER2")
    assert sorted(query.all_fields) == ["her2_positive_blasts_pct", "marrow_blasts_pct"]
    assert query.field_code == "marrow_blasts_pct"  # the field the user changed


def test_a_query_is_raised_when_the_record_is_first_created(cast, site, study):
    import datetime as dt

    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    subject = register_screening(
        cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    outcome = save_form(
        cast.investigator_nantes,
        subject,
        "screening",
        dict(ELIGIBLE_SCREENING, age_years=14),
        visit=subject.visits.get(),
    )
    assert _check_queries(outcome.record, "SCR-AGE").get().status == QueryStatus.OPEN


def test_saving_again_while_the_check_still_fails_raises_no_duplicate(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    record = save(cast.investigator_nantes, record, age_years=13)
    record = save(cast.investigator_nantes, record, ecog=2)
    assert _check_queries(record, "SCR-AGE").count() == 1


def test_a_correction_that_makes_the_check_hold_closes_the_query_by_the_system(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    record = save(cast.investigator_nantes, record, age_years=41)
    query = _check_queries(record, "SCR-AGE").get()
    assert query.status == QueryStatus.CLOSED and query.closed_by is None
    close = query.messages.get(kind=MessageKind.CLOSE)
    assert close.author_name == "system" and "SCR-AGE" in close.text
    event = AuditEvent.objects.get(action="query_close", object_id=str(query.pk))
    assert (event.username, event.old_value, event.new_value) == ("system", "open", "closed")
    assert verify().intact


def test_a_change_elsewhere_on_the_form_does_not_close_the_query(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    record = save(cast.investigator_nantes, record, ecog=2)
    assert _check_queries(record, "SCR-AGE").get().status == QueryStatus.OPEN


def test_a_change_that_leaves_the_check_failing_keeps_the_query_open(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    record = save(cast.investigator_nantes, record, age_years=12)
    assert _check_queries(record, "SCR-AGE").get().status == QueryStatus.OPEN


def test_emptying_the_field_does_not_count_as_a_correction(cast, screening):
    """The rule becomes unknown, not true: the discrepancy is not resolved."""
    record = save(cast.investigator_nantes, screening, age_years=14)
    record = save(cast.investigator_nantes, record, age_years=None)
    assert record.data.get("age_years") is None
    assert _check_queries(record, "SCR-AGE").get().status == QueryStatus.OPEN


def test_a_manual_query_never_closes_by_itself(cast, screening):
    query = services.raise_query(cast.monitor, screening, "ecog", "ECOG is 2 in the clinic letter.")
    record = save(cast.investigator_nantes, screening, ecog=2)
    save(cast.investigator_nantes, record, ecog=3)
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert not query.messages.filter(kind=MessageKind.CLOSE).exists()


def test_a_query_closed_after_review_is_not_raised_again_by_an_unrelated_change(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = _check_queries(record, "SCR-AGE").get()
    services.close_query(cast.data_manager, query, "Age confirmed on the ID card (adolescent cohort waiver).")
    record = save(cast.investigator_nantes, record, ecog=2)
    assert list(_check_queries(record, "SCR-AGE").values_list("status", flat=True)) == ["closed"]
    # A new failing value is new data to review: a new query.
    record = save(cast.investigator_nantes, record, age_years=13)
    assert list(_check_queries(record, "SCR-AGE").values_list("status", flat=True)) == ["closed", "open"]


def test_an_error_check_blocks_the_save_and_raises_no_query(cast, screening):
    with pytest.raises(FormInvalid):
        save(cast.investigator_nantes, screening, consent_date="2026-11-21")  # SCR-CONSENT, severity error
    assert not Query.objects.system("test").exists()


def test_a_query_check_of_a_log_form_raises_a_query_on_that_entry(cast, enrolled_subject, study):
    from trialdesk.crf.services import save_form

    infusion = {
        "infusion_date": "2026-11-24",
        "weight_kg": 70,
        "loading": True,
        "dose_mg_per_kg": 4,
        "prescribed_dose_mg": 280,
        "administered_dose_mg": 280,
        "infusion_reaction": False,
    }
    assert protocol_check(study, "infusion", "INF-SAME-DAY").severity == "query"
    first = save_form(cast.investigator_nantes, enrolled_subject, "infusion", infusion).record
    second = save_form(cast.investigator_nantes, enrolled_subject, "infusion", infusion).record
    assert not Query.objects.system("test").filter(record=first, check_code="INF-SAME-DAY").exists()
    query = Query.objects.system("test").get(record=second, check_code="INF-SAME-DAY")
    assert query.record.visit is None and query.record.repeat == 2


def test_a_change_in_response_to_a_numbered_query_links_it_in_the_audit_reason(cast, screening):
    query = services.raise_query(cast.monitor, screening, "ecog", "ECOG is 2 in the clinic letter.")
    reason = ("query_response", query.label)
    save(cast.investigator_nantes, screening, reason=reason, ecog=2)
    change = AuditEvent.objects.filter(action="change", field="ecog").order_by("-sequence").first()
    assert f"query #{query.pk}" in change.reason
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    answer = query.messages.get(kind=MessageKind.ANSWER)
    assert answer.author_name == "inv.nantes" and "ecog: 1 → 2" in answer.text
    event = AuditEvent.objects.get(action="query_answer", object_id=str(query.pk))
    assert f"query #{query.pk}" in event.reason


def test_the_query_response_reason_without_a_number_links_the_queries_of_the_changed_fields(cast, screening):
    on_ecog = services.raise_query(cast.monitor, screening, "ecog", "ECOG?")
    on_lvef = services.raise_query(cast.monitor, screening, "lvef_pct", "LVEF?")
    save(cast.investigator_nantes, screening, reason="query_response", ecog=2)
    on_ecog.refresh_from_db()
    on_lvef.refresh_from_db()
    assert (on_ecog.status, on_lvef.status) == (QueryStatus.ANSWERED, QueryStatus.OPEN)


def test_a_reason_naming_a_query_of_another_record_links_nothing(cast, screening, enrolled_subject):
    query = services.raise_query(cast.monitor, screening, "ecog", "ECOG?")
    from trialdesk.crf.services import save_form

    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2},
        reason="query_response", reason_detail=f"query #{query.pk}",
    )
    assert outcome.created
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN and query.messages.count() == 1


def test_the_database_refuses_a_second_unresolved_query_of_one_check(cast, screening):
    from django.db import IntegrityError, transaction

    record = save(cast.investigator_nantes, screening, age_years=14)
    query = _check_queries(record, "SCR-AGE").get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Query.objects.create(
            record=record,
            field_code="age_years",
            origin=QueryOrigin.EDIT_CHECK,
            check_code="SCR-AGE",
            summary="dup",
            record_version=record.version,
            raised_role="system",
            raised_at=query.raised_at,
        )


def test_an_old_check_query_cannot_be_reopened_while_a_newer_one_is_open(cast, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    first = _check_queries(record, "SCR-AGE").get()
    services.close_query(cast.data_manager, first, "Confirmed.")
    record = save(cast.investigator_nantes, record, age_years=13)
    second = _check_queries(record, "SCR-AGE").last()
    with pytest.raises(services.QueryActionRefused) as refusal:
        services.reopen_query(cast.data_manager, first, "Not confirmed after all.")
    assert str(second.pk) in refusal.value.message
    first.refresh_from_db()
    assert first.status == QueryStatus.CLOSED
