"""`trialdesk worker [--workers N]`: runs the background jobs (long exports) of this database.

The queue is the database itself (django-q2's ORM broker): no other server. Start as many
workers as wanted, on this machine or others that reach the same database (PostgreSQL) and
the same job-files folder (TRIALDESK_JOB_FILES). `trialdesk serve` starts one itself.

A worker stopped by SIGTERM or Ctrl+C finishes the jobs it is running, then exits 0. A worker
killed outright (SIGKILL, a crash, a machine lost) leaves its job unacknowledged: any worker
takes it again after TRIALDESK_JOB_RETRY seconds and the job starts again from scratch (its
partial file, under a temporary name, is never delivered).

Exit codes (DESIGN §6): 0 stopped; 3 bad input (no database with trialdesk's tables, no audit key).
"""

from __future__ import annotations

import os
import sys

from trialdesk.cli.errors import UserError

BAD_INPUT = 3


def register(subparsers) -> None:
    worker = subparsers.add_parser(
        "worker",
        help="run the background jobs (long exports) of the database",
        description="Run the background jobs of this folder's database (./trialdesk.sqlite3, or DATABASE_URL): "
        "the exports users ask for on the web pages. The queue is the database itself.",
        epilog="Stops on SIGTERM or Ctrl+C once its running jobs are finished. A killed worker's job is taken "
        "again by a worker after TRIALDESK_JOB_RETRY seconds and restarts from scratch.",
    )
    worker.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="jobs run at once by this worker (default: TRIALDESK_JOB_WORKERS, else 2)",
    )
    worker.set_defaults(handler=run_worker)


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _check_database() -> None:
    from django.db import connection

    from trialdesk.cli.app import describe_database
    from trialdesk.jobs.models import Job

    tables = set(connection.introspection.table_names())
    if Job._meta.db_table not in tables or "django_q_ormq" not in tables:
        raise UserError(
            f"no trialdesk database in {describe_database()} (its tables of jobs are missing): run `trialdesk demo` "
            "here first, or `trialdesk manage migrate`, or set DATABASE_URL.",
            BAD_INPUT,
        )


def run_worker(args) -> int:
    if args.workers is not None:
        os.environ["TRIALDESK_JOB_WORKERS"] = str(args.workers)  # read by the settings (Q_CLUSTER)
    from trialdesk.cli.app import _require_audit_key, describe_database, setup_django

    try:
        _require_audit_key("run the background jobs")  # the exports they write are audited
    except UserError as exc:
        raise UserError(str(exc), BAD_INPUT) from None
    try:
        setup_django()
    except UserError as exc:
        raise UserError(str(exc), BAD_INPUT) from None
    _check_database()
    from django.conf import settings
    from django.db import connections

    connections.close_all()  # the cluster's processes open their own
    from django_q.cluster import Cluster

    config = settings.Q_CLUSTER
    print(
        f"trialdesk worker: running the background jobs of {describe_database()}, {config['workers']} at a time "
        f"(a killed worker's job is taken again after {config['retry']} s). Ctrl+C or SIGTERM to stop.",
        flush=True,
    )
    cluster = Cluster()
    cluster.start()
    sentinel = cluster.sentinel
    while sentinel is not None and sentinel.is_alive():
        sentinel.join(1)  # a SIGTERM or Ctrl+C runs the cluster's handler, which stops it
    print("trialdesk worker: stopped.", file=sys.stderr, flush=True)
    return 0
