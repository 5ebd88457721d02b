"""`trialdesk demo | serve | manage …`: the commands that run the Django shell."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from trialdesk.cli.errors import UserError

DEFAULT_DB_NAME = "trialdesk.sqlite3"
DEFAULT_WORKERS = 2
SECRET_KEY_FILE_NAME = "secret.key"  # the name trialdesk.web.settings looks for


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="build the demo trial (seeded simulated cohort) and serve it",
        description="Build the demo trial in this folder (./trialdesk.sqlite3, or the empty database of "
        "DATABASE_URL) with its audit key (audit.key) and secret key (secret.key) beside it, and serve it.",
        epilog="Two-step sign-in (TOTP) is off in the demo: it sets TRIALDESK_REQUIRE_2FA=0 unless "
        "that variable is already set (TRIALDESK_REQUIRE_2FA=1 trialdesk demo keeps it on). "
        "The demo rebuilds its own ./trialdesk.sqlite3; any other database that is not empty is "
        "refused unless --force is given.",
    )
    demo.add_argument("--no-serve", action="store_true", help="build the database and stop")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--workers", type=_positive_int, default=DEFAULT_WORKERS, help="server processes")
    demo.add_argument("--password", help="password of every demo user (default: one is generated and printed)")
    demo.add_argument("--seed", type=int, default=2012, help="seed of the simulated cohort")
    demo.add_argument("--keep", action="store_true", help="reuse an existing demo database instead of rebuilding it")
    demo.add_argument(
        "--force", action="store_true", help="erase a database that is not empty (it says what it erases first)"
    )
    demo.add_argument("--protocol", type=Path, help="protocol file (default: NCT00724360)")
    demo.set_defaults(handler=run_demo)

    serve = subparsers.add_parser(
        "serve",
        help="serve an existing database in the browser (gunicorn)",
        epilog="Needs an audit key (TRIALDESK_AUDIT_KEY, TRIALDESK_AUDIT_KEY_FILE, or audit.key beside the "
        "database) and a secret key (TRIALDESK_SECRET_KEY, or the demo's secret.key). Two-step sign-in "
        "is on unless TRIALDESK_REQUIRE_2FA=0.",
    )
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--workers", type=_positive_int, default=DEFAULT_WORKERS, help="server processes (4 threads each)")
    serve.add_argument(
        "--no-worker", action="store_true",
        help="do not run the background jobs here (run `trialdesk worker` elsewhere on the same database)",
    )
    serve.set_defaults(handler=run_serve)

    manage = subparsers.add_parser("manage", help="Django's management commands (migrate, createsuperuser, …)")
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=run_manage)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def setup_django(*, migrate: bool = False) -> None:
    """Configure Django for this folder's database (or DATABASE_URL) and check it answers."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
    os.environ.setdefault("TRIALDESK_DB", str(Path.cwd() / DEFAULT_DB_NAME))
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.db import OperationalError, connection

    try:
        django.setup()
    except ImproperlyConfigured as exc:  # e.g. no TRIALDESK_SECRET_KEY
        raise UserError(str(exc)) from None
    try:
        connection.ensure_connection()
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot reach the database ({describe_database()}): {first_line}. "
            "Start the database server or fix DATABASE_URL."
        ) from None
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def describe_database() -> str:
    from django.conf import settings

    config = settings.DATABASES["default"]
    if "sqlite" in config["ENGINE"]:
        return str(config["NAME"])
    return f"PostgreSQL {config.get('NAME')} at {config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}"


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError:
            raise UserError(f"port {port} is already in use on {host}: stop what uses it or pass --port N.") from None


def _remove_sqlite_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.unlink()


# --- the keys the demo keeps beside its database ------------------------------------------------


def _key_places() -> list[Path]:
    """Where audit.key (trialdesk.audit.keys) and secret.key (settings) are looked for."""
    places = []
    if not os.environ.get("DATABASE_URL"):
        places.append(Path(os.environ.get("TRIALDESK_DB", Path.cwd() / DEFAULT_DB_NAME)).resolve().parent)
    places.append(Path.cwd())
    return list(dict.fromkeys(places))


def _require_audit_key(doing: str) -> None:
    """The audit key ring, or one line naming every place a key was looked for."""
    from trialdesk.audit.keys import KEY_FILE_NAME, AuditKeyError, key_ring

    try:
        key_ring()
    except AuditKeyError as exc:
        if os.environ.get("TRIALDESK_AUDIT_KEY") or os.environ.get("TRIALDESK_AUDIT_KEY_FILE"):
            raise UserError(f"cannot {doing}: {exc}.") from None
        files = " or ".join(str(folder / KEY_FILE_NAME) for folder in _key_places())
        raise UserError(
            f"cannot {doing} without an audit key: none in TRIALDESK_AUDIT_KEY, TRIALDESK_AUDIT_KEY_FILE or "
            f"{files}. Set one of them (`trialdesk audit new-key --out audit.key` makes a key file)."
        ) from None


