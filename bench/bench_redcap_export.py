"""Records export of a large simulated study through the REDCap-compatible API (issue 14).

    .venv/bin/python bench/bench_redcap_export.py [--sizes 1000 10000] [--format json]

The study: the demo trial (the seeded simulated cohort, written through the audited
services) on a fresh SQLite file, its subjects then copied under fresh codes (their visits
and form records with them, bulk-inserted) up to each size. The server is ``trialdesk
serve`` (gunicorn, one worker) on that file; the client posts ``content=record`` with a data
manager's token, as PyCap does, and reads the streamed answer.

For each size it prints the subjects, form records, rows and MB received, the seconds, the
server worker's peak resident memory (VmHWM) and, as the anchor measured in the same run,
the seconds plain sqlite3 takes to read the same records' JSON: the ratio is the cost of the
API (scope, flattening, serialising, HTTP) over the bare read. A streaming export keeps the
peak about flat from the smallest size to the largest. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def grow_to(size: int) -> None:
    """Copy the demo's subjects (with their visits and form records) until there are ``size``."""
    from django.db import transaction

    from trialdesk.crf.models import FormRecord
    from trialdesk.subjects.models import Subject, Visit

    why = "benchmark: copies the demo's subjects"
    model = list(Subject.objects.system(why).filter(rescreen_of__isnull=True).order_by("pk"))
    visits_of = {s.pk: list(Visit.objects.system(why).filter(subject=s).order_by("sequence")) for s in model}
    records_of = {s.pk: list(FormRecord.objects.system(why).filter(subject=s)) for s in model}
    count = Subject.objects.system(why).count()
    while count < size:
        batch = min(500, size - count)
        with transaction.atomic():
            originals = [model[(count + i) % len(model)] for i in range(batch)]
            copies = []
            for i, original in enumerate(originals):
                number = count + i + 1
                copy = Subject(
                    **{f.attname: getattr(original, f.attname) for f in Subject._meta.concrete_fields}
                )
                copy.pk = None
                copy.rescreen_of_id = None
                copy.screening_number = f"{original.site.code}-B{number:06d}"
                copy.subject_code = f"{original.site.code}-{number:06d}" if original.subject_code else None
                copies.append(copy)
            Subject.objects.bulk_create(copies)
            copies = list(
                Subject.objects.system(why).filter(screening_number__in=[c.screening_number for c in copies])
            )
            by_number = {c.screening_number: c for c in copies}
            new_visits, new_records, visit_keys = [], [], []
            for i, original in enumerate(originals):
                copy = by_number[f"{original.site.code}-B{count + i + 1:06d}"]
                for visit in visits_of[original.pk]:
                    clone = Visit(
                        **{f.attname: getattr(visit, f.attname) for f in Visit._meta.concrete_fields}
                    )
                    clone.pk, clone.subject_id = None, copy.pk
                    new_visits.append(clone)
                    visit_keys.append((copy.pk, visit.pk))
            Visit.objects.bulk_create(new_visits)
            visit_of = {}
            made = (
                Visit.objects.system(why).filter(subject__in=copies).values_list("pk", "subject_id", "code")
            )
            code_of = {(subject_id, code): pk for pk, subject_id, code in made}
            for i, original in enumerate(originals):
                copy = by_number[f"{original.site.code}-B{count + i + 1:06d}"]
                for visit in visits_of[original.pk]:
                    visit_of[(copy.pk, visit.pk)] = code_of[(copy.pk, visit.code)]
                for record in records_of[original.pk]:
                    clone = FormRecord(
                        **{f.attname: getattr(record, f.attname) for f in FormRecord._meta.concrete_fields}
                    )
                    clone.pk, clone.subject_id = None, copy.pk
                    clone.visit_id = visit_of[(copy.pk, record.visit_id)] if record.visit_id else None
                    new_records.append(clone)
            FormRecord.objects.bulk_create(new_records, batch_size=2000)
        count += batch


def anchor_seconds(db_path: Path) -> tuple[float, int]:
    db = sqlite3.connect(db_path)
    started = time.perf_counter()
    rows = 0
    for (data,) in db.execute("select data from crf_formrecord where voided_at is null order by subject_id"):
        json.loads(data)
        rows += 1
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed, rows


def peak_rss_mb(server: subprocess.Popen) -> float:
    """The largest VmHWM among the server's processes (the gunicorn worker serves)."""
    pids = [server.pid]
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    peaks = []
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    return max(peaks) if peaks else float("nan")


def export_through_the_api(env: dict, token: str, file_format: str) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/trialdesk"), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/redcap/api/"
        for _ in range(300):
            try:
                requests.post(url, data={"token": token, "content": "version"}, timeout=30)
                break
            except requests.RequestException:
                time.sleep(0.5)
        before = peak_rss_mb(server)
        started = time.perf_counter()
        received = rows = 0
        with requests.post(
            url, data={"token": token, "content": "record", "format": file_format}, stream=True, timeout=3600
        ) as answer:
            answer.raise_for_status()
            for chunk in answer.iter_content(chunk_size=1 << 16):
                received += len(chunk)
                rows += chunk.count(b'{"record_id"') if file_format == "json" else chunk.count(b"\n")
        elapsed = time.perf_counter() - started
        return {
            "seconds": elapsed,
            "mb": received / 1e6,
            "rows": rows,
            "idle_mb": before,
            "peak_mb": peak_rss_mb(server),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--format", choices=["json", "csv"], default="json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trialdesk-bench-redcap-"))
    env = dict(os.environ)
    env.update(
        TRIALDESK_DB=str(folder / "bench.sqlite3"),
        DJANGO_SETTINGS_MODULE="trialdesk.web.settings",
        TRIALDESK_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",  # the demo's SAE mail
        TRIALDESK_AUDIT_KEY=env.get("TRIALDESK_AUDIT_KEY", "bench-audit-key-not-for-production-0123456789"),
        TRIALDESK_SECRET_KEY=env.get(
            "TRIALDESK_SECRET_KEY", "bench-secret-key-not-for-production-0123456789"
        ),
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from trialdesk.api.tokens import create_token
    from trialdesk.crf.models import FormRecord
    from trialdesk.demo.builder import build_demo
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.models import Study
    from trialdesk.subjects.models import Subject

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    build_demo(default_protocol_path(), password="bench-password-123", seed=2012, today=dt.date.today())
    print(f"demo built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    study = Study.objects.get()
    token = create_token(get_user_model().objects.get(username="datamanager"), study).raw
    print("subjects  records    rows      MB   seconds  rows/s  server peak MB  anchor s  ratio")
    peaks = []
    for size in sorted(args.sizes):
        grow_to(size)
        subjects = Subject.objects.system("benchmark").count()
        records = FormRecord.objects.system("benchmark").count()
        anchor, _ = anchor_seconds(Path(env["TRIALDESK_DB"]))
        result = export_through_the_api(env, token, args.format)
        peaks.append(result["peak_mb"])
        print(
            f"{subjects:8d} {records:8d} {result['rows']:7d} {result['mb']:7.1f} {result['seconds']:9.1f}"
            f" {result['rows'] / result['seconds']:7.0f} {result['peak_mb']:15.0f} {anchor:9.2f}"
            f" {result['seconds'] / anchor:6.1f}"
        )
    if len(peaks) > 1:
        print(
            f"server peak memory, largest size over smallest: {peaks[-1] / peaks[0]:.2f} (flat reads about 1)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
