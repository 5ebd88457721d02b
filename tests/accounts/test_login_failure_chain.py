"""Failed sign-ins are kept in their own append-only table, chained by HMAC with the audit key
(not the clinical trail, not under its lock): verification proves them intact or names the
first broken row; on PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from tests.accounts.helpers import post_login

from trialdesk.accounts import failures
from trialdesk.accounts.models import AppendOnlyError, LoginFailure, LoginFailureHead
from trialdesk.accounts.services import verify_login_failures
from trialdesk.audit.chain import GENESIS_MAC, ChainVerdict
from trialdesk.audit.keys import KeyRing
from trialdesk.audit.models import AuditChainHead

WRONG = "not-the-password-77"


def _fail(client, n, ip="192.0.2.1"):
    for i in range(n):
        post_login(client, f"user{i}", WRONG, ip=ip)


def _tamper(*statements):
    """Change the table behind the application's back, as someone with the database's
    rights (on PostgreSQL, the owner first switches the guards off)."""
    with connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute("ALTER TABLE accounts_loginfailure DISABLE TRIGGER USER")
            cursor.execute("ALTER TABLE accounts_loginfailurehead DISABLE TRIGGER USER")
        for statement in statements:
            cursor.execute(statement)
        if postgres:
            cursor.execute("ALTER TABLE accounts_loginfailure ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE accounts_loginfailurehead ENABLE TRIGGER USER")


def test_an_empty_chain_verifies(db):
    verdict = verify_login_failures()
    assert isinstance(verdict, ChainVerdict) and verdict.intact and verdict.count == 0
    assert LoginFailureHead.objects.get(pk=1).last_mac == GENESIS_MAC  # from the migration


def test_each_failed_sign_in_is_a_row_linked_to_the_one_before(client, study):
    _fail(client, 3)
    rows = list(LoginFailure.objects.order_by("sequence"))
    assert [r.sequence for r in rows] == [1, 2, 3]
    assert [r.username for r in rows] == ["user0", "user1", "user2"]
    assert {(r.ip, r.reason, r.refusals) for r in rows} == {("192.0.2.1", "credentials", 1)}
    assert rows[0].previous_mac == GENESIS_MAC
    assert [r.previous_mac for r in rows[1:]] == [r.mac for r in rows[:-1]]
    head = LoginFailureHead.objects.get(pk=1)
    assert (head.last_sequence, head.last_mac) == (3, rows[-1].mac)
    verdict = verify_login_failures()
    assert verdict.intact and verdict.count == 3 and verdict.last_sequence == 3


def test_failed_sign_ins_never_move_the_clinical_chain_head(client, study):
    before = AuditChainHead.objects.get(pk=1).last_sequence
    _fail(client, 5)
    assert AuditChainHead.objects.get(pk=1).last_sequence == before


def test_the_model_refuses_to_update_or_delete_a_failure(client, study):
    _fail(client, 1)
    row = LoginFailure.objects.get()
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        LoginFailure.objects.all().update(username="x")
    with pytest.raises(AppendOnlyError):
        LoginFailure.objects.all().delete()


def test_verify_names_a_changed_row(client, study):
    _fail(client, 5)
    _tamper("UPDATE accounts_loginfailure SET username = 'someone.else' WHERE sequence = 3")
    verdict = verify_login_failures()
    assert not verdict.intact and verdict.first_broken_sequence == 3
    assert "does not match its MAC" in verdict.problem


def test_verify_names_a_deleted_row(client, study):
    _fail(client, 5)
    _tamper("DELETE FROM accounts_loginfailure WHERE sequence = 2")
    verdict = verify_login_failures()
    assert not verdict.intact and verdict.first_broken_sequence == 2 and "missing" in verdict.problem


def test_verify_notices_a_cut_off_end(client, study):
    _fail(client, 5)
    _tamper("DELETE FROM accounts_loginfailure WHERE sequence >= 4")
    verdict = verify_login_failures()
    assert not verdict.intact and verdict.first_broken_sequence == 4 and "head records 5" in verdict.problem


def test_verify_notices_an_inserted_row(client, study):
    _fail(client, 3)
    row = LoginFailure.objects.get(sequence=3)
    _tamper(
        "INSERT INTO accounts_loginfailure (sequence, occurred_at, username, ip, reason, refusals, previous_mac, "
        f"key_id, mac) VALUES (4, '2026-01-01 00:00:00', 'forged', '', 'credentials', 1, '{row.mac}', "
        f"'{row.key_id}', '{'f' * 64}')",
        "UPDATE accounts_loginfailurehead SET last_sequence = 4, last_mac = '" + "f" * 64 + "'",
    )
    verdict = verify_login_failures()
    assert not verdict.intact and verdict.first_broken_sequence == 4


def test_verify_notices_reordered_rows(client, study):
    _fail(client, 4)
    _tamper(
        "UPDATE accounts_loginfailure SET sequence = -2 WHERE sequence = 2",
        "UPDATE accounts_loginfailure SET sequence = 2 WHERE sequence = 3",
        "UPDATE accounts_loginfailure SET sequence = 3 WHERE sequence = -2",
    )
    verdict = verify_login_failures()
    assert not verdict.intact and verdict.first_broken_sequence == 2


def test_verify_notices_a_missing_head(client, study):
    _fail(client, 2)
    _tamper("DELETE FROM accounts_loginfailurehead")
    verdict = verify_login_failures()
    assert not verdict.intact and "head records 0" in verdict.problem


def test_verify_with_the_wrong_key_says_wrong_key_not_tampered(client, study):
    _fail(client, 2)
    other = KeyRing.of([b"another-key-of-at-least-thirty-two-characters"], "test")
    verdict = verify_login_failures(other)
    assert not verdict.intact and verdict.wrong_key and verdict.first_broken_sequence == 1


def test_a_rotated_key_ring_still_verifies_the_old_rows(client, study, monkeypatch):
    import os

    _fail(client, 2)
    old = os.environ["TRIALDESK_AUDIT_KEY"].encode()
    new = b"the-next-audit-key-of-at-least-thirty-two-chars"
    ring = KeyRing.of([old, new], "rotated")
    monkeypatch.setattr(failures, "key_ring", lambda: ring)
    _fail(client, 1, ip="192.0.2.2")
    assert LoginFailure.objects.get(sequence=3).key_id == ring.current_id
    assert verify_login_failures(ring).intact


def test_the_mac_covers_every_field_and_differs_from_the_clinical_format():
    row = {
        "sequence": 1, "occurred_at": None, "username": "a", "ip": "", "reason": "credentials",
        "refusals": 1, "previous_mac": GENESIS_MAC, "key_id": "k",
    }
    key = b"k" * 32
    base = failures.failure_mac(row, key)
    for name, value in [("sequence", 2), ("username", "b"), ("ip", "1.2.3.4"), ("reason", "locked"),
                        ("refusals", 2), ("previous_mac", "1" * 64), ("key_id", "j")]:
        assert failures.failure_mac({**row, name: value}, key) != base, name
    assert failures.failure_content(row).startswith(b"trialdesk login failure v1\x00")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounts_loginfailure SET username = 'x' WHERE sequence = 1",
        "DELETE FROM accounts_loginfailure WHERE sequence = 1",
        "TRUNCATE accounts_loginfailure",
        "UPDATE accounts_loginfailurehead SET last_sequence = 0",
        "DELETE FROM accounts_loginfailurehead",
        "TRUNCATE accounts_loginfailurehead",
    ],
)
def test_on_postgresql_the_database_refuses_to_change_the_failures_or_move_their_head_back(client, study, statement):
    if connection.vendor != "postgresql":
        pytest.skip("the triggers exist on PostgreSQL only")
    _fail(client, 2)
    with pytest.raises(DatabaseError, match="append-only|only moves forward"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert verify_login_failures().intact and verify_login_failures().count == 2