def _demo_secret_key(folder: Path) -> tuple[str, Path | None]:
    """The secret key the demo runs with, and the file to write it to (None: nothing to write).
    The environment wins; then a secret.key already in the demo's folder; else a new one."""
    if value := os.environ.get("TRIALDESK_SECRET_KEY", "").strip():
        return value, None
    existing = folder / SECRET_KEY_FILE_NAME
    if existing.is_file() and (value := existing.read_text().strip()):
        return value, None
    import secrets

    return secrets.token_urlsafe(50), existing


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)


def _ensure_demo_audit_key(folder: Path) -> None:
    """Keep the audit key the demo finds (a kept trail must still verify), or write audit.key."""
    from trialdesk.audit.keys import KEY_FILE_NAME, default_key_file, key_ring, write_new_key

    if not (os.environ.get("TRIALDESK_AUDIT_KEY") or os.environ.get("TRIALDESK_AUDIT_KEY_FILE")) and (
        default_key_file() is None
    ):
        path = folder / KEY_FILE_NAME
        write_new_key(path, append=False)
        print(f"Wrote a new audit key to {path}: keep it with the database, the trail verifies only with it.")
        return
    print(f"Signing the audit trail with the key of {key_ring().source}.")


def _check_demo_keys(folder: Path) -> None:
    """Refuse a broken key before anything is written."""
    from trialdesk.audit.keys import AuditKeyError, default_key_file, load_key_ring

    if os.environ.get("TRIALDESK_AUDIT_KEY") or os.environ.get("TRIALDESK_AUDIT_KEY_FILE") or default_key_file():
        try:
            load_key_ring()
        except AuditKeyError as exc:
            raise UserError(f"cannot build the demo: {exc}.") from None


# --- what a database holds ----------------------------------------------------------------------


def _database_contents() -> dict[str, int] | None:
    """What the database holds, or None when it holds nothing worth keeping: no table at all,
    or only trialdesk's own tables with no study, subject, user or audit event in them."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from trialdesk.audit.models import AuditEvent
    from trialdesk.studies.models import Study
    from trialdesk.subjects.models import Subject

    tables = set(connection.introspection.table_names())
    if not tables:
        return None
    ours = set(connection.introspection.django_table_names(include_views=False)) | {"django_migrations"}
    contents = {}
    # Counted in SQL, table by table: what the database holds, whoever may read it.
    for label, model in (("studies", Study), ("subjects", Subject), ("audit events", AuditEvent),
                         ("users", get_user_model())):
        contents[label] = _count_rows(model._meta.db_table) if model._meta.db_table in tables else 0
    contents["other tables"] = len(tables - ours)
    return contents if any(contents.values()) else None


def _count_rows(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        return cursor.fetchone()[0]


def _describe_contents(contents: dict[str, int]) -> str:
    singular = {"studies": "study", "subjects": "subject", "audit events": "audit event", "users": "user",
                "other tables": "other table"}
    return ", ".join(
        f"{count} {label if count != 1 else singular[label]}"
        for label, count in contents.items()
        if count or label != "other tables"
    )


def _erase_database() -> None:
    """Recreate the database: its file on SQLite, its public schema on PostgreSQL. Never flush
    or TRUNCATE: the audit trail refuses both (PostgreSQL triggers)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        path = Path(connection.settings_dict["NAME"])
        connection.close()
        _remove_sqlite_database(path)
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP SCHEMA public CASCADE")
        cursor.execute("CREATE SCHEMA public")


# --- demo ---------------------------------------------------------------------------------------


