"""The audit trail is chained by HMAC with a key kept outside the database, append-only,
and cannot be wiped without `trialdesk audit verify --anchor` saying so (DESIGN §5)."""

from __future__ import annotations

import contextlib

import pytest
from django.db import DatabaseError, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialdesk.audit import anchors
from trialdesk.audit.chain import GENESIS_MAC, canonical_content, event_mac
from trialdesk.audit.keys import KeyRing
from trialdesk.audit.models import AppendOnlyError, AuditChainHead, AuditEvent
from trialdesk.audit.services import Actor, audited, record, verify

KEY_A = b"first-audit-key-of-the-tests-0123456789abcdef"
KEY_B = b"second-audit-key-of-the-tests-0123456789abcdef"


def _write(n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with audited():
            record(Actor.system(), "change", object_type="thing", object_id=i, field="x", old_value=i, new_value=i + 1)


def _raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@contextlib.contextmanager
def _as_attacker():
    """Out-of-band access to the tables, as someone with the database's own powers. On
    PostgreSQL the triggers are switched off for the session (a superuser can), as a DBA
    bent on tampering would; SQLite has no triggers to switch off."""
    if connection.vendor == "postgresql":
        _raw("SET session_replication_role = replica")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            _raw("SET session_replication_role = origin")


@pytest.mark.django_db
def test_the_chain_of_a_fresh_trail_verifies():
    _write(5)
    verdict = verify()
    assert verdict.intact and verdict.count == 5


@pytest.mark.django_db
def test_each_event_links_to_the_mac_of_the_one_before_and_names_its_key():
    _write(3)
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].previous_mac == GENESIS_MAC
    assert events[1].previous_mac == events[0].mac and events[2].previous_mac == events[1].mac
    assert len({e.key_id for e in events}) == 1 and len(events[0].key_id) == 16


@pytest.mark.django_db
def test_the_events_of_one_audited_block_are_written_together_at_its_end():
    with audited():
        record(Actor.system(), "a")
        record(Actor.system(), "b")
        assert AuditEvent.objects.count() == 0  # collected, not yet written
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_a_failed_block_writes_none_of_its_events_and_a_failed_inner_block_only_loses_its_own():
    with pytest.raises(ZeroDivisionError), audited():
        record(Actor.system(), "lost")
        1 / 0  # noqa: B018
    with audited():
        record(Actor.system(), "kept")
        with contextlib.suppress(ZeroDivisionError), audited():
            record(Actor.system(), "inner, lost")
            1 / 0  # noqa: B018
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["kept"]
    assert verify().intact


@pytest.mark.django_db
def test_recording_outside_an_audited_block_is_a_programming_error():
    with pytest.raises(RuntimeError, match="audited"):
        record(Actor.system(), "change")


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


# --------------------------------------------------------------------------- tampering, on both databases


@pytest.mark.django_db
def test_verify_names_a_row_changed_out_of_band():
    _write(5)
    with _as_attacker():
        _raw("UPDATE audit_auditevent SET new_value = %s WHERE sequence = 3", ['"999"'])
    verdict = verify()
    assert not verdict.intact and verdict.first_broken_sequence == 3 and "MAC" in verdict.problem


@pytest.mark.django_db
def test_verify_names_a_deleted_row():
    _write(5)
    with _as_attacker():
        _raw("DELETE FROM audit_auditevent WHERE sequence = 2")
    verdict = verify()
    assert not verdict.intact and verdict.first_broken_sequence == 2 and "missing" in verdict.problem


@pytest.mark.django_db
def test_verify_names_a_row_inserted_with_a_recomputed_unkeyed_hash():
    """Without the key, a forger can only guess: a plain SHA-256 of the content no longer passes."""
    import hashlib

    _write(3)
    last = AuditEvent.objects.order_by("sequence").last()
    forged = {**{f: getattr(last, f) for f in ("occurred_at", "username", "role", "action")},
              "sequence": 4, "previous_mac": last.mac, "key_id": last.key_id, "reason": "backdated approval"}
    mac = hashlib.sha256(canonical_content(forged)).hexdigest()
    with _as_attacker():
        _raw(
            "INSERT INTO audit_auditevent (sequence, occurred_at, site_code, username, role, action, object_type,"
            " object_id, object_label, field, reason, previous_mac, key_id, mac)"
            " VALUES (4, %s, '', %s, %s, %s, '', '', '', '', %s, %s, %s, %s)",
            [last.occurred_at, last.username, last.role, last.action, "backdated approval", last.mac, last.key_id, mac],
        )
        _raw("UPDATE audit_auditchainhead SET last_sequence = 4, last_mac = %s", [mac])
    verdict = verify()
    assert not verdict.intact and verdict.first_broken_sequence == 4


@pytest.mark.django_db
def test_verify_names_rows_put_in_another_order():
    _write(4)
    with _as_attacker():
        _raw("UPDATE audit_auditevent SET sequence = -2 WHERE sequence = 2")
        _raw("UPDATE audit_auditevent SET sequence = 2 WHERE sequence = 3")
        _raw("UPDATE audit_auditevent SET sequence = 3 WHERE sequence = -2")
    verdict = verify()
    assert not verdict.intact and verdict.first_broken_sequence == 2


