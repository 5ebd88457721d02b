"""Running `trialdesk` as a newcomer does: a real process, in its own folder, with none of the
suite's variables (no database, no audit key, no secret key: the demo brings its own)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DEMO_PASSWORD = "demo-password-2012"
SUITE_VARIABLES = (
    "DATABASE_URL", "TRIALDESK_DB", "DJANGO_SETTINGS_MODULE", "TRIALDESK_AUDIT_KEY", "TRIALDESK_AUDIT_KEY_FILE",
    "TRIALDESK_SECRET_KEY", "TRIALDESK_REQUIRE_2FA",
)


def newcomer_env(env: dict | None = None) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in SUITE_VARIABLES}
    environment.update(env or {})
    return environment


def trialdesk(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trialdesk.cli", *args],
        cwd=cwd, env=newcomer_env(env), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_served(process: subprocess.Popen, url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server stopped with exit {process.returncode}"
        try:
            get(url)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url} within {seconds} s")
