"""The audit trail is hash-chained and append-only; `trialdesk audit verify` proves it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from trialdesk.audit.models import AppendOnlyError, AuditEvent
from trialdesk.audit.services import Actor, record, verify


def _write(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            record(Actor.system(), "change", object_type="thing", object_id=i, field="x", old_value=i, new_value=i + 1)


@pytest.mark.django_db
def test_the_chain_of_a_fresh_trail_verifies():
    _write(5)
    verdict = verify()
    assert verdict.intact and verdict.count == 5


@pytest.mark.django_db
def test_sequence_numbers_increase_by_one_and_link_to_the_previous_hash():
    _write(3)
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[1].previous_hash == events[0].hash and events[2].previous_hash == events[1].hash


@pytest.mark.django_db
def test_the_model_refuses_to_update_or_delete_an_event():
    _write(1)
    event = AuditEvent.objects.get()
    event.reason = "tampered"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_a_programming_error():
    with pytest.raises(RuntimeError):
        record(Actor.system(), "change")


def _raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_verify_names_the_first_event_changed_out_of_band():
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the trigger refuses the change itself (tested separately)")
    _write(5)
    _raw("UPDATE audit_auditevent SET new_value = %s WHERE sequence = 3", ['"999"'])
    verdict = verify()
    assert not verdict.intact and verdict.first_broken_sequence == 3


@pytest.mark.django_db
def test_verify_notices_a_deleted_event_and_a_cut_off_end():
    if connection.vendor == "postgresql":
        pytest.skip("on PostgreSQL the trigger refuses the delete itself (tested separately)")
    _write(5)
    _raw("DELETE FROM audit_auditevent WHERE sequence = 2")
    assert verify().first_broken_sequence == 2
    _raw("DELETE FROM audit_auditevent WHERE sequence >= 2")
    verdict = verify()
    assert not verdict.intact and verdict.first_broken_sequence == 2


@pytest.mark.django_db
def test_on_postgresql_the_database_refuses_update_and_delete():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    from django.db import DatabaseError

    _write(2)
    for statement in ("UPDATE audit_auditevent SET reason = 'x' WHERE sequence = 1",
                      "DELETE FROM audit_auditevent WHERE sequence = 1"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _raw(statement)
    assert verify().intact