@pytest.mark.django_db
def test_a_deleted_tail_with_a_rewritten_head_passes_alone_but_not_against_the_anchor_receipt():
    _write(5)
    receipt = anchors.make_receipt()
    assert receipt["sequence"] == 5
    third = AuditEvent.objects.get(sequence=3)
    with _as_attacker():
        _raw("DELETE FROM audit_auditevent WHERE sequence > 3")
        _raw("UPDATE audit_auditchainhead SET last_sequence = 3, last_mac = %s", [third.mac])
    assert verify().intact  # indistinguishable from a shorter trail...
    verdict = verify(anchor=receipt)  # ...until the receipt kept elsewhere is shown
    assert not verdict.intact and "events 4 to 5 are missing" in verdict.problem


@pytest.mark.django_db
def test_a_wiped_trail_with_a_reset_head_is_caught_by_the_anchor_receipt():
    _write(3)
    receipt = anchors.make_receipt()
    with _as_attacker():
        if connection.vendor == "postgresql":
            _raw("TRUNCATE audit_auditevent")
        else:
            _raw("DELETE FROM audit_auditevent")
        _raw("UPDATE audit_auditchainhead SET last_sequence = 0, last_mac = %s", [GENESIS_MAC])
    assert verify().intact and verify().count == 0
    verdict = verify(anchor=receipt)
    assert not verdict.intact and "events 1 to 3 are missing" in verdict.problem


@pytest.mark.django_db
def test_a_receipt_whose_event_was_rewritten_is_refused():
    _write(3)
    receipt = {**anchors.make_receipt(), "mac": "f" * 64}
    verdict = verify(anchor=receipt)
    assert not verdict.intact and verdict.first_broken_sequence == 3


# --------------------------------------------------------------------------- keys


@pytest.mark.django_db
def test_verifying_with_the_wrong_key_says_wrong_key_not_tampered():
    _write(2)
    verdict = verify(KeyRing.of([KEY_B], "a key file"))
    assert not verdict.intact and verdict.wrong_key and "wrong key" in verdict.problem


@pytest.mark.django_db
def test_a_rotated_key_signs_new_events_and_the_ring_verifies_both(monkeypatch):
    monkeypatch.setenv("TRIALDESK_AUDIT_KEY", KEY_A.decode())
    _write(2)
    ring = KeyRing.of([KEY_A, KEY_B], "rotated ring")
    monkeypatch.setattr("trialdesk.audit.services.key_ring", lambda: ring)
    _write(2, start=2)
    assert len(set(AuditEvent.objects.values_list("key_id", flat=True))) == 2
    assert verify(ring).intact
    assert verify(KeyRing.of([KEY_B], "new key only")).wrong_key


def test_the_mac_depends_on_the_key():
    event = {"sequence": 1, "action": "change", "previous_mac": GENESIS_MAC, "key_id": "k"}
    assert event_mac(event, KEY_A) != event_mac(event, KEY_B)


# --------------------------------------------------------------------------- PostgreSQL's own guards


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET reason = 'x' WHERE sequence = 1",
        "DELETE FROM audit_auditevent WHERE sequence = 1",
        "TRUNCATE audit_auditevent",
        "UPDATE audit_auditchainhead SET last_sequence = 0",
        "DELETE FROM audit_auditchainhead",
        "TRUNCATE audit_auditchainhead",
    ],
)
def test_on_postgresql_the_database_refuses_to_rewrite_the_trail_or_move_its_head_back(statement):
    if connection.vendor != "postgresql":
        pytest.skip("the triggers exist on PostgreSQL only")
    from django.db import transaction

    _write(2)
    with pytest.raises(DatabaseError, match="append-only|only moves forward"), transaction.atomic():
        _raw(statement)
    assert verify().intact and AuditChainHead.objects.get().last_sequence == 2


@pytest.mark.django_db
def test_the_head_row_comes_from_the_migration():
    assert AuditChainHead.objects.filter(pk=1, last_sequence=0, last_mac=GENESIS_MAC).exists()


# --------------------------------------------------------------------------- canonical content


def test_a_number_has_one_canonical_text_whatever_the_database_returns():
    """PostgreSQL's jsonb hands 1e16 back as 10000000000000000 and -0.0 as 0."""
    def content(value):
        return canonical_content({"new_value": value})

    assert content(1e16) == content(10000000000000000)
    assert content(5.0) == content(5)
    assert content(-0.0) == content(0)
    assert content(1.5e300) == content(int(1.5e300)) or content(1.5e300) == content(15 * 10**299)
    assert content(True) != content(1) and content("1") != content(1)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    # PostgreSQL refuses NUL in text; lone surrogates cannot be encoded: neither can come from a form.
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8), children, max_size=4),
    max_leaves=10,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=JSON_VALUES, new=JSON_VALUES)
def test_any_value_survives_the_round_trip_through_the_database(old, new):
    with audited():
        record(Actor.system(), "change", object_type="thing", field="x", old_value=old, new_value=new)
    stored = AuditEvent.objects.order_by("-sequence").values("sequence").first()
    verdict = verify()
    assert verdict.intact, (old, new, stored, verdict.problem)
