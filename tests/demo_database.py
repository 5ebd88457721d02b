"""The demo trial built once per test run and loaded into each module that asks for it.

``build_demo`` takes 6-8 s (much more under load); a dozen modules each built their own. The
``demo_builds`` session fixture (tests/conftest.py) builds each variant (protocol file, seed,
``today``) once: the first module that asks builds it in its own transaction as before, and the
rows the build added or changed are kept (per table, by primary key). Every later module gets
the same rows inserted into its transaction in a few milliseconds, then rolled back at its end
as before (never flushed: the audit trail refuses that on PostgreSQL). Under pytest-xdist the
rows are also written to a file of the run, so the other worker loads instead of building.

The rows are taken verbatim: on SQLite as the stored values (``+"column"`` defeats Django's
type converters), on PostgreSQL through ``row_to_json`` / ``json_populate_recordset`` (every
type round-trips, jsonb included). A load is refused, and the variant built again, unless the
database holds exactly what it held when the variant was built (the migrations' rows): a test
that committed something (a transactional test's flush) cannot make a load half-right.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

DEMO_PASSWORD = "demo-password-of-the-tests-42"
DEMO_SEED = 2012
SKIPPED_TABLES = {"django_migrations"}
_LAYOUTS: dict[tuple[str, str], tuple[list[str], str | None]] = {}  # the schema does not change in a run


@dataclass
class TableChange:
    table: str
    columns: list[str]
    pk: str | None
    inserted: list = field(default_factory=list)
    updated: list = field(default_factory=list)  # (pk value, row)
    deleted: list = field(default_factory=list)  # pk values


@dataclass
class DemoRows:
    """What a build of the demo changed in the test database, from a state named ``base``."""

    base: str
    built_at: dt.datetime
    changes: list[TableChange] | None  # None: not replayable, built again by each module


@dataclass
class LoadedDemo:
    built_at: dt.datetime  # when the build of these rows started (the trail's times follow it)
    built_here: bool  # this module ran the build (False: the rows were loaded)


def _quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


class _Tables:
    """Reads every table of the test database as {key: row}, rows in a form that writes back verbatim."""

    def __init__(self, connection):
        self.connection = connection
        self.vendor = connection.vendor

    def names(self) -> list[str]:
        with self.connection.cursor() as cursor:
            names = self.connection.introspection.table_names(cursor, include_views=False)
        return sorted(n for n in names if n not in SKIPPED_TABLES)

    def layout(self, table: str) -> tuple[list[str], str | None]:
        """The table's columns in order and its one-column primary key (None without one)."""
        key = (self.vendor, table)
        if key not in _LAYOUTS:
            if self.vendor == "sqlite":  # PRAGMA: Django's introspection parses the DDL (slow)
                info = self.connection.connection.execute(
                    f"PRAGMA table_info({_quote(self.connection, table)})"
                )
                described = [(row[1], row[5]) for row in info.fetchall()]
                columns = [name for name, _ in described]
                pks = [name for name, position in sorted(described, key=lambda d: d[1]) if position]
            else:
                with self.connection.cursor() as cursor:
                    columns = [
                        c.name for c in self.connection.introspection.get_table_description(cursor, table)
                    ]
                    pks = self.connection.introspection.get_primary_key_columns(cursor, table) or []
            _LAYOUTS[key] = (columns, pks[0] if len(pks) == 1 else None)
        return _LAYOUTS[key]

    def read(self, table: str) -> dict:
        columns, pk = self.layout(table)
        q = _quote(self.connection, table)
        if self.vendor == "sqlite":
            select = ", ".join(f"+{_quote(self.connection, c)}" for c in columns)
            rows = self.connection.connection.execute(f"SELECT {select} FROM {q}").fetchall()
            index = columns.index(pk) if pk else None
            return {(row[index] if pk else row): row for row in rows}
        with self.connection.cursor() as cursor:
            cursor.execute(f"SELECT row_to_json(t)::text FROM {q} AS t")
            texts = [r[0] for r in cursor.fetchall()]
        return {(json.loads(text)[pk] if pk else text): text for text in texts}

    def read_all(self) -> dict[str, dict]:
        return {table: self.read(table) for table in self.names()}


