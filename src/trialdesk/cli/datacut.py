"""`trialdesk datacut [--cutoff DATE] [--as USERNAME] --out FILE.json` · `trialdesk datacut verify FILE`.

A data cut: the data as the database stands now, limited to clinical dates up to the
cut-off (default: today in Europe/Paris), pseudonymised for the user named by ``--as``
(the command acts as the operator otherwise), audited as an export. The file format and
its hash: ``trialdesk.snapshot.datacut``.

Exit codes: 0 written / verified; 2 bad input (a bad date, an unknown user or study, a user
who may not export, a path that cannot be written), nothing written; 3 a file that is not a
data cut or whose hash does not match its content.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from trialdesk.cli.errors import UserError

BAD_INPUT = 2
BAD_FILE = 3


def register(subparsers) -> None:
    datacut = subparsers.add_parser(
        "datacut",
        help="write the trial's data up to a cut-off to a JSON file with its SHA-256 (or verify one)",
        description="Write a data cut: the data as the database stands now, limited to clinical dates up to "
        "the cut-off, pseudonymised for the user named by --as (the operator otherwise), audited as an export.",
        epilog="`trialdesk datacut verify FILE` checks a data-cut file's SHA-256 against its content. "
        "Exit codes: 2 bad input (nothing written), 3 a file that is not a data cut or was changed.",
    )
    datacut.add_argument("--cutoff", metavar="DATE", help="the last clinical date included, YYYY-MM-DD "
                         "(default: today in Europe/Paris)")
    datacut.add_argument("--as", dest="username", metavar="USERNAME",
                         help="build the data cut as this user sees it (their sites; pseudonymised for a statistician)")
    datacut.add_argument("--study", metavar="NCT_ID", help="the study (needed when the database holds several)")
    datacut.add_argument("--out", type=Path, metavar="FILE.json", help="where to write the data cut")
    datacut.set_defaults(handler=run_datacut)
    actions = datacut.add_subparsers(dest="datacut_command", metavar="ACTION")
    verify = actions.add_parser("verify", help="check a data-cut file's SHA-256 against its content")
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.set_defaults(handler=run_verify)


def parse_cutoff(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--cutoff {text!r} is not a date: give it as YYYY-MM-DD.", BAD_INPUT) from None


def check_writable(out: Path) -> None:
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise UserError(f"cannot write {out}: it is a folder.", BAD_INPUT)
    if not folder.is_dir():
        raise UserError(f"cannot write {out}: no folder {folder}.", BAD_INPUT)
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UserError(f"cannot write {out}: permission denied.", BAD_INPUT)


def run_datacut(args) -> int:
    if args.out is None:
        raise UserError("say where to write the data cut: --out FILE.json.", BAD_INPUT)
    cutoff = parse_cutoff(args.cutoff)
    check_writable(args.out)
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.datacut import export_datacut, trial_today

    study = _study(args.study)
    viewer = _viewer(args.username, study)
    cutoff = cutoff or trial_today()
    try:
        result = export_datacut(study, args.out, viewer=viewer, cutoff=cutoff)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}.", BAD_INPUT) from None
    who = f"as {viewer.get_username()}" if viewer is not None else "as the operator"
    print(
        f"Wrote {args.out}: {study.nct_id}, {result.subjects} subjects up to {cutoff.isoformat()} {who}, "
        f"sha256 {result.sha256}."
    )
    return 0


def _study(nct_id: str | None):
    from trialdesk.studies.models import Study

    studies = Study.objects.order_by("pk")
    if nct_id:
        study = studies.filter(nct_id=nct_id).first()
        if study is None:
            raise UserError(f"no study {nct_id} in this database.", BAD_INPUT)
        return study
    found = list(studies[:2])
    if not found:
        raise UserError("no study in this database: run `trialdesk demo` or install a protocol first.", BAD_INPUT)
    if len(found) > 1:
        raise UserError("this database holds several studies: name one with --study NCT_ID.", BAD_INPUT)
    return found[0]


def _viewer(username: str | None, study):
    if username is None:
        return None
    from django.contrib.auth import get_user_model

    from trialdesk.studies.access import Permission, study_access

    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise UserError(f"no active user {username!r}.", BAD_INPUT)
    if not study_access(user, study).can(Permission.EXPORT):
        raise UserError(f"{username} may not export the data of {study.nct_id}.", BAD_INPUT)
    return user


def run_verify(args) -> int:
    from trialdesk.snapshot.datacut import DataCutError, verify_datacut

    try:
        header = verify_datacut(args.file)
    except DataCutError as exc:
        raise UserError(str(exc), BAD_FILE) from None
    study = header.get("study") or {}
    print(
        f"OK: {args.file}: {study.get('nct_id', '?')}, {header['subject_count']} subjects up to "
        f"{header.get('cutoff')}, sha256 {header['sha256']} matches its content."
    )
    return 0
