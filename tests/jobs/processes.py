"""A demo trial in a folder of its own and real `trialdesk` processes on it (workers, the
server), for the tests that kill a worker or drive a page while a worker runs the job.

On SQLite the demo's own ./trialdesk.sqlite3; under PostgreSQL (DATABASE_URL set, as
/work/tools/pgtest does) a fresh database of that server, dropped afterwards. Jobs time out
after TIMEOUT seconds and a killed worker's job is taken again after RETRY seconds (the
environment's TRIALDESK_JOB_TIMEOUT and TRIALDESK_JOB_RETRY, read by the settings)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.cli.processes import DEMO_PASSWORD, newcomer_env

REPO = Path(__file__).resolve().parents[2]
TIMEOUT, RETRY = 20, 24


@dataclass
class DemoFolder:
    folder: Path
    env: dict

    def run(self, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def ask(self, username: str, kind: str) -> str:
        result = self.run("-m", "tests.jobs.remote", "ask", username, kind)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    def job(self, job_id: str) -> dict:
        """The job's row, its user's export events and its folder's files, read straight from the
        database (a Django process per look would take seconds on a loaded machine)."""
        columns = (
            "state, attempts, done_count, total_count, result_path, result_sha256, error, user_id, started_at"
        )
        url = self.env.get("DATABASE_URL")
        if url:
            import psycopg

            with psycopg.connect(url) as connection:
                row = connection.execute(
                    f"SELECT {columns} FROM jobs_job WHERE id = %s", (job_id,)
                ).fetchone()
                events = connection.execute(
                    "SELECT new_value FROM audit_auditevent WHERE action = 'export' AND user_id = %s",
                    (row[7],),
                ).fetchall()
                locks = connection.execute("SELECT lock FROM django_q_ormq").fetchall()
        else:
            import sqlite3

            connection = sqlite3.connect(
                f"file:{self.folder / 'trialdesk.sqlite3'}?mode=ro", uri=True, timeout=30
            )
            try:
                row = connection.execute(
                    f"SELECT {columns} FROM jobs_job WHERE id = ?", (uuid.UUID(job_id).hex,)
                ).fetchone()
                events = connection.execute(
                    "SELECT new_value FROM audit_auditevent WHERE action = 'export' AND user_id = ?",
                    (row[7],),
                ).fetchall()
                locks = connection.execute("SELECT lock FROM django_q_ormq").fetchall()
            finally:
                connection.close()
        folder = self.folder / "job-files" / job_id
        return {
            "state": row[0],
            "attempts": row[1],
            "done": row[2],
            "total": row[3],
            "path": row[4],
            "sha256": row[5],
            "started": _moment(row[8]),
            # until when the queue's tasks are held by the worker that took them
            "queue_locks": [_moment(lock) for (lock,) in locks],
            "error": row[6],
            "exports": [value if isinstance(value, dict) else json.loads(value) for (value,) in events],
            "files": sorted(p.name for p in folder.iterdir()) if folder.is_dir() else [],
        }

    def wait_for(self, job_id: str, until, seconds: float, what: str) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            job = self.job(job_id)
            if until(job):
                return job
            assert time.monotonic() < deadline, f"the job is not {what} after {seconds} s: {job}"
            time.sleep(0.2)

    def start(self, *args: str, log: Path) -> subprocess.Popen:
        """A process in its own group (killed with all its children by ``kill``)."""
        with log.open("a") as output:
            return subprocess.Popen(
                [sys.executable, *args],
                cwd=self.folder,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )


def _moment(value):
    """A time read from the database (SQLite gives text)."""
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the process and every process it started (a machine lost, a crash)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def processes_of(folder: Path) -> list[int]:
    """The processes still running with this folder's database (their environment names it)."""
    marker = f"TRIALDESK_JOB_FILES={folder / 'job-files'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@contextmanager
def demo_folder(folder: Path):
    env = newcomer_env(
        {
            "PYTHONPATH": str(REPO),
            "TRIALDESK_JOB_TIMEOUT": str(TIMEOUT),
            "TRIALDESK_JOB_RETRY": str(RETRY),
            "TRIALDESK_JOB_FILES": str(folder / "job-files"),
            "TRIALDESK_REQUIRE_2FA": "0",
        }
    )
    server_url = os.environ.get("DATABASE_URL")
    database = None
    if server_url:
        import psycopg

        database = f"trialdesk_jobs_{uuid.uuid4().hex[:8]}"
        server_url = server_url.rsplit("/", 1)[0] + "/postgres"  # the server's own database
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        env["DATABASE_URL"] = server_url.rsplit("/", 1)[0] + "/" + database
    try:
        built = subprocess.run(
            [sys.executable, "-m", "trialdesk.cli", "demo", "--no-serve", "--password", DEMO_PASSWORD],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        assert built.returncode == 0, built.stderr
        yield DemoFolder(folder, env)
    finally:
        for pid in processes_of(folder):
            os.kill(pid, signal.SIGKILL)
        if database:
            import psycopg

            with psycopg.connect(server_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