def _fingerprint(state: dict[str, dict]) -> str:
    digest = hashlib.sha256()
    for table in sorted(state):
        rows = state[table]
        if rows:
            digest.update(table.encode())
            digest.update(repr(sorted(rows.items(), key=repr)).encode())
    return digest.hexdigest()


def _difference(tables: _Tables, before: dict[str, dict], after: dict[str, dict]) -> list[TableChange] | None:
    changes = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        if old == new:
            continue
        columns, pk = tables.layout(table)
        change = TableChange(table, columns, pk)
        change.inserted = [row for key, row in new.items() if key not in old]
        change.updated = [(key, row) for key, row in new.items() if key in old and old[key] != row]
        change.deleted = [key for key in old if key not in new]
        if pk is None and change.deleted:
            return None  # a row without a key cannot be told apart from its twin: not replayed
        changes.append(change)
    return changes


def _apply(connection, changes: list[TableChange]) -> None:
    """The rows written in one transaction (a savepoint inside the test's): the foreign keys,
    deferred, are checked once every table holds its rows."""
    from django.db import transaction

    with transaction.atomic(using=connection.alias):
        _write(connection, changes)


def _write(connection, changes: list[TableChange]) -> None:
    if connection.vendor == "sqlite":
        raw = connection.connection
        for c in changes:
            q = _quote(connection, c.table)
            names = [_quote(connection, n) for n in c.columns]
            key = _quote(connection, c.pk) if c.pk else None
            for pk in c.deleted:
                raw.execute(f"DELETE FROM {q} WHERE {key} = ?", (pk,))
            if c.updated:
                assignments = ", ".join(f"{n} = ?" for n in names)
                raw.executemany(
                    f"UPDATE {q} SET {assignments} WHERE {key} = ?", [(*row, pk) for pk, row in c.updated]
                )
            if c.inserted:
                marks = ", ".join("?" for _ in names)
                raw.executemany(f"INSERT INTO {q} ({', '.join(names)}) VALUES ({marks})", c.inserted)
        return
    with connection.cursor() as cursor:
        for c in changes:
            q = _quote(connection, c.table)
            names = ", ".join(_quote(connection, n) for n in c.columns)
            key = _quote(connection, c.pk) if c.pk else None
            for pk in c.deleted:
                cursor.execute(f"DELETE FROM {q} WHERE {key} = %s", [pk])
            for pk, row in c.updated:
                cursor.execute(
                    f"UPDATE {q} SET ({names}) = (SELECT {names} FROM json_populate_record(NULL::{q}, %s::json)) "
                    f"WHERE {key} = %s",
                    [row, pk],
                )
            if c.inserted:
                cursor.execute(
                    f"INSERT INTO {q} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{q}, %s::json)",
                    ["[" + ",".join(c.inserted) + "]"],
                )
                if c.pk:
                    # setval is not transactional: the sequence stays past the loaded rows after the rollback
                    cursor.execute(
                        f"SELECT setval(seq, (SELECT max({key}) FROM {q})) FROM pg_get_serial_sequence(%s, %s) AS seq "
                        "WHERE seq IS NOT NULL",
                        [q, c.pk],
                    )


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class DemoBuilds:
    """The demo's variants of this test run (the ``demo_builds`` fixture). Use inside the
    module's own ``transaction.atomic()`` (with ``django_db_blocker.unblock()``)::

        with django_db_blocker.unblock(), transaction.atomic():
            demo_builds.load(seed=2012, today=TODAY)   # builds on first use, else inserts the rows
            yield Study.objects.get()
            transaction.set_rollback(True)
    """

    def __init__(self, shared_folder: Path | None):
        self.shared_folder = shared_folder  # None: this process only (no xdist)
        self._rows: dict[tuple, DemoRows] = {}

    def load(
        self,
        protocol_path: Path | None = None,
        *,
        seed: int = DEMO_SEED,
        today: dt.date | None = None,
        password: str = DEMO_PASSWORD,
    ) -> LoadedDemo:
        from django.contrib.auth.hashers import MD5PasswordHasher
        from django.db import connection
        from django.test import override_settings

        from trialdesk.protocol import default_protocol_path

        if not connection.in_atomic_block:
            raise RuntimeError("demo_builds.load runs inside the module's transaction (rolled back after it)")
        protocol_path = Path(protocol_path or default_protocol_path())
        key = (connection.vendor, hashlib.sha256(protocol_path.read_bytes()).hexdigest(), seed, today)
        tables = _Tables(connection)
        before = tables.read_all()
        base = _fingerprint(before)
        with override_settings(PASSWORD_HASHERS=[f"{MD5PasswordHasher.__module__}.MD5PasswordHasher"]):
            rows = self._rows.get(key) or self._read_shared(key)
            if rows is not None and rows.base == base and rows.changes is not None:
                _apply(connection, rows.changes)
                self._rows[key] = rows
                loaded = LoadedDemo(rows.built_at, built_here=False)
            else:
                loaded = self._build(key, protocol_path, seed, today, tables, before, base)
            if password != DEMO_PASSWORD:
                _set_demo_password(password)
        return loaded

    def _build(self, key, protocol_path, seed, today, tables, before, base) -> LoadedDemo:
        from django.utils import timezone

        from trialdesk.demo.builder import build_demo

        def build() -> DemoRows:
            started = timezone.now()
            build_demo(protocol_path, password=DEMO_PASSWORD, seed=seed, today=today)
            return DemoRows(base, started, _difference(tables, before, tables.read_all()))

        if self.shared_folder is None:
            rows = build()
        else:
            # One worker builds while the other waits for its file (then loads it).
            path = self._shared_path(key)
            with _locked(path.with_suffix(".lock")):
                shared = self._read_shared(key)
                if shared is not None and shared.base == base and shared.changes is not None:
                    from django.db import connection

                    _apply(connection, shared.changes)
                    self._rows[key] = shared
                    return LoadedDemo(shared.built_at, built_here=False)
                rows = build()
                temporary = path.with_suffix(f".{os.getpid()}.tmp")
                temporary.write_bytes(pickle.dumps(rows))
                temporary.replace(path)
        self._rows[key] = rows
        return LoadedDemo(rows.built_at, built_here=True)

    def _shared_path(self, key) -> Path:
        name = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
        return self.shared_folder / f"demo-{name}.pickle"

    def _read_shared(self, key) -> DemoRows | None:
        if self.shared_folder is None:
            return None
        path = self._shared_path(key)
        if not path.exists():
            return None
        return pickle.loads(path.read_bytes())


