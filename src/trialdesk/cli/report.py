"""`trialdesk report [--out DIR] [--cutoff DATE | --datacut FILE.json] [--safety-only] [--as USERNAME] [--language en|fr]`.

The analysis report of the study: ``report.html`` (one self-contained file, its plots
embedded, nothing fetched from the network) and ``report.pdf`` (WeasyPrint, from the same
HTML), written into DIR (default: the current folder). From the database as it stands up
to the cut-off (default: today in Europe/Paris), as the operator or as the user named by
``--as`` (their sites; pseudonymised for a statistician), or from a data-cut file (its
SHA-256 verified, the protocol of the study it names). ``--safety-only``: the DSMB's safety
report. A progress line on the terminal (stderr).

Exit codes (DESIGN §6): 0 written; 2 a usage error (both --cutoff and --datacut); 3 bad
input (a bad date, an unknown user or study, a data-cut file that does not verify or whose
protocol is not known, a folder that cannot be written), nothing written.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

from trialdesk.cli.errors import UserError

BAD_INPUT = 3


def register(subparsers) -> None:
    report = subparsers.add_parser(
        "report",
        help="write the analysis report of the study (report.html and report.pdf)",
        description="Every endpoint of the protocol from one snapshot of the data (the database up to a "
        "cut-off, or a data-cut file), written as report.html (self-contained) and report.pdf.",
        epilog="Exit codes: 0 written, 2 usage error, 3 bad input (nothing written).",
    )
    report.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the folder to write report.html and report.pdf into (default: here)",
    )
    source = report.add_mutually_exclusive_group()
    source.add_argument(
        "--cutoff",
        metavar="DATE",
        help="the last clinical date included, YYYY-MM-DD (default: today in Europe/Paris)",
    )
    source.add_argument("--datacut", type=Path, metavar="FILE.json", help="report on a data-cut file")
    report.add_argument("--safety-only", action="store_true", help="the safety report only (for the DSMB)")
    report.add_argument(
        "--as",
        dest="username",
        metavar="USERNAME",
        help="the report as this user may see it (pseudonymised for a statistician)",
    )
    report.add_argument(
        "--study", metavar="NCT_ID", help="the study (needed when the database holds several)"
    )
    report.add_argument("--no-pdf", action="store_true", help="write report.html only")
    report.add_argument(
        "--language", choices=("en", "fr"), default="en", help="the report's language (default: en)"
    )
    report.set_defaults(handler=run_report)


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K… {message}", end="", file=sys.stderr, flush=True)
    else:
        print(f"… {message}", file=sys.stderr, flush=True)


def _check_folder(out: Path) -> None:
    if not out.exists():
        raise UserError(f"--out {out}: no such folder.", BAD_INPUT)
    if not out.is_dir():
        raise UserError(f"--out {out}: not a folder.", BAD_INPUT)
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: permission denied.", BAD_INPUT)


def _cutoff(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--cutoff {text!r} is not a date: give it as YYYY-MM-DD.", BAD_INPUT) from None


def run_report(args) -> int:
    cutoff = _cutoff(args.cutoff)
    _check_folder(args.out)
    if args.datacut is not None and not args.datacut.is_file():
        raise UserError(f"--datacut {args.datacut}: no such file.", BAD_INPUT)
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.analysis import analyse
    from trialdesk.reports.analysis_report import write_report

    if args.datacut is not None:
        if args.username:
            raise UserError(
                "--as: a data-cut file was made for its own viewer; give --as only with --cutoff.", BAD_INPUT
            )
        snapshot, sha256, protocol = _from_datacut(args.datacut, args.study)
    else:
        from trialdesk.cli.datacut import _study
        from trialdesk.datacut import build_snapshot, trial_today

        try:
            study = _study(args.study)
            viewer = _viewer(args.username, study)
        except UserError as exc:
            raise UserError(str(exc), BAD_INPUT) from None
        if viewer is not None:
            from trialdesk.reports.analysis_report import may_read
            from trialdesk.studies.access import study_access

            if not may_read(study_access(viewer, study), safety_only=args.safety_only):
                what = "safety report" if args.safety_only else "analysis"
                raise UserError(
                    f"--as {args.username}: may not read the {what} of {study.nct_id}.", BAD_INPUT
                )
        _progress("reading the data")
        cutoff = cutoff or trial_today()
        snapshot = build_snapshot(study, viewer=viewer, cutoff=cutoff).materialise()
        sha256 = _sha256_of(snapshot)
        protocol = study.protocol
    analysis = analyse(snapshot, protocol, snapshot_sha256=sha256, progress=_progress)
    import gc

    from django.utils import translation

    # the snapshot and its analysis are held while the documents are written: the collector need
    # not scan their millions of objects again and again meanwhile (set aside, then given back)
    gc.freeze()
    try:
        with translation.override(args.language):
            written = write_report(
                analysis,
                protocol,
                args.out,
                safety_only=args.safety_only,
                pdf=not args.no_pdf,
                progress=_progress,
            )
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write: {exc.strerror or exc}.", BAD_INPUT) from None
    finally:
        gc.unfreeze()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    r = analysis.response
    if args.safety_only:
        rate = f"{analysis.tolerance.events} adverse events"
    elif r.estimate is None:
        rate = "no subject treated yet"
    else:
        rate = (
            f"response rate {r.estimate.x}/{r.estimate.n} ({r.estimate.estimate * 100:.1f} %, 95 % CI "
            f"{r.estimate.lower * 100:.1f} to {r.estimate.upper * 100:.1f} %)"
        )
    print(
        f"Wrote {', '.join(str(p) for p in written)}: {analysis.nct_id}, {analysis.counts.get('subjects', 0)} "
        f"subjects, cut-off {analysis.cutoff.isoformat() if analysis.cutoff else 'none'}, {rate}."
    )
    return 0


def _viewer(username: str | None, study):
    """The active user named by --as (None: the operator); whether they may read the report is
    the report's rule (``reports.analysis_report.may_read``), checked by the caller."""
    if username is None:
        return None
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise UserError(f"--as: no active user {username!r}.", BAD_INPUT)
    return user