def run_demo(args) -> int:
    if not args.no_serve:
        check_port_free("127.0.0.1", args.port)
    from trialdesk.protocol import ProtocolError, default_protocol_path, load_protocol

    protocol_path = args.protocol or default_protocol_path()
    try:
        load_protocol(protocol_path)
    except ProtocolError as exc:
        raise UserError(f"the protocol file is not valid:\n{exc}") from None
    except OSError as exc:
        raise UserError(f"cannot read the protocol file {protocol_path}: {exc.strerror}") from None

    using_sqlite = not os.environ.get("DATABASE_URL")
    db_path = Path(os.environ.get("TRIALDESK_DB", Path.cwd() / DEFAULT_DB_NAME))
    own_file = using_sqlite and db_path.resolve() == (Path.cwd() / DEFAULT_DB_NAME).resolve()
    folder = db_path.resolve().parent if using_sqlite else Path.cwd()
    os.environ["TRIALDESK_DB"] = str(db_path)
    os.environ.setdefault("TRIALDESK_REQUIRE_2FA", "0")  # demo users sign in with the password alone
    _check_demo_keys(folder)
    # The settings refuse to start without a secret key: the demo brings its own, kept in
    # secret.key beside its database (written once the database is known to be the demo's).
    secret_key, secret_file = _demo_secret_key(folder)
    os.environ["TRIALDESK_SECRET_KEY"] = secret_key
    setup_django()
    password = args.password or _generated_password()
    _check_password(password)  # bad input is refused before anything is written

    from django.core.management import call_command
    from django.db import connection

    if own_file and db_path.exists() and not args.keep:
        print(f"Rebuilding the demo database {db_path} (use --keep to reuse it).")
        connection.close()
        _remove_sqlite_database(db_path)
    contents = _database_contents()
    reuse = False
    if contents is not None:
        reuse = args.keep and bool(contents["studies"]) and not contents["other tables"]
        if not reuse and not args.force:
            raise UserError(
                f"{describe_database()} is not empty ({_describe_contents(contents)}): the demo builds into an "
                f"empty database or its own ./{DEFAULT_DB_NAME}. Pass --force to erase it, or --keep to reuse "
                "a demo database."
            )
        if not reuse:
            print(f"Erasing {describe_database()}: {_describe_contents(contents)}.")
            _erase_database()
    if secret_file is not None:
        _write_private(secret_file, secret_key + "\n")
    _ensure_demo_audit_key(folder)
    call_command("migrate", verbosity=0, interactive=False)

    if reuse:
        print(f"Reusing the demo database {describe_database()} (its users keep their passwords).")
        logins = None
    else:
        logins = _build(protocol_path, password, args.seed)

    if logins:
        print(f"\nDemo users (password for all: {password}):")
        for login in logins:
            print(f"  {login.username:<32} {login.role:<14} {login.sites}")
    if args.no_serve:
        print(f"\nDatabase ready: {describe_database()}. Serve it with: trialdesk serve --port {args.port}")
        return 0
    print()
    _print_sign_in()
    print(f"trialdesk is at http://127.0.0.1:{args.port}/  (Ctrl+C to stop)")
    return _serve("127.0.0.1", args.port, args.workers)


def _generated_password() -> str:
    from trialdesk.demo.builder import demo_password

    return demo_password()


def _check_password(password: str) -> None:
    from django.contrib.auth.password_validation import ValidationError, validate_password

    try:
        validate_password(password)
    except ValidationError as exc:
        raise UserError("the demo password is too weak: " + " ".join(exc.messages)) from None


def _build(protocol_path: Path, password: str, seed: int):
    _check_password(password)
    from django.utils import timezone

    from trialdesk.demo.builder import build_demo

    # A trial in progress: the simulated calendar shifted so that today (in the trial's time
    # zone) falls in its last months; the trail keeps the true times of the build.
    today = timezone.localdate()
    print(f"Building the demo trial (seed {seed}), in progress on {today.isoformat()}…")
    return build_demo(protocol_path, password=password, seed=seed, today=today)


# --- serve --------------------------------------------------------------------------------------


def run_serve(args) -> int:
    check_port_free(args.host, args.port)
    os.environ.setdefault("TRIALDESK_DB", str(Path.cwd() / DEFAULT_DB_NAME))
    if not os.environ.get("DATABASE_URL") and not Path(os.environ["TRIALDESK_DB"]).is_file():
        raise UserError(
            f"no trial in {os.environ['TRIALDESK_DB']}: run `trialdesk demo` here first, or set DATABASE_URL."
        )
    _require_audit_key("serve")
    setup_django()
    from django.db.utils import DatabaseError

    from trialdesk.studies.models import Study

    try:
        has_study = Study.objects.exists()
    except DatabaseError:
        has_study = False
    if not has_study:
        raise UserError(f"no trial in {describe_database()}: run `trialdesk demo` here first, or set DATABASE_URL.")
    _print_sign_in()
    print(f"trialdesk is at http://{args.host}:{args.port}/  (Ctrl+C to stop)")
    return _serve(args.host, args.port, args.workers, jobs=not args.no_worker)


def _print_sign_in() -> None:
    from django.conf import settings

    if settings.TRIALDESK_REQUIRE_2FA:
        print(
            "Two-step sign-in is on: sign in with your password, then the 6-digit code of an authenticator "
            "app (the first sign-in shows a QR code to set one up). `trialdesk demo` turns it off "
            "(TRIALDESK_REQUIRE_2FA=0); TRIALDESK_REQUIRE_2FA=0 turns it off here."
        )
    else:
        print(
            "Two-step sign-in is off (TRIALDESK_REQUIRE_2FA=0): users sign in with their password alone. "
            "TRIALDESK_REQUIRE_2FA=1 turns it on."
        )


def _serve(host: str, port: int, workers: int = 2, jobs: bool = True) -> int:
    """gunicorn (threaded workers, WhiteNoise for static files) and, unless ``jobs`` is False,
    a `trialdesk worker` beside it for the background jobs: see trialdesk.cli.server."""
    sys.stdout.flush()
    from trialdesk.cli.server import serve

    return serve(host, port, workers, jobs=jobs)


def run_manage(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
    os.environ.setdefault("TRIALDESK_DB", str(Path.cwd() / DEFAULT_DB_NAME))
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  (loads the settings: a missing secret key is one line)
    except ImproperlyConfigured as exc:
        raise UserError(str(exc)) from None
    execute_from_command_line(["trialdesk manage", *args.arguments])
    return 0