def _set_demo_password(password: str) -> None:
    """The demo's users with another password than the one they were built with."""
    from django.contrib.auth import get_user_model

    for user in get_user_model().objects.all():
        if user.check_password(DEMO_PASSWORD):
            user.set_password(password)
            user.save(update_fields=["password"])


class InstalledStudies:
    """The ``study`` fixture's study (the default protocol installed, recruiting), installed once
    per process and database state, then its rows inserted into each test's transaction: the
    protocol's parse and validation and the install's audited writes (~0.25 s of CPU a test)
    are paid once. A test whose database does not hold what it held at the first install (a
    fixture wrote before ``study``) gets a real install."""

    def __init__(self):
        self._rows: dict[tuple[str, str], tuple[list[TableChange], int]] = {}

    def install(self, build):
        """``build()`` installs the study and returns it (the first time, or when the state differs)."""
        from django.db import connection

        from trialdesk.studies.models import Study

        tables = _Tables(connection)
        before = tables.read_all()
        key = (connection.vendor, _fingerprint(before))
        if key in self._rows:
            changes, pk = self._rows[key]
            _apply(connection, changes)
            return Study.objects.get(pk=pk)
        study = build()
        changes = _difference(tables, before, tables.read_all())
        if changes is not None:
            self._rows[key] = (changes, study.pk)
        return study
