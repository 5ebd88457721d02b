"""Failed sign-ins from several connections at once: each gets its own place in their chain,
and none waits for the clinical trail's head lock (PostgreSQL, real commits)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from trialdesk.accounts import failures
from trialdesk.accounts.models import LoginFailure
from trialdesk.accounts.services import verify_login_failures
from trialdesk.audit.models import AuditChainHead
from trialdesk.audit.services import verify

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(work, count):
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index):
        try:
            barrier.wait(timeout=10)
            work(index)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_simultaneous_failures_from_many_addresses_are_all_chained(committed_db):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers at BEGIN (and its in-memory test database refuses threads)")
    def fail_ten_times(index):
        for n in range(10):
            failures.record_failure(f"user{index}.{n}", f"192.0.2.{index + 1}", LoginFailure.Reason.CREDENTIALS)

    assert _in_threads(fail_ten_times, 6) == []
    assert sorted(LoginFailure.objects.values_list("sequence", flat=True)) == list(range(1, 61))
    verdict = verify_login_failures()
    assert verdict.intact and verdict.count == 60


def test_a_failed_sign_in_does_not_wait_for_the_clinical_trails_lock(committed_db):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every writer of the file: only PostgreSQL has row locks")
    held = threading.Event()
    release = threading.Event()
    took: list[float] = []

    def hold_the_clinical_head():
        with transaction.atomic():
            AuditChainHead.objects.select_for_update().get(pk=1)
            held.set()
            release.wait(timeout=20)
        connections.close_all()

    holder = threading.Thread(target=hold_the_clinical_head)
    holder.start()
    try:
        assert held.wait(timeout=10)

        def fail_once():
            start = time.monotonic()
            failures.record_failure("someone", "198.51.100.7", LoginFailure.Reason.CREDENTIALS)
            took.append(time.monotonic() - start)
            connections.close_all()

        failer = threading.Thread(target=fail_once)
        failer.start()
        failer.join(timeout=10)
        assert took and took[0] < 5  # done while the clinical head is still locked
    finally:
        release.set()
        holder.join(timeout=20)
    assert verify_login_failures().intact and verify().intact
