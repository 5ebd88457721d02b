"""`trialdesk demo` never erases a database it did not make (finding 5): it rebuilds its own
./trialdesk.sqlite3, builds into an empty database, and refuses any other database unless
--force is given, after which it says what it erases and recreates the database (its file, or
its schema on PostgreSQL: never flush or TRUNCATE, which the audit trail refuses)."""

from __future__ import annotations

import os
import sqlite3
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.cli.processes import DEMO_PASSWORD, trialdesk


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def test_it_refuses_a_sqlite_database_that_is_not_its_own_and_not_empty(tmp_path):
    other = tmp_path / "hospital.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("create table patients (name text)")
        db.execute("insert into patients values ('Jeanne Martin')")
    before = files_of(tmp_path)
    result = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=tmp_path,
                       env={"TRIALDESK_DB": str(other)})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{other} is not empty" in result.stderr and "1 other table" in result.stderr
    assert "--force" in result.stderr
    assert files_of(tmp_path) == before  # nothing written: no key, no secret, the database untouched


def test_with_force_it_says_what_it_erases_and_rebuilds_the_database(tmp_path):
    other = tmp_path / "hospital.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("create table patients (name text)")
        db.execute("insert into patients values ('Jeanne Martin')")
    result = trialdesk("demo", "--no-serve", "--force", "--password", DEMO_PASSWORD, cwd=tmp_path,
                       env={"TRIALDESK_DB": str(other)})
    assert result.returncode == 0, result.stderr
    assert f"Erasing {other}: 0 studies, 0 subjects, 0 audit events, 0 users, 1 other table." in result.stdout
    with sqlite3.connect(other) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        treated = db.execute("select count(*) from subjects_subject where subject_code is not null").fetchone()[0]
    assert "patients" not in tables and treated == 15
    verified = trialdesk("audit", "verify", cwd=tmp_path, env={"TRIALDESK_DB": str(other)})
    assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stderr


def test_an_empty_sqlite_file_elsewhere_is_built_into_without_force(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "empty.sqlite3").touch()
    result = trialdesk("demo", "--no-serve", "--password", "1234", cwd=tmp_path,
                       env={"TRIALDESK_DB": str(target / "empty.sqlite3")})
    assert "not empty" not in result.stderr  # refused for its password only, after the database check
    assert "too weak" in result.stderr


# --- PostgreSQL -----------------------------------------------------------------------------------


@contextmanager
def scratch_database():
    """A database of its own on the suite's PostgreSQL server, dropped afterwards."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    server = url.rsplit("/", 1)[0]
    name = f"trialdesk_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def needs_postgresql():
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("runs in the PostgreSQL pass (dev.py test, tools/pgtest)")


def counts(url: str) -> tuple[int, int, int]:
    import psycopg

    with psycopg.connect(url) as db:
        return tuple(
            db.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("studies_study", "subjects_subject", "audit_auditevent")
        )


@pytest.mark.db
def test_on_postgresql_it_builds_refuses_to_erase_then_with_force_recreates_the_schema(tmp_path):
    needs_postgresql()
    with scratch_database() as url:
        env = {"DATABASE_URL": url}
        built = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=tmp_path, env=env)
        assert built.returncode == 0, built.stderr
        assert (tmp_path / "audit.key").exists() and not (tmp_path / "trialdesk.sqlite3").exists()
        before, files = counts(url), files_of(tmp_path)
        assert before[1] > 15  # screened, enrolled and screen failures

        refused = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=tmp_path, env=env)
        assert refused.returncode == 1, refused.stdout
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        assert f"is not empty (1 study, {before[1]} subjects, {before[2]} audit events" in refused.stderr
        assert counts(url) == before and files_of(tmp_path) == files

        forced = trialdesk("demo", "--no-serve", "--force", "--password", DEMO_PASSWORD, "--seed", "7", cwd=tmp_path,
                           env=env)
        assert forced.returncode == 0, forced.stderr
        assert f"Erasing PostgreSQL {url.rsplit('/', 1)[1]}" in forced.stdout
        assert f"1 study, {before[1]} subjects, {before[2]} audit events" in forced.stdout
        assert (tmp_path / "audit.key").read_bytes() == files["audit.key"]  # kept: the trail still verifies
        verified = trialdesk("audit", "verify", cwd=tmp_path, env=env)
        assert verified.returncode == 0 and verified.stdout.startswith("OK:"), verified.stderr
        assert counts(url)[0] == 1

        kept = trialdesk("demo", "--no-serve", "--keep", cwd=tmp_path, env=env)
        assert kept.returncode == 0 and "Reusing" in kept.stdout, kept.stderr


@pytest.mark.db
def test_on_postgresql_it_refuses_a_database_of_another_application(tmp_path):
    needs_postgresql()
    import psycopg

    with scratch_database() as url:
        with psycopg.connect(url) as db:
            db.execute("create table patients (name text)")
            db.execute("insert into patients values ('Jeanne Martin')")
        result = trialdesk("demo", "--no-serve", "--password", DEMO_PASSWORD, cwd=tmp_path, env={"DATABASE_URL": url})
        assert result.returncode == 1 and "1 other table" in result.stderr and "Traceback" not in result.stderr
        with psycopg.connect(url) as db:
            assert db.execute("select count(*) from patients").fetchone()[0] == 1
        assert list(tmp_path.iterdir()) == []
