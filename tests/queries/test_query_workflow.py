"""Manual queries: open → answered → closed, re-opened; who may do each step; every step audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from tests.conftest import _member
from tests.queries.conftest import save

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify
from trialdesk.queries import services
from trialdesk.queries.models import MessageKind, Query, QueryMessage, QueryStatus
from trialdesk.studies.models import Role


@pytest.fixture
def query(cast, screening):
    return services.raise_query(cast.monitor, screening, "ecog", "The clinic letter says ECOG 2.")


def _trail(query):
    return list(
        AuditEvent.objects.filter(object_type="query", object_id=str(query.pk)).values_list(
            "action", "username"
        )
    )


def test_a_monitor_raises_a_query_on_a_field_and_it_is_audited(cast, query):
    assert (query.status, query.field_code, query.raised_by, query.raised_role) == (
        QueryStatus.OPEN,
        "ecog",
        cast.monitor,
        "monitor",
    )
    event = AuditEvent.objects.get(action="query_open", object_id=str(query.pk))
    assert (
        event.reason == "The clinic letter says ECOG 2."
        and event.field == "ecog"
        and event.site_code == "NTE"
    )
    assert event.object_label.startswith(f"query #{query.pk} ")


def test_the_full_workflow_is_one_thread_and_one_audit_event_per_step(cast, query):
    services.answer_query(cast.coordinator_nantes, query, "Checked: the letter is right, corrected.")
    services.close_query(cast.monitor, query, "Thanks.")
    services.reopen_query(cast.monitor, query, "The date is still wrong.")
    services.answer_query(cast.investigator_nantes, query, "Date corrected too.")
    services.close_query(cast.data_manager, query)
    query.refresh_from_db()
    assert (
        query.status == QueryStatus.CLOSED
        and query.reopen_count == 1
        and query.closed_by == cast.data_manager
    )
    assert [m.kind for m in query.messages.all()] == ["raise", "answer", "close", "reopen", "answer", "close"]
    assert _trail(query) == [
        ("query_open", "monitor"),
        ("query_answer", "coord.nantes"),
        ("query_close", "monitor"),
        ("query_reopen", "monitor"),
        ("query_answer", "inv.nantes"),
        ("query_close", "datamanager"),
    ]
    verdict = verify()
    assert verdict.intact and verdict.count == AuditEvent.objects.count()


def test_a_closed_query_cannot_be_answered_and_nothing_is_written(cast, query):
    services.close_query(cast.monitor, query, "Raised in error.")
    before = (AuditEvent.objects.count(), QueryMessage.objects.system("test").count())
    with pytest.raises(services.QueryActionRefused):
        services.answer_query(cast.investigator_nantes, query, "Late answer")
    assert (AuditEvent.objects.count(), QueryMessage.objects.system("test").count()) == before
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_an_answered_query_cannot_be_answered_twice(cast, query):
    services.answer_query(cast.investigator_nantes, query, "Corrected.")
    with pytest.raises(services.QueryActionRefused):
        services.answer_query(cast.coordinator_nantes, query, "Me too.")
    assert query.messages.filter(kind=MessageKind.ANSWER).count() == 1


def test_only_a_closed_query_can_be_reopened(cast, query):
    with pytest.raises(services.QueryActionRefused):
        services.reopen_query(cast.monitor, query, "again")


def test_a_reopened_query_is_open_again_and_answerable(cast, query):
    services.close_query(cast.monitor, query)
    services.reopen_query(cast.monitor, query, "Not resolved after all.")
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN and query.closed_at is None
    services.answer_query(cast.investigator_nantes, query, "Now it is.")


def test_another_monitor_of_the_site_cannot_close_a_query_they_did_not_raise(cast, study, query):
    other = _member(study, "monitor2", Role.MONITOR, ["NTE"])
    services.answer_query(cast.investigator_nantes, query, "Corrected.")
    with pytest.raises(services.QueryActionRefused):
        services.close_query(other, query)
    query.refresh_from_db()
    assert query.status == QueryStatus.ANSWERED
    services.close_query(cast.data_manager, query, "Closing for the monitor on leave.")


def test_any_reviewer_of_the_site_may_close_a_query_raised_by_an_edit_check(cast, study, screening):
    other = _member(study, "monitor2", Role.MONITOR, ["NTE"])
    record = save(cast.investigator_nantes, screening, age_years=14)
    query = Query.objects.system("test").get(record=record)
    services.close_query(other, query, "Age confirmed.")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and query.closed_by == other


@pytest.mark.parametrize("who", ["investigator_nantes", "coordinator_nantes", "statistician", "sponsor", "safety_officer"])
def test_site_staff_and_read_only_roles_cannot_raise_or_close(cast, screening, query, who):
    user = getattr(cast, who)
    with pytest.raises(PermissionDenied):
        services.raise_query(user, screening, "ecog", "?")
    with pytest.raises(PermissionDenied):
        services.close_query(user, query)
    with pytest.raises(PermissionDenied):
        services.reopen_query(user, query, "x")


@pytest.mark.parametrize("who", ["monitor", "data_manager", "statistician", "sponsor", "safety_officer"])
def test_only_site_staff_answer(cast, query, who):
    with pytest.raises(PermissionDenied):
        services.answer_query(getattr(cast, who), query, "An answer")
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN


@pytest.mark.parametrize("who", ["statistician", "sponsor", "safety_officer"])
def test_read_only_roles_cannot_comment(cast, query, who):
    with pytest.raises(PermissionDenied):
        services.comment_query(getattr(cast, who), query, "A comment")


def test_a_comment_keeps_the_status_and_is_audited(cast, query):
    services.comment_query(cast.investigator_nantes, query, "Looking for the letter.")
    query.refresh_from_db()
    assert query.status == QueryStatus.OPEN
    assert _trail(query)[-1] == ("query_comment", "inv.nantes")


def test_a_query_needs_a_field_of_the_form_and_a_message(cast, screening):
    with pytest.raises(services.QueryActionRefused):
        services.raise_query(cast.monitor, screening, "no_such_field", "?")
    with pytest.raises(services.QueryActionRefused):
        services.raise_query(cast.monitor, screening, "ecog", "   ")
    with pytest.raises(services.QueryActionRefused):
        services.raise_query(cast.monitor, screening, "ecog", "x" * (services.TEXT_MAX + 1))
    assert not Query.objects.system("test").exists()


def test_no_query_is_raised_on_a_locked_form(cast, screening):
    screening.locked_at = timezone.now()
    screening.save(update_fields=["locked_at"])
    with pytest.raises(services.QueryActionRefused):
        services.raise_query(cast.monitor, screening, "ecog", "?")


def test_a_rennes_investigator_cannot_act_on_a_nantes_query(cast, query):
    for action in (services.answer_query, services.comment_query):
        with pytest.raises(Http404):
            action(cast.investigator_rennes, query, "text")
    assert query.messages.count() == 1


def test_a_monitor_of_another_site_gets_not_found(cast, study, query):
    rennes_monitor = _member(study, "monitor.rns", Role.MONITOR, ["RNS"])
    with pytest.raises(Http404):
        services.close_query(rennes_monitor, query)
    with pytest.raises(Http404):
        services.raise_query(rennes_monitor, query.record, "ecog", "?")


# --------------------------------------------------------------------------- worklists and counts


def test_the_worklist_of_site_staff_is_the_open_queries_of_their_sites(cast, study, query):
    assert list(services.waiting_for(cast.investigator_nantes, study)) == [query]
    assert list(services.waiting_for(cast.coordinator_nantes, study)) == [query]
    services.answer_query(cast.investigator_nantes, query, "Done.")
    assert list(services.waiting_for(cast.investigator_nantes, study)) == []


def test_the_worklist_of_a_reviewer_is_the_answered_queries_they_may_close(cast, study, query, screening):
    other = _member(study, "monitor2", Role.MONITOR, ["NTE"])
    assert list(services.waiting_for(cast.monitor, study)) == []
    services.answer_query(cast.investigator_nantes, query, "Done.")
    assert list(services.waiting_for(cast.monitor, study)) == [query]
    assert list(services.waiting_for(cast.data_manager, study)) == [query]
    assert list(services.waiting_for(other, study)) == []  # not theirs to close
    for who in (cast.statistician, cast.sponsor):
        assert list(services.waiting_for(who, study)) == []


def test_the_list_filters_by_status_site_and_age(cast, study, query, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    automatic = Query.objects.system("test").get(record=record, check_code="SCR-AGE")
    Query.objects.system("test").filter(pk=query.pk).update(raised_at=timezone.now() - dt.timedelta(days=40))
    services.answer_query(cast.investigator_nantes, automatic, "Age is right.")
    everyone = services.list_queries(cast.data_manager, study, status="all")
    assert [q.pk for q in everyone] == [query.pk, automatic.pk]  # oldest first
    assert [q.pk for q in services.list_queries(cast.data_manager, study, status="open")] == [query.pk]
    assert [q.pk for q in services.list_queries(cast.data_manager, study, status="answered")] == [
        automatic.pk
    ]
    assert [q.pk for q in services.list_queries(cast.data_manager, study, min_age_days=30)] == [query.pk]
    assert list(services.list_queries(cast.data_manager, study, site_code="RNS")) == []
    bands = services.unresolved_by_site_and_age(cast.data_manager, study)
    assert bands["NTE"] == {"0–7": 1, "8–30": 0, ">30": 1}
    assert services.age_days(Query.objects.system("test").get(pk=query.pk)) == 40


def test_open_query_counts_per_site(cast, study, query, screening):
    record = save(cast.investigator_nantes, screening, age_years=14)
    assert services.open_query_counts(cast.monitor, study) == {"NTE": 2, "RNS": 0}
    assert services.open_query_counts(cast.data_manager, study)["NTE"] == 2
    services.answer_query(
        cast.investigator_nantes, Query.objects.system("test").get(record=record, check_code="SCR-AGE"), "ok"
    )
    assert services.open_query_counts(cast.investigator_nantes, study) == {"NTE": 1}


def test_a_rennes_investigator_sees_no_nantes_query_in_lists_worklists_or_counts(cast, study, query):
    user = cast.investigator_rennes
    assert list(services.visible_queries(user, study)) == []
    assert list(services.list_queries(user, study, status="all")) == []
    assert list(services.list_queries(user, study, status="all", site_code="NTE")) == []
    assert list(services.waiting_for(user, study)) == []
    assert services.open_query_counts(user, study) == {"RNS": 0}
    assert "NTE" not in services.unresolved_by_site_and_age(user, study)
