"""`trialdesk export KIND [--cutoff DATE | --datacut FILE] [--as USERNAME] --out PATH [--json]`.

The export command group (issue 12; later exports add their KIND here and follow the same
conventions):

- reads the StudySnapshot: the database up to the cut-off (default: today in Europe/Paris),
  or a data-cut file (its SHA-256 verified; written as it was made, for its own viewer);
- acts as the operator (every site) unless ``--as USERNAME`` names a user who may export
  (a data manager or statistician — pseudonymised — for every site, an investigator for
  their own sites): the data are then that user's sites, masked as they see them;
- streams in flat memory, writes the file (or folder) under a temporary name and moves it
  into place once complete, and records the export in the audit trail (who, when, what,
  the content's SHA-256) in the same transaction: nothing is left half-written.

Kinds: ``odm`` (``--out FILE.xml``: CDISC ODM 1.3.2), ``csv`` (``--out DIR``, new or empty:
one tidy CSV per form and ``data_dictionary.csv``), ``sdtm`` (``--out DIR``, new or empty: SDTM IG 3.4
datasets as Dataset-JSON 1.1 and SAS XPORT v5 with ``define.json``; ``--format json|xpt|both``).

Exit codes (DESIGN §6): 0 written; 2 a usage error (an unknown kind, both --cutoff and
--datacut); 3 bad input (a bad date, an unknown user or study, a user who may not export,
a data-cut file that does not verify, a path that cannot be written), nothing written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

from trialdesk.cli.errors import UserError

BAD_INPUT = 3
USAGE = 2
# trialdesk.exports.services.EXPORT_KINDS, named here so that the parser is built without Django
KINDS = ("odm", "csv", "fhir", "ctgov-results", "sdtm")
FOLDER_KINDS = ("csv", "sdtm")  # written as a folder of files; the others as one file


def register(subparsers) -> None:
    export = subparsers.add_parser(
        "export",
        help="export the study's data: CDISC ODM 1.3.2 (odm) or tidy CSV with a data dictionary (csv)",
        description="Write the study's data as the operator (every site) or as the user named by --as "
        "(their sites; pseudonymised for a statistician), from the database up to a cut-off or from a "
        "data-cut file. Audited with the content's SHA-256; nothing is written half.",
        epilog="Exit codes: 0 written, 2 usage error, 3 bad input (nothing written).",
    )
    export.add_argument(
        "kind",
        choices=KINDS,
        metavar="KIND",
        help="one of " + ", ".join(KINDS) + " (a folder: " + ", ".join(FOLDER_KINDS) + ")",
    )
    source = export.add_mutually_exclusive_group()
    source.add_argument(
        "--cutoff",
        metavar="DATE",
        help="the last clinical date included, YYYY-MM-DD (default: today in Europe/Paris)",
    )
    source.add_argument("--datacut", type=Path, metavar="FILE.json", help="export a data-cut file")
    export.add_argument(
        "--as", dest="username", metavar="USERNAME", help="export as this user may see the data"
    )
    export.add_argument(
        "--study", metavar="NCT_ID", help="the study (needed when the database holds several)"
    )
    export.add_argument("--out", type=Path, metavar="PATH", help="the file (odm) or folder (csv) to write")
    export.add_argument("--json", action="store_true", help="print the result as JSON")
    export.add_argument(
        "--format",
        choices=("json", "xpt", "both"),
        help="sdtm only: Dataset-JSON 1.1, SAS XPORT v5 or both (default)",
    )
    export.set_defaults(handler=run_export)


def _progress(subjects: int) -> None:
    if subjects % 500 == 0:
        print(f"… {subjects} subjects written", file=sys.stderr, flush=True)


def _cutoff(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--cutoff {text!r} is not a date: give it as YYYY-MM-DD.", BAD_INPUT) from None


def check_out(kind: str, out: Path | None) -> None:
    """The destination can be written: a file in an existing folder (odm), a new or empty folder (csv)."""
    if out is None:
        what = "DIR" if kind in FOLDER_KINDS else "FILE"
        raise UserError(f"--out: say where to write the export: --out {what}.", BAD_INPUT)
    parent = out.parent if str(out.parent) else Path(".")
    if kind not in FOLDER_KINDS and out.is_dir():
        raise UserError(f"--out {out}: it is a folder; the {kind} export is one file.", BAD_INPUT)
    if kind in FOLDER_KINDS and out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out}: not a folder; the {kind} export is a folder of files.", BAD_INPUT)
        if any(out.iterdir()):
            raise UserError(f"--out {out}: the folder is not empty.", BAD_INPUT)
    if not parent.is_dir():
        raise UserError(f"--out {out}: no folder {parent}.", BAD_INPUT)
    if not os.access(parent, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise UserError(f"--out {out}: permission denied.", BAD_INPUT)


def run_export(args) -> int:
    if args.format is not None and args.kind != "sdtm":
        raise UserError(
            f"--format {args.format}: only the sdtm export has formats; {args.kind} has one.", USAGE
        )
    cutoff = _cutoff(args.cutoff)
    check_out(args.kind, args.out)
    if args.datacut is not None and not args.datacut.is_file():
        raise UserError(f"--datacut {args.datacut}: no such file.", BAD_INPUT)
    if args.datacut is not None and args.username:
        raise UserError(
            "--as: a data-cut file was made for its own viewer; give --as only with --cutoff.", BAD_INPUT
        )
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.cli.datacut import _study
    from trialdesk.datacut import trial_today
    from trialdesk.exports.services import ExportRefused, export_role
    from trialdesk.exports.services import run_export as export

    try:
        study = _study(args.study)
    except UserError as exc:
        raise UserError(str(exc), BAD_INPUT) from None
    snapshot, datacut_sha256, viewer = None, "", None
    if args.datacut is not None:
        snapshot, datacut_sha256 = _datacut(args.datacut, study)
    else:
        viewer = _viewer(args.username, study, export_role, ExportRefused)
        cutoff = cutoff or trial_today()
    from trialdesk.exchange.sdtm.export import FORMAT_CHOICES, chosen_formats

    try:
        with chosen_formats(FORMAT_CHOICES[args.format or "both"]):
            result = export(
                study,
                args.kind,
                args.out,
                viewer=viewer,
                cutoff=cutoff,
                snapshot=snapshot,
                datacut_sha256=datacut_sha256,
                progress=_progress,
            )
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write: {exc.strerror or exc}.", BAD_INPUT) from None
    who = (
        viewer.get_username()
        if viewer is not None
        else ("the data cut's viewer" if snapshot else "the operator")
    )
    if args.json:
        print(
            json.dumps(
                {
                    "kind": result.kind,
                    "path": str(result.path),
                    "sha256": result.sha256,
                    "subjects": result.subjects,
                    "records": result.records,
                    "files": list(result.files),
                    "pseudonymised": result.pseudonymised,
                    "as": viewer.get_username() if viewer is not None else None,
                }
            )
        )
    else:
        print(
            f"Wrote {result.path}: {study.nct_id} {result.kind}, {result.subjects} subjects, {result.records} "
            f"records as {who}{' (pseudonymised)' if result.pseudonymised else ''}, sha256 {result.sha256}."
        )
    return 0


def _viewer(username: str | None, study, export_role, refused):
    if username is None:
        return None
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise UserError(f"--as {username}: no active user {username!r}.", BAD_INPUT)
    try:
        export_role(user, study)
    except refused:
        raise UserError(
            f"--as {username}: {username} may not export the data of {study.nct_id}.", BAD_INPUT
        ) from None
    return user


def _datacut(path: Path, study):
    from trialdesk.snapshot import DataCutError, read_datacut, verify_datacut

    try:
        checked = verify_datacut(path)
    except DataCutError as exc:
        raise UserError(f"--datacut {path}: {exc}", BAD_INPUT) from None
    snapshot = read_datacut(path)
    if snapshot.study.nct_id != study.nct_id:
        raise UserError(
            f"--datacut {path}: a data cut of {snapshot.study.nct_id}, not {study.nct_id}.", BAD_INPUT
        )
    if snapshot.protocol_sha256 != study.protocol_sha256:
        raise UserError(
            f"--datacut {path}: made under another version of the protocol of {study.nct_id} "
            f"(sha256 {snapshot.protocol_sha256[:12]}…, the database's is {study.protocol_sha256[:12]}…).",
            BAD_INPUT,
        )
    return snapshot, checked.get("sha256", "")
