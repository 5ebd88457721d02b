"""Speed of the write path: one form save = validation + version check + one audit event per
changed field, hash-chained, in one transaction.

What one correction of a marrow (this bench's save) does now, in 12 statements: before the
transaction, the permission (the user's access, read once per request), the protocol's checks
on the typed values (the parsed protocol is cached per study version); then BEGIN, the
subject's row locked (with its site and study joined, to see their locks), the record being
saved (locked), one read of the casebook's records that the save's readers declared (the death
rules' forms and, for a marrow, the course of disease's: ``crf.savereads``), the UPDATE, and
the subscribers on what was read: the valid signatures over the record, its queries and its
SDV marks, the course of disease re-derived in memory (confirmations and the discordance
queries read only when an assessment is there to compare: all this bench's marrows have one
date, so none is); then the trail: its head locked, one INSERT of the events (their rows sent
together), the head moved, COMMIT. Every statement a save sends is compiled once per process
(``studies.scoping.prepared_rows`` and ``saved_fields``, the trail's in ``audit.services``),
not by the ORM at each save.
Before issue 7's last item: 15 statements, the ORM compiling each, 11.4 ms a save, ratio 10.5.
Session 6, the same day on this machine: 3.5 to 5.2 ms a save, ratio 4.1 to 5.0, with the
ORM compiling the subject's lock, the UPDATE and the INSERT; 2.4 to 3.9 ms, ratio 2.6 to 4.0,
with all three written once (eight runs).

Prints saves per second through ``crf.services.save_form`` on a fresh SQLite file, against an
anchor measured on the same disk in the same run: plain sqlite3 committing one transaction of
the same number of rows (the record and its audit rows) per save. The ratio is the cost of
validation, permissions, locks and hashing over the bare writes. Each side is the best of
three runs (the disk's fsync time swings by a factor of two from one run to the next).

    .venv/bin/python bench/bench_form_save.py [--saves N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path


def anchor_seconds(path: Path, saves: int, rows_per_save: int, payload: dict, pragmas: str = "") -> float:
    db = sqlite3.connect(path, isolation_level=None)
    if pragmas:
        db.executescript(pragmas)
    db.execute("create table t (id integer primary key, data text)")
    text = json.dumps(payload)
    started = time.perf_counter()
    for _ in range(saves):
        db.execute("begin immediate")
        for _ in range(rows_per_save):
            db.execute("insert into t (data) values (?)", (text,))
        db.execute("commit")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trialdesk-bench-"))
    os.environ["TRIALDESK_DB"] = str(folder / "bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "trialdesk.web.settings"
    os.environ.setdefault("TRIALDESK_AUDIT_KEY", "bench-audit-key-not-for-production-0123456789")
    os.environ.setdefault("TRIALDESK_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from trialdesk.audit.models import AuditEvent
    from trialdesk.audit.services import verify
    from trialdesk.crf.services import save_form
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.models import Membership, Role
    from trialdesk.studies.services import install_study
    from trialdesk.subjects.models import Subject, SubjectStatus, Visit

    call_command("migrate", verbosity=0)
    study = install_study(default_protocol_path())
    site = study.sites.get(code="NTE")
    user = get_user_model().objects.create_user("bench", password="bench-password-123")
    Membership.objects.create(user=user, study=study, role=Role.INVESTIGATOR, site=site)
    subject = Subject.objects.create(
        study=study,
        site=site,
        screening_number="NTE-S01",
        subject_code="NTE-001",
        status=SubjectStatus.ENROLLED,
        screened_on=dt.date(2026, 1, 1),
    )
    visits = [
        Visit.objects.create(subject=subject, code=f"M{n}", title=f"Month {n}", sequence=n)
        for n in range(1, 13)
    ]
    data = {
        "assessment_date": "2026-02-01",
        "marrow_blasts_pct": 40.0,
        "circulating_blasts_present": False,
        "anc": 0.8,
        "platelets": 40.0,
        "extramedullary_disease": False,
        "her2_positive_blasts_pct": 35.0,
        "karyotype_done": False,
        "investigator_response": "NR",
    }

    # A server parses the protocol once, at its first request: one save before the clock starts
    # (of another subject) keeps that one-off parse out of the per-save cost.
    other = Subject.objects.create(
        study=study,
        site=site,
        screening_number="NTE-S02",
        subject_code="NTE-002",
        status=SubjectStatus.ENROLLED,
        screened_on=dt.date(2026, 1, 1),
    )
    warm_up = Visit.objects.create(subject=other, code="M1", title="Month 1", sequence=1)
    save_form(user, other, "marrow_assessment", data, visit=warm_up)
    before = AuditEvent.objects.count()
    # The version each save expects is the one the previous save of that record returned, as a
    # form page holds it from its load: the clock times the saves, not a read of the bench's own.
    versions: dict[int, int] = {}

    def timed_saves(first: int) -> float:
        started = time.perf_counter()
        for n in range(first, first + args.saves):  # each save of a record changes its value
            visit = visits[n % len(visits)]
            changed = dict(data, marrow_blasts_pct=float(30 + n % 50))
            outcome = save_form(
                user,
                subject,
                "marrow_assessment",
                changed,
                visit=visit,
                expected_version=versions.get(visit.pk),
                reason="late_result",
                reason_detail="bench",
            )
            versions[visit.pk] = outcome.record.version
        return time.perf_counter() - started

    # Like the anchors below, the best of three runs: the disk's fsync time varies with whatever
    # else runs, and a ratio of one side's best to the other's typical run says nothing.
    runs = [timed_saves(k * args.saves) for k in range(3)]
    elapsed = min(runs)
    events = (AuditEvent.objects.count() - before) // len(runs)
    rows_per_save = max(1, round(events / args.saves)) + 1
    # The disk's fsync time varies with whatever else runs: each anchor is the best of three runs.
    # Two anchors: sqlite3 as it comes (rollback journal, the anchor of earlier measurements),
    # and with the application's own pragmas (WAL, synchronous=FULL: one fsync per commit).
    from trialdesk.web.settings import SQLITE_PRAGMAS

    SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; " + SQLITE_PRAGMAS  # noqa: N806 (WAL is set at migrate)

    anchor = min(
        anchor_seconds(folder / f"anchor{i}.sqlite3", args.saves, rows_per_save, data) for i in range(3)
    )
    anchor_wal = min(
        anchor_seconds(folder / f"wal{i}.sqlite3", args.saves, rows_per_save, data, SQLITE_PRAGMAS)
        for i in range(3)
    )
    assert verify().intact

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    record = visits[0].form_records.filter(form_code="marrow_assessment").first()
    with CaptureQueriesContext(connection) as captured:
        save_form(
            user,
            subject,
            "marrow_assessment",
            dict(data, marrow_blasts_pct=99.0),
            visit=visits[0],
            expected_version=record.version,
            reason="late_result",
            reason_detail="bench",
        )
    statements = len(captured.captured_queries)

    print(f"{args.saves} form saves through save_form, {events} audit events written")
    print(f"  anchor: sqlite3, {args.saves} transactions of {rows_per_save} rows   {anchor * 1000:8.1f} ms")
    print(f"  anchor: the same with the application's pragmas  {anchor_wal * 1000:8.1f} ms")
    print(
        f"  save_form                                          {elapsed * 1000:8.1f} ms"
        f"   {args.saves / elapsed:7.0f} saves/s   ratio {elapsed / anchor:6.1f}"
        f"   (to the second anchor {elapsed / anchor_wal:6.1f})"
    )
    print(
        "  save_form, the three runs                         "
        + "  ".join(f"{r * 1000:.1f}" for r in runs)
        + " ms"
    )
    print(f"  SQL statements of one correction (whatever its number of fields): {statements}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
