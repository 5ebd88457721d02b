"""The production server of `trialdesk serve` and `trialdesk demo`: gunicorn, run from Python.

- threaded workers (gthread): a request holds a thread, not a process; the worker's main
  loop keeps beating while its threads work, so a long streamed response (the CSV of the
  whole audit trail) is never cut by the worker timeout, which only catches a worker whose
  loop is stuck;
- the application is loaded once in the master before the workers fork (configuration
  errors show once, at start), with the master's database connections closed first;
- the access log (combined log format) to stdout, the error log to stderr;
- SIGTERM (or Ctrl+C) stops gracefully: the workers finish their requests (up to
  GRACEFUL_TIMEOUT seconds) and the process exits 0;
- beside gunicorn, a `trialdesk worker` process runs the background jobs (long exports),
  started before the server and stopped after it: SIGTERM, then, if its running jobs are not
  done within GRACEFUL_TIMEOUT seconds, killed with its processes (the queue gives those jobs
  to the next worker, which restarts them from scratch). ``jobs=False`` leaves it out (a
  deployment that runs its workers elsewhere).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from gunicorn.app.base import BaseApplication

THREADS_PER_WORKER = 4
WORKER_TIMEOUT = 120  # seconds without a heartbeat from a worker's main loop
GRACEFUL_TIMEOUT = 30  # seconds given to running requests on SIGTERM
KEEPALIVE = 5
# The Apache/NCSA combined log format, with the request time in microseconds.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'


class TrialdeskServer(BaseApplication):
    """gunicorn with its options from here, not from the command line or a config file."""

    def __init__(self, application, options: dict):
        self.application = application
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        return self.application


def options(host: str, port: int, workers: int) -> dict:
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [address],
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "keepalive": KEEPALIVE,
        "preload_app": True,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "access_log_format": ACCESS_LOG_FORMAT,
        "proc_name": "trialdesk",
    }


def start_job_worker() -> subprocess.Popen:
    """`trialdesk worker` in its own process group (Ctrl+C reaches the server, which stops it),
    with this process's environment (the database, the keys)."""
    return subprocess.Popen(
        [sys.executable, "-m", "trialdesk.cli", "worker"], stdin=subprocess.DEVNULL, start_new_session=True
    )


def stop_job_worker(worker: subprocess.Popen, grace: float = GRACEFUL_TIMEOUT) -> None:
    """SIGTERM (its running jobs finish), then SIGKILL to its whole group after ``grace`` seconds."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(worker.pid, signal.SIGKILL)  # what is left of its processes, if anything
    except (ProcessLookupError, PermissionError):
        pass
    worker.wait()


def serve(host: str, port: int, workers: int, jobs: bool = True) -> int:
    """Serve the configured Django project until SIGTERM or Ctrl+C; the exit code."""
    from django.db import connections

    from trialdesk.web.wsgi import application

    connections.close_all()  # the workers open their own; a connection must not cross a fork
    worker = start_job_worker() if jobs else None
    try:
        TrialdeskServer(application, options(host, port, workers)).run()
    except SystemExit as stop:  # gunicorn's arbiter ends with sys.exit(status)
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        if worker is not None:
            stop_job_worker(worker)
    return 0
