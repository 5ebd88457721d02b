"""Speed of the pages that count a whole study: the study home (sites with screened, enrolled,
screen failures, open queries, SDV %) and the SDV progress page, as the data manager.

Loads a study of N subjects on a fresh SQLite file with a bulk loader (subjects, visits,
complete form records with realistic data, SDV marks), then times each page through the
Django test client (best of three) against an anchor measured in the same run on the same
file: plain sqlite3 reading every complete record's id and data (``SELECT id, data FROM
crf_formrecord WHERE status = 'complete'``, fetched), the least a page that decoded the
records would do; a bare ``SELECT COUNT(*)`` of the records is printed beside it.

    .venv/bin/python bench/bench_pages.py [--subjects 2000 20000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

NCT = "NCT00724360"


def _value(field, rng: random.Random):
    """A plausible value of a protocol field (some left empty, as on real forms)."""
    if not field.required and rng.random() < 0.15:
        return None
    if field.type == "choice":
        return rng.choice(field.choice_values)
    if field.type == "boolean":
        return rng.random() < 0.3
    if field.type == "date":
        return (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(300))).isoformat()
    if field.type in ("integer", "decimal"):
        low = field.min if field.min is not None else 0
        high = field.max if field.max is not None else 100
        number = low + (high - low) * rng.random()
        return int(number) if field.type == "integer" else round(number, 1)
    return "bench"[: field.max_length or 5]


def bulk_load(study, subjects: int, monitor, seed: int = 7) -> dict[str, int]:
    """Subjects, visits, complete form records and SDV marks of a study, by bulk_create.

    BENCHMARK ONLY: this bypasses the audited services (no audit events, no edit checks,
    no queries, no signatures) to build a large study in seconds. Never use it on a
    database that matters.
    """
    from trialdesk.crf.models import FormRecord, FormStatus
    from trialdesk.queries.models import SourceVerification
    from trialdesk.subjects.models import Subject, SubjectStatus, Visit

    rng = random.Random(seed)
    protocol = study.protocol
    forms = {form.code: form for form in protocol.forms}
    sites = list(study.sites.order_by("code"))
    has_filled = any(f.name == "filled_fields" for f in FormRecord._meta.concrete_fields)
    now = dt.datetime.now(dt.UTC)
    batch = 2000
    counts = {"subjects": 0, "visits": 0, "records": 0, "marks": 0}
    for start in range(0, subjects, batch):
        rows = []
        for n in range(start, min(start + batch, subjects)):
            site = sites[n % len(sites)]
            draw = rng.random()
            status = (SubjectStatus.ENROLLED if draw < 0.7 else
                      SubjectStatus.SCREEN_FAILED if draw < 0.9 else SubjectStatus.SCREENING)
            enrolled = status == SubjectStatus.ENROLLED
            rows.append(Subject(
                study=study, site=site, screening_number=f"{site.code}-S{n:05d}",
                subject_code=f"{site.code}-{n:05d}" if enrolled else None, status=status,
                sex=rng.choice("MF"), year_of_birth=rng.randrange(1940, 2005),
                screened_on=dt.date(2026, 1, 1) + dt.timedelta(days=n % 300),
                enrolled_on=dt.date(2026, 2, 1) if enrolled else None,
            ))
        made = Subject.objects.bulk_create(rows)
        visits = []
        for subject in made:
            plan = [("SCR", "Screening", 0, ["screening", "marrow_assessment", "lvef"])]
            if subject.status == SubjectStatus.ENROLLED:
                plan += [("D1", "Day 1", 1, ["baseline"]), ("M1", "Month 1", 2, ["marrow_assessment"]),
                         ("C1", "Cycle 1", 3, ["lvef"]), ("M2", "Month 2", 4, ["marrow_assessment"])]
            for code, title, sequence, visit_forms in plan:
                visit = Visit(subject=subject, code=code, title=title, sequence=sequence,
                              actual_date=dt.date(2026, 1, 1) + dt.timedelta(days=30 * sequence))
                visit.bench_forms = visit_forms
                visits.append(visit)
        Visit.objects.bulk_create(visits)
        records = []
        for visit in visits:
            for form_code in visit.bench_forms:
                data = {field.code: _value(field, rng) for field in forms[form_code].fields}
                record = FormRecord(subject=visit.subject, visit=visit, form_code=form_code, data=data,
                                    status=FormStatus.COMPLETE, first_completed_at=now)
                if has_filled:
                    record.filled_fields = sum(1 for v in data.values() if v not in (None, ""))
                records.append(record)
        for subject in made:
            if subject.status == SubjectStatus.ENROLLED:
                for repeat in (1, 2, 3):
                    data = {field.code: _value(field, rng) for field in forms["infusion"].fields}
                    record = FormRecord(subject=subject, form_code="infusion", repeat=repeat, data=data,
                                        status=FormStatus.COMPLETE if repeat < 3 else FormStatus.INCOMPLETE,
                                        first_completed_at=now)
                    if has_filled:
                        record.filled_fields = sum(1 for v in data.values() if v not in (None, ""))
                    records.append(record)
        FormRecord.objects.bulk_create(records)
        marks = []
        for record in records:
            draw = rng.random()
            if draw < 0.4:
                marks.append(SourceVerification(record=record, field_code="", record_version=1, verified_by=monitor,
                                                verified_role="monitor", verified_at=now))
            elif draw < 0.6:
                for code in rng.sample(list(record.data), k=min(3, len(record.data))):
                    marks.append(SourceVerification(record=record, field_code=code, record_version=1,
                                                    verified_by=monitor, verified_role="monitor", verified_at=now))
        SourceVerification.objects.bulk_create(marks)
        counts["subjects"] += len(made)
        counts["visits"] += len(visits)
        counts["records"] += len(records)
        counts["marks"] += len(marks)
    return counts


def best_of(times: int, work) -> float:
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def run(subjects: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client

    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.models import Membership, Role
    from trialdesk.studies.services import install_study

    path = Path(connection.settings_dict["NAME"])
    connections.close_all()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    study = install_study(default_protocol_path())
    users = get_user_model().objects
    manager = users.create_user("datamanager", password="bench-password-123")
    monitor = users.create_user("monitor", password="bench-password-123")
    Membership.objects.create(user=manager, study=study, role=Role.DATA_MANAGER)
    Membership.objects.create(user=monitor, study=study, role=Role.MONITOR)
    started = time.perf_counter()
    counts = bulk_load(study, subjects, monitor)
    load = time.perf_counter() - started

    def anchor_rows():
        db = sqlite3.connect(path)
        db.execute("select id, data from crf_formrecord where status = 'complete'").fetchall()
        db.close()

    def anchor_count():
        db = sqlite3.connect(path)
        db.execute("select count(*) from crf_formrecord").fetchone()
        db.close()

    anchor = best_of(3, anchor_rows)
    count = best_of(3, anchor_count)
    client = Client()
    client.force_login(manager)
    pages = {"home": f"/studies/{NCT}/", "SDV progress": f"/studies/{NCT}/queries/sdv/"}
    print(f"{counts['subjects']} subjects, {counts['visits']} visits, {counts['records']} form records, "
          f"{counts['marks']} SDV marks (bulk load {load:.1f} s)")
    print(f"  anchor: sqlite3 reading every complete record's data   {anchor * 1000:8.1f} ms")
    print(f"  (a bare SELECT COUNT(*) of the records                  {count * 1000:8.1f} ms)")
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        statements = []
        # (the test client's request_started resets connection.queries: count with a wrapper)
        with connection.execute_wrapper(lambda execute, sql, *a, seen=statements: seen.append(sql) or execute(sql, *a)):
            client.get(url)
        elapsed = best_of(3, lambda url=url: client.get(url))
        print(f"  {name:<14} {elapsed * 1000:8.1f} ms   ratio {elapsed / anchor:6.2f}"
              f"   {len(statements)} SQL statements")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trialdesk-bench-"))
    os.environ["TRIALDESK_DB"] = str(folder / "bench.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "trialdesk.web.settings"
    os.environ.setdefault("TRIALDESK_AUDIT_KEY", "bench-audit-key-not-for-production-0123456789")
    os.environ.setdefault("TRIALDESK_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("TRIALDESK_REQUIRE_2FA", "0")
    import django

    django.setup()
    for subjects in args.subjects:
        run(subjects)
    return 0


if __name__ == "__main__":
    sys.exit(main())
