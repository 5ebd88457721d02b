"""`trialdesk token create | list | revoke`: the API tokens of the users of a study.

A token is for one user in one study (``--study`` when the database holds several). It
is printed once, at creation; only its hash is stored. Creation and revocation are in
the audit trail, as the act of the command line (``cli``).

Exit codes: 0 done; 3 bad input (an unknown or inactive user, a user who is not a member
of the study, an unknown study or token, an expiry outside 1 to 3650 days), one line
naming what is wrong.
"""

from __future__ import annotations

import json

from trialdesk.cli.errors import UserError

BAD_INPUT = 3


def _on_a_trialdesk_database(handler):
    """A database without trialdesk's tables (empty, or not migrated) is one line, not a traceback."""

    def run(args) -> int:
        from django.db import DatabaseError

        try:
            return handler(args)
        except DatabaseError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(
                f"this database is not a trialdesk database ({first}): run `trialdesk demo`, or "
                "`trialdesk manage migrate` for a new one.",
                BAD_INPUT,
            ) from None

    return run


def register(subparsers) -> None:
    token = subparsers.add_parser("token", help="API tokens: create, list, revoke")
    actions = token.add_subparsers(dest="token_command", metavar="ACTION")

    create = actions.add_parser("create", help="make a token for USERNAME and print it (once)")
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--expires", type=int, metavar="DAYS", help="the token stops working after DAYS days")
    create.add_argument("--name", default="", help="a label to tell the user's tokens apart")
    create.add_argument(
        "--study", metavar="NCT_ID", help="the study (needed when the database holds several)"
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_on_a_trialdesk_database(run_create))

    listing = actions.add_parser("list", help="list tokens (never their value): all, or USERNAME's")
    listing.add_argument("username", metavar="USERNAME", nargs="?")
    listing.add_argument("--study", metavar="NCT_ID", help="only the tokens of this study")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_on_a_trialdesk_database(run_list))

    revoke = actions.add_parser("revoke", help="revoke a token, named by its id (from `token list`)")
    revoke.add_argument("token_id", metavar="TOKEN_ID")
    revoke.add_argument("--reason", default="", help="why (kept in the audit trail)")
    revoke.add_argument("--json", action="store_true")
    revoke.set_defaults(handler=_on_a_trialdesk_database(run_revoke))

    token.set_defaults(handler=lambda args: token.print_help() or 2)


def _study(nct_id: str | None):
    from trialdesk.studies.models import Study

    studies = Study.objects.order_by("pk")
    if nct_id:
        study = studies.filter(nct_id=nct_id).first()
        if study is None:
            raise UserError(f"--study: no study {nct_id} in this database.", BAD_INPUT)
        return study
    found = list(studies[:2])
    if not found:
        raise UserError(
            "no study in this database: run `trialdesk demo` or install a protocol first.", BAD_INPUT
        )
    if len(found) > 1:
        raise UserError("this database holds several studies: name one with --study NCT_ID.", BAD_INPUT)
    return found[0]


def _user(username: str):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise UserError(f"USERNAME: no active user {username!r}.", BAD_INPUT)
    return user


def _describe(token) -> dict:
    return {
        "id": token.pk,
        "user": token.user.get_username(),
        "study": token.study.nct_id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "usable": token.is_usable(),
    }


def run_create(args) -> int:
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.api.tokens import TokenError, create_token
    from trialdesk.audit.services import Actor
    from trialdesk.studies.access import study_access

    study = _study(args.study)
    user = _user(args.username)
    if not study_access(user, study).roles:
        raise UserError(f"USERNAME: {args.username} is not a member of {study.nct_id}.", BAD_INPUT)
    try:
        made = create_token(user, study, by=Actor.system("cli"), expires_days=args.expires, name=args.name)
    except TokenError as exc:
        raise UserError(f"--expires: {exc}." if args.expires is not None else f"{exc}.", BAD_INPUT) from None
    if args.json:
        print(json.dumps({**_describe(made.token), "token": made.raw}))
    else:
        until = f", until {made.token.expires_at:%Y-%m-%d %H:%M} UTC" if made.token.expires_at else ""
        print(
            f"Token {made.token.pk} of {args.username} for {study.nct_id}{until} (shown once, keep it safe):"
        )
        print(made.raw)
    return 0


def run_list(args) -> int:
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.api.models import ApiToken

    tokens = ApiToken.objects.select_related("user", "study").order_by("pk")
    if args.username:
        tokens = tokens.filter(user=_user(args.username))
    if args.study:
        tokens = tokens.filter(study=_study(args.study))
    rows = [_describe(token) for token in tokens]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("No tokens.")
        return 0
    for row in rows:
        state = "revoked" if row["revoked_at"] else ("expired" if not row["usable"] else "active")
        expires = f" expires {row['expires_at'][:10]}" if row["expires_at"] else ""
        used = f" last used {row['last_used_at'][:16]}" if row["last_used_at"] else " never used"
        label = f" {row['name']!r}" if row["name"] else ""
        print(
            f"{row['id']:>5}  {row['prefix']}…  {row['user']}  {row['study']}  {state}{expires}{used}{label}"
        )
    return 0


def run_revoke(args) -> int:
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.api.models import ApiToken
    from trialdesk.api.tokens import TokenError, revoke_token
    from trialdesk.audit.services import Actor

    if not args.token_id.isdigit():
        raise UserError(
            f"TOKEN_ID: {args.token_id!r} is not a token id (a number, from `trialdesk token list`).",
            BAD_INPUT,
        )
    token = ApiToken.objects.select_related("user", "study").filter(pk=int(args.token_id)).first()
    if token is None:
        raise UserError(f"TOKEN_ID: no token {args.token_id}.", BAD_INPUT)
    try:
        revoke_token(token, by=Actor.system("cli"), reason=args.reason)
    except TokenError as exc:
        raise UserError(f"TOKEN_ID: {exc}.", BAD_INPUT) from None
    if args.json:
        print(json.dumps(_describe(token)))
    else:
        print(f"Revoked token {token.pk} ({token.prefix}…) of {token.user.get_username()}.")
    return 0
