"""`trialdesk demo | serve | audit verify` as a newcomer runs them: real processes in an empty folder."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

DEMO_PASSWORD = "demo-password-2012"


def trialdesk(*args: str, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TRIALDESK_DB", "DJANGO_SETTINGS_MODULE")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "trialdesk.cli", *args],
        cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result


def test_the_demo_builds_a_database_in_an_empty_folder_and_prints_the_logins(demo_folder):
    folder, result = demo_folder
    assert (folder / "trialdesk.sqlite3").exists()
    for login in ("investigator.nantes", "investigator.rennes", "coordinator.nantes", "monitor", "datamanager",
                  "statistician", "sponsor"):
        assert login in result.stdout
    assert DEMO_PASSWORD in result.stdout
    assert "Traceback" not in result.stderr


def test_the_demo_database_holds_the_protocol_sites_and_fifteen_treated_patients(demo_folder):
    folder, _ = demo_folder
    with sqlite3.connect(folder / "trialdesk.sqlite3") as db:
        sites = {row[0] for row in db.execute("select code from studies_site")}
        treated = db.execute(
            "select count(*) from subjects_subject where subject_code is not null"
        ).fetchone()[0]
        failures = db.execute("select count(*) from subjects_subject where status = 'screen_failed'").fetchone()[0]
    assert sites == {"NTE", "RNS", "CFD", "CRT", "GRE", "MRS", "SLS", "STR"}
    assert treated == 15 and failures > 0


def test_the_audit_chain_of_a_fresh_demo_verifies(demo_folder):
    folder, _ = demo_folder
    result = trialdesk("audit", "verify", cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK:")


def test_audit_verify_fails_after_one_byte_of_one_row_is_changed(demo_folder, tmp_path):
    folder, _ = demo_folder
    copy = tmp_path / "trialdesk.sqlite3"
    copy.write_bytes((folder / "trialdesk.sqlite3").read_bytes())
    with sqlite3.connect(copy) as db:
        username = db.execute("select username from audit_auditevent where sequence = 40").fetchone()[0]
        tampered = ("X" if username[0] != "X" else "Y") + username[1:]
        db.execute("update audit_auditevent set username = ? where sequence = 40", (tampered,))
    result = trialdesk("audit", "verify", cwd=tmp_path)
    assert result.returncode == 1
    assert "sequence 40" in result.stderr


def test_running_the_demo_again_rebuilds_without_asking(demo_folder, tmp_path):
    folder = tmp_path
    first = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, "--seed", "3", cwd=folder)
    again = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, "--seed", "3", cwd=folder)
    kept = trialdesk("demo", "--no-serve", "--keep", cwd=folder)
    assert (first.returncode, again.returncode, kept.returncode) == (0, 0, 0), again.stderr + kept.stderr
    assert "Rebuilding" in again.stdout and "Reusing" in kept.stdout


def test_a_weak_demo_password_is_refused_in_one_line(tmp_path):
    result = trialdesk("demo", "--no-serve", "--password", "1234", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("trialdesk: the demo password is too weak")
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_one_clear_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = trialdesk("demo", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr and "Traceback" not in result.stderr


def test_serve_without_a_database_says_to_run_the_demo_first(tmp_path):
    result = trialdesk("serve", "--port", "0", cwd=tmp_path)
    assert result.returncode == 1
    assert "run `trialdesk demo`" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_database_server_is_one_clear_line(tmp_path):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = trialdesk("audit", "verify", cwd=tmp_path, env={"DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/none"})
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_protocol_file_is_reported_with_its_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("identification:\n  nct_id: [unclosed\n")
    result = trialdesk("demo", "--no-serve", "--protocol", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.yaml:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.db
def test_the_demo_builds_and_verifies_on_postgresql(tmp_path):
    """`dev.py test` sets DATABASE_URL for its PostgreSQL pass; the demo runs there on a database of its own."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass of `dev.py test`")
    import uuid

    import psycopg

    name = f"trialdesk_demo_{uuid.uuid4().hex[:8]}"
    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {"DATABASE_URL": f"{server}/{name}"}
        built = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=tmp_path, env=env)
        assert built.returncode == 0, built.stderr
        rebuilt = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=tmp_path, env=env)
        assert rebuilt.returncode == 0 and "Emptying" in rebuilt.stdout, rebuilt.stderr
        verified = trialdesk("audit", "verify", cwd=tmp_path, env=env)
        assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stderr
        with psycopg.connect(f"{server}/{name}") as db:
            treated = db.execute("select count(*) from subjects_subject where subject_code is not null").fetchone()[0]
        assert treated == 15
        assert not (tmp_path / "trialdesk.sqlite3").exists()
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