def _sha256_of(snapshot) -> str:
    from trialdesk.snapshot.datacut import content_sha256

    return content_sha256(snapshot)


def _from_datacut(path: Path, nct_id: str | None):
    from trialdesk.snapshot import DataCutError, load_datacut

    try:
        loaded = load_datacut(path)  # verified and read in one pass
    except DataCutError as exc:
        raise UserError(f"--datacut {path}: {exc}", BAD_INPUT) from None
    snapshot = loaded.snapshot
    if nct_id and snapshot.study.nct_id != nct_id:
        raise UserError(f"--datacut {path}: a data cut of {snapshot.study.nct_id}, not {nct_id}.", BAD_INPUT)
    return snapshot, loaded.sha256, _protocol_of(snapshot, path)


def _protocol_of(snapshot, path: Path):
    """The protocol the data cut was made under: the study's in the database, else the bundled
    protocol file of that NCT id when its SHA-256 is the data cut's."""
    from trialdesk.studies.models import Study

    study = Study.objects.filter(nct_id=snapshot.study.nct_id).first()
    if study is not None and study.protocol_sha256 == snapshot.protocol_sha256:
        return study.protocol
    import hashlib

    from trialdesk.protocol import load_protocol

    bundled = Path(__file__).resolve().parent.parent / "protocols" / f"{snapshot.study.nct_id}.yaml"
    if bundled.is_file() and hashlib.sha256(bundled.read_bytes()).hexdigest() == snapshot.protocol_sha256:
        return load_protocol(bundled)
    raise UserError(
        f"--datacut {path}: its protocol ({snapshot.study.nct_id}, sha256 {snapshot.protocol_sha256[:12]}…) "
        "is neither in this database nor bundled: install it first (trialdesk protocol install FILE).",
        BAD_INPUT,
    )
