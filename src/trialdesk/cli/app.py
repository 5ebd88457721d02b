"""`trialdesk demo | serve | audit verify | manage …`: the commands that run the Django shell."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from trialdesk.cli.errors import UserError

DEFAULT_DB_NAME = "trialdesk.sqlite3"


def register(subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="build the demo trial (seeded simulated cohort) and serve it",
        epilog="Two-step sign-in (TOTP) is off in the demo: it sets TRIALDESK_REQUIRE_2FA=0 unless "
        "that variable is already set (TRIALDESK_REQUIRE_2FA=1 trialdesk demo keeps it on).",
    )
    demo.add_argument("--no-serve", action="store_true", help="build the database and stop")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--password", help="password of every demo user (default: one is generated and printed)")
    demo.add_argument("--seed", type=int, default=2012, help="seed of the simulated cohort")
    demo.add_argument("--keep", action="store_true", help="reuse an existing demo database instead of rebuilding it")
    demo.add_argument("--protocol", type=Path, help="protocol file (default: NCT00724360)")
    demo.set_defaults(handler=run_demo)

    serve = subparsers.add_parser("serve", help="serve an existing database in the browser")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(handler=run_serve)

    audit = subparsers.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    verify = audit_sub.add_parser("verify", help="prove the hash chain intact, or name its first broken link")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=run_audit_verify)
    audit.set_defaults(handler=lambda args: audit.print_help() or 2)

    manage = subparsers.add_parser("manage", help="Django's management commands (migrate, createsuperuser, …)")
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=run_manage)


def setup_django(*, migrate: bool = False) -> None:
    """Configure Django for this folder's database (or DATABASE_URL) and check it answers."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
    os.environ.setdefault("TRIALDESK_DB", str(Path.cwd() / DEFAULT_DB_NAME))
    import django
    from django.db import OperationalError, connection

    django.setup()
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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise UserError(f"port {port} is already in use on {host}: stop what uses it or pass --port N.") from None


def _remove_sqlite_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.unlink()


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

    db_path = Path(os.environ.get("TRIALDESK_DB", Path.cwd() / DEFAULT_DB_NAME))
    using_sqlite = not os.environ.get("DATABASE_URL")
    if using_sqlite and db_path.exists() and not args.keep:
        print(f"Rebuilding the demo database {db_path} (use --keep to reuse it).")
        _remove_sqlite_database(db_path)
    os.environ["TRIALDESK_DB"] = str(db_path)
    os.environ.setdefault("TRIALDESK_REQUIRE_2FA", "0")  # demo users sign in with the password alone
    setup_django(migrate=True)

    from django.core.management import call_command

    from trialdesk.studies.models import Study

    password = args.password or _generated_password()
    if Study.objects.exists():
        if args.keep:
            print(f"Reusing the demo database {describe_database()} (its users keep their passwords).")
            logins = None
        else:
            print(f"Emptying {describe_database()} to rebuild the demo.")
            call_command("flush", interactive=False, verbosity=0)
            logins = _build(protocol_path, password, args.seed)
    else:
        logins = _build(protocol_path, password, args.seed)

    url = f"http://127.0.0.1:{args.port}/"
    if logins:
        print(f"\nDemo users (password for all: {password}):")
        for login in logins:
            print(f"  {login.username:<32} {login.role:<14} {login.sites}")
    if args.no_serve:
        print(f"\nDatabase ready: {describe_database()}. Serve it with: trialdesk serve --port {args.port}")
        return 0
    print(f"\ntrialdesk is at {url}  (Ctrl+C to stop)")
    return _serve("127.0.0.1", args.port)


def _generated_password() -> str:
    from trialdesk.studies.demo import demo_password

    return demo_password()


def _build(protocol_path: Path, password: str, seed: int):
    from django.contrib.auth.password_validation import ValidationError, validate_password

    try:
        validate_password(password)
    except ValidationError as exc:
        raise UserError("the demo password is too weak: " + " ".join(exc.messages)) from None
    from trialdesk.studies.demo import build_demo

    print(f"Building the demo trial (seed {seed})…")
    return build_demo(protocol_path, password=password, seed=seed)


def run_serve(args) -> int:
    check_port_free(args.host, args.port)
    setup_django()
    from django.db.utils import DatabaseError

    from trialdesk.studies.models import Study

    try:
        has_study = Study.objects.exists()
    except DatabaseError:
        has_study = False
    if not has_study:
        raise UserError(f"no trial in {describe_database()}: run `trialdesk demo` here first, or set DATABASE_URL.")
    print(f"trialdesk is at http://{args.host}:{args.port}/  (Ctrl+C to stop)")
    return _serve(args.host, args.port)


def _serve(host: str, port: int) -> int:
    """Serve with Django's threaded server and static files, without autoreload.

    Enough for the demo and a ward laptop; a deployment runs the WSGI app
    (trialdesk.web.wsgi) under gunicorn behind a reverse proxy.
    """
    from django.core.management import call_command

    try:
        call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True, skip_checks=True)
    except KeyboardInterrupt:
        pass
    return 0


def run_audit_verify(args) -> int:
    setup_django()
    import json

    from trialdesk.audit.services import verify

    verdict = verify()
    if args.json:
        print(
            json.dumps(
                {
                    "intact": verdict.intact,
                    "count": verdict.count,
                    "first_broken_sequence": verdict.first_broken_sequence,
                    "problem": verdict.problem,
                }
            )
        )
    elif verdict.intact:
        print(f"OK: {verdict.count} audit events, the chain is intact.")
    else:
        print(
            f"BROKEN: the audit trail is not intact at sequence {verdict.first_broken_sequence}: "
            f"{verdict.problem} ({verdict.count} events verified before it).",
            file=sys.stderr,
        )
    return 0 if verdict.intact else 1


def run_manage(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
    os.environ.setdefault("TRIALDESK_DB", str(Path.cwd() / DEFAULT_DB_NAME))
    from django.core.management import execute_from_command_line

    execute_from_command_line(["trialdesk manage", *args.arguments])
    return 0
