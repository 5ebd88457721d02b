"""Real workers on a real database (the demo's, in a folder of its own): a worker killed
outright mid-export (SIGKILL to it and its processes) leaves its job to the next worker, which
restarts it from scratch after the queue's retry delay and delivers a whole, correct file; the
worker `trialdesk serve` starts runs jobs too, and stops with the server."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time

import pytest
from lxml import etree
from tests.cli.processes import free_port, trialdesk, wait_until_served
from tests.exchange.conftest import NS
from tests.jobs.processes import RETRY, TIMEOUT, demo_folder, kill, processes_of

# run on PostgreSQL too (/work/tools/pgtest, dev.py's second pass): the ORM broker's locking
pytestmark = pytest.mark.db

DEMO_SUBJECTS = 24  # the demo's simulated cohort (seed 2012)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with demo_folder(tmp_path_factory.mktemp("jobs-demo")) as world:
        yield world


def test_a_job_whose_worker_is_killed_mid_export_is_restarted_by_another_and_delivered_whole(demo, tmp_path):
    log = tmp_path / "workers.log"
    first = demo.start("-m", "tests.jobs.slow_worker", "0.25", "--workers", "1", log=log)
    try:
        job_id = demo.ask("datamanager", "odm")
        caught = demo.wait_for(job_id, lambda j: j["state"] == "running" and 3 <= j["done"], 60, "half-way")
        kill(first)  # SIGKILL: the task is never acknowledged
    finally:
        kill(first)
    assert caught["done"] < caught["total"] == DEMO_SUBJECTS, caught
    left = demo.job(job_id)
    assert (
        left["state"] == "running" and left["attempts"] == 1 and left["path"] == "" and left["exports"] == []
    )
    assert all(name.endswith(".partial") for name in left["files"]), left  # only the temporary file

    second = demo.start("-m", "tests.jobs.slow_worker", "0.05", "--workers", "1", log=log)
    try:
        done = demo.wait_for(
            job_id, lambda j: j["state"] in ("done", "failed"), RETRY + TIMEOUT + 60, "finished"
        )
    finally:
        second.send_signal(signal.SIGTERM)
        stopped = second.wait(timeout=30)
    assert done["state"] == "done", (done, log.read_text()[-3000:])
    assert done["attempts"] == 2 and done["done"] == done["total"] == DEMO_SUBJECTS
    # taken again only once the queue's hold on the task (RETRY seconds from when it was taken) ran out
    (held_until,) = caught["queue_locks"]
    assert done["started"] >= held_until and (held_until - caught["started"]).total_seconds() <= RETRY, (
        caught,
        done,
    )
    assert done["files"] == [done["path"].rsplit("/", 1)[1]]  # the file, no partial one beside it
    body = open(done["path"], "rb").read()
    assert hashlib.sha256(body).hexdigest() == done["sha256"]
    assert len(etree.fromstring(body).findall(".//odm:SubjectData", NS)) == DEMO_SUBJECTS
    (export,) = done["exports"]  # the killed attempt recorded no export; the second one did
    assert export["sha256"] == done["sha256"] and export["subjects"] == DEMO_SUBJECTS
    assert stopped == 0 and "Traceback" not in log.read_text()


def test_the_worker_serve_starts_runs_jobs_and_stops_with_the_server(demo, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    server = demo.start("-m", "trialdesk.cli", "serve", "--port", str(port), "--workers", "1", log=log)
    try:
        wait_until_served(server, f"http://127.0.0.1:{port}/accounts/login/")
        job_id = demo.ask("statistician", "csv")
        done = demo.wait_for(job_id, lambda j: j["state"] in ("done", "failed"), 90, "finished")
        assert len(processes_of(demo.folder)) > 2  # gunicorn's master and worker, the job worker's processes
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    finally:
        kill(server)
    assert done["state"] == "done" and done["path"].endswith("_csv.zip"), (done, log.read_text()[-3000:])
    assert code == 0, log.read_text()[-3000:]
    deadline = time.monotonic() + 10
    while processes_of(demo.folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_of(demo.folder) == []  # the job worker stopped with the server
    assert "running the background jobs" in log.read_text()


def test_serve_without_its_worker_leaves_the_jobs_to_trialdesk_worker(demo, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    server = demo.start(
        "-m", "trialdesk.cli", "serve", "--port", str(port), "--workers", "1", "--no-worker", log=log
    )
    try:
        wait_until_served(server, f"http://127.0.0.1:{port}/accounts/login/")
        job_id = demo.ask("datamanager", "odm")
        time.sleep(3)
        assert demo.job(job_id)["state"] == "queued"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        kill(server)
    assert "running the background jobs" not in log.read_text()


def test_the_worker_refuses_a_folder_without_a_trial_in_one_line(tmp_path):
    result = trialdesk(
        "worker", cwd=tmp_path, env={"TRIALDESK_AUDIT_KEY": "k" * 40, "TRIALDESK_SECRET_KEY": "s" * 40}
    )
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "no trialdesk database" in result.stderr and "trialdesk demo" in result.stderr


def test_the_worker_refuses_to_start_without_an_audit_key(tmp_path):
    result = trialdesk("worker", cwd=tmp_path, env={"TRIALDESK_SECRET_KEY": "s" * 40})
    assert result.returncode == 3 and "audit key" in result.stderr and "Traceback" not in result.stderr


def test_the_worker_refuses_a_bad_number_of_workers_naming_it(tmp_path):
    result = trialdesk("worker", "--workers", "0", cwd=tmp_path)
    assert result.returncode == 2 and "--workers" in result.stderr


def test_the_settings_refuse_a_retry_not_longer_than_the_timeout(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import trialdesk.web.settings"],
        env={
            "TRIALDESK_SECRET_KEY": "s" * 40,
            "TRIALDESK_JOB_TIMEOUT": "60",
            "TRIALDESK_JOB_RETRY": "60",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert (
        result.returncode != 0
        and "TRIALDESK_JOB_RETRY (60 s) must be longer than TRIALDESK_JOB_TIMEOUT" in result.stderr
    )
