"""`trialdesk demo | serve | audit verify` as a newcomer runs them: real processes in an empty folder,
with none of the suite's variables (no audit key, no secret key: the demo brings its own)."""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.processes import DEMO_PASSWORD, free_port, get, newcomer_env, trialdesk, wait_until_served


def copy_demo(source: Path, target: Path, *names: str) -> Path:
    for name in names or ("trialdesk.sqlite3", "audit.key", "secret.key"):
        shutil.copy2(source / name, target / name)
    return target


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    result = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=folder)
    assert result.returncode == 0, result.stderr
    return folder, result


def test_the_demo_writes_its_audit_key_and_secret_key_beside_its_database_for_its_owner_only(demo_folder):
    folder, result = demo_folder
    for name in ("audit.key", "secret.key"):
        assert (folder / name).stat().st_mode & 0o077 == 0, name
    assert f"new audit key to {folder / 'audit.key'}" in result.stdout


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
    copy = copy_demo(folder, tmp_path) / "trialdesk.sqlite3"
    with sqlite3.connect(copy) as db:
        username = db.execute("select username from audit_auditevent where sequence = 40").fetchone()[0]
        tampered = ("X" if username[0] != "X" else "Y") + username[1:]
        db.execute("update audit_auditevent set username = ? where sequence = 40", (tampered,))
    result = trialdesk("audit", "verify", cwd=tmp_path)
    assert result.returncode == 1
    assert "sequence 40" in result.stderr


def test_running_the_demo_again_rebuilds_without_asking_and_keeps_its_keys(demo_folder, tmp_path):
    folder = copy_demo(demo_folder[0], tmp_path)
    keys = {name: (folder / name).read_text() for name in ("audit.key", "secret.key")}
    again = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, "--seed", "3", cwd=folder)
    kept = trialdesk("demo", "--no-serve", "--keep", cwd=folder)
    assert (again.returncode, kept.returncode) == (0, 0), again.stderr + kept.stderr
    assert "Rebuilding" in again.stdout and "Reusing" in kept.stdout
    assert {name: (folder / name).read_text() for name in keys} == keys
    verified = trialdesk("audit", "verify", cwd=folder)
    assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stderr


def test_a_weak_demo_password_is_refused_in_one_line_before_anything_is_written(demo_folder, tmp_path):
    folder = copy_demo(demo_folder[0], tmp_path)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    result = trialdesk("demo", "--no-serve", "--password", "1234", cwd=folder)
    assert result.returncode == 1
    assert result.stderr.startswith("trialdesk: the demo password is too weak")
    assert "Traceback" not in result.stderr
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


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
    env = {"DATABASE_URL": f"postgres://nobody@127.0.0.1:{port}/none", "TRIALDESK_SECRET_KEY": "s" * 50,
           "TRIALDESK_AUDIT_KEY": "a" * 40}
    result = trialdesk("audit", "verify", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr and "Traceback" not in result.stderr


def test_a_broken_protocol_file_is_reported_with_its_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("identification:\n  nct_id: [unclosed\n")
    result = trialdesk("demo", "--no-serve", "--protocol", str(broken), cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.yaml:" in result.stderr and "Traceback" not in result.stderr


# --- serve ------------------------------------------------------------------------------------------


def test_serve_runs_gunicorn_serves_pages_and_static_files_logs_requests_and_stops_on_sigterm(demo_folder, tmp_path):
    import signal

    folder, _ = demo_folder
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "trialdesk.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=folder, env=newcomer_env(), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_served(process, f"{base}/accounts/login/")
            page_status, page = get(f"{base}/accounts/login/")
            static_status, css = get(f"{base}/static/trialdesk/trialdesk.css")
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert (page_status, static_status) == (200, 200)
    assert b"<form" in page and css == (Path(__file__).parents[2] / "src/trialdesk/web/static/trialdesk/trialdesk.css").read_bytes()
    assert code == 0, err.read_text()
    printed, logged = out.read_text(), err.read_text()
    assert "Two-step sign-in is on" in printed and "TRIALDESK_REQUIRE_2FA=0" in printed
    assert f"trialdesk is at http://127.0.0.1:{port}/" in printed
    assert '"GET /accounts/login/ HTTP/1.1" 200' in printed  # the access log, combined format, on stdout
    assert "Using worker: gthread" in logged and "Traceback" not in logged and "Warning" not in logged


def test_serve_refuses_to_start_without_an_audit_key_naming_where_it_looked(demo_folder, tmp_path):
    folder, _ = demo_folder
    copy_demo(folder, tmp_path, "trialdesk.sqlite3", "secret.key")
    before = {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()}
    result = trialdesk("serve", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "without an audit key" in result.stderr
    assert "TRIALDESK_AUDIT_KEY" in result.stderr and str(tmp_path / "audit.key") in result.stderr
    assert {path.name: path.stat().st_mtime_ns for path in tmp_path.iterdir()} == before


def test_serve_refuses_a_key_file_that_holds_no_usable_key(demo_folder, tmp_path):
    folder, _ = demo_folder
    copy_demo(folder, tmp_path, "trialdesk.sqlite3", "secret.key")
    (tmp_path / "short.key").write_text("too-short\n")
    result = trialdesk("serve", "--port", str(free_port()), cwd=tmp_path,
                       env={"TRIALDESK_AUDIT_KEY_FILE": str(tmp_path / "short.key")})
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "short.key" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_to_start_without_a_secret_key(demo_folder, tmp_path):
    folder, _ = demo_folder
    copy_demo(folder, tmp_path, "trialdesk.sqlite3", "audit.key")
    result = trialdesk("serve", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "TRIALDESK_SECRET_KEY is not set" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "secret.key").exists()


def test_serve_on_a_port_in_use_is_one_clear_line(demo_folder):
    folder, _ = demo_folder
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = trialdesk("serve", "--port", str(port), cwd=folder)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"port {port} is already in use" in result.stderr and "Traceback" not in result.stderr


def test_serve_refuses_zero_workers_as_a_usage_error(tmp_path):
    result = trialdesk("serve", "--workers", "0", cwd=tmp_path)
    assert result.returncode == 2 and "--workers" in result.stderr


def test_the_demo_serves_the_same_way_and_says_two_step_sign_in_is_off(demo_folder, tmp_path):
    import signal

    (tmp_path / "kept").mkdir()
    folder = copy_demo(demo_folder[0], tmp_path / "kept")
    port = free_port()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "trialdesk.cli", "demo", "--keep", "--port", str(port), "--workers", "1"],
            cwd=folder, env=newcomer_env(), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
        )
        try:
            wait_until_served(process, f"http://127.0.0.1:{port}/accounts/login/")
            status, _ = get(f"http://127.0.0.1:{port}/static/trialdesk/htmx.min.js")
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert status == 200 and code == 0, err.read_text()
    printed = out.read_text()
    assert "Reusing the demo database" in printed
    assert "Two-step sign-in is off (TRIALDESK_REQUIRE_2FA=0)" in printed
    assert "Using worker: gthread" in err.read_text()
