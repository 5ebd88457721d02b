"""`trialdesk casebook pdf SUBJECT --out FILE --as USERNAME [--study NCT_ID] [--language en|fr]`.

The PDF casebook of one subject (``trialdesk.exports.casebook_pdf``), as the user named by
``--as`` may read it — the same rule as the casebook page's "PDF casebook" button (the
subject's site's investigators and coordinators, its monitors, the data manager) — audited
as an export with the SHA-256 of its content. SUBJECT is the subject code or the screening
number.

Exit codes (DESIGN §6): 0 written; 2 a usage error; 3 bad input (an unknown user, study or
subject, a user who may not download that casebook, a file that cannot be written), each
named in one line, nothing written.
"""

from __future__ import annotations

import os
from pathlib import Path

from trialdesk.cli.errors import UserError

BAD_INPUT = 3


def register(subparsers) -> None:
    casebook = subparsers.add_parser("casebook", help="a subject's casebook (the PDF for the archive)")
    commands = casebook.add_subparsers(dest="casebook_command", metavar="COMMAND")
    pdf = commands.add_parser(
        "pdf",
        help="write a subject's PDF casebook",
        description="Every form with its values, the log entries, the audit trail, the signatures and the "
        "queries of one subject, as a PDF, as the user named by --as may read it (audited as an export).",
        epilog="Exit codes: 0 written, 2 usage error, 3 bad input (nothing written).",
    )
    pdf.add_argument("subject", metavar="SUBJECT", help="the subject code or the screening number")
    pdf.add_argument("--out", type=Path, required=True, metavar="FILE", help="the PDF file to write")
    pdf.add_argument("--as", dest="username", required=True, metavar="USERNAME", help="the reader")
    pdf.add_argument("--study", metavar="NCT_ID", help="the study (needed when the database holds several)")
    pdf.add_argument(
        "--language", choices=("en", "fr"), default="en", help="the casebook's language (default: en)"
    )
    pdf.set_defaults(handler=run_pdf)
    casebook.set_defaults(handler=lambda args: casebook.print_help() or 2)


def run_pdf(args) -> int:
    out: Path = args.out
    if out.exists() and out.is_dir():
        raise UserError(f"--out {out}: is a folder; give the PDF file's name.", BAD_INPUT)
    if not out.parent.is_dir() or not os.access(out.parent, os.W_OK):
        raise UserError(
            f"--out {out}: the folder {out.parent} does not exist or cannot be written.", BAD_INPUT
        )
    from trialdesk.cli.app import setup_django

    setup_django()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import PermissionDenied
    from django.db.models import Q
    from django.http import Http404
    from django.utils import translation

    from trialdesk.cli.datacut import _study
    from trialdesk.exports.casebook_pdf import casebook_pdf
    from trialdesk.subjects.models import Subject

    study = _study(args.study)
    user = get_user_model().objects.filter(username=args.username, is_active=True).first()
    if user is None:
        raise UserError(f"--as: no active user {args.username!r}.", BAD_INPUT)
    subject = (
        Subject.objects.for_user(user, study)
        .filter(Q(subject_code=args.subject) | Q(screening_number=args.subject))
        .first()
    )
    if subject is None:  # not in the study, or outside the user's sites: the same answer
        raise UserError(f"SUBJECT {args.subject}: no such subject among {args.username}'s sites.", BAD_INPUT)
    try:
        with translation.override(args.language):
            made = casebook_pdf(user, study, subject.pk)
    except (PermissionDenied, Http404):
        raise UserError(
            f"--as {args.username}: may not download the casebook of {args.subject}.", BAD_INPUT
        ) from None
    temporary = out.with_name(f".{out.name}.part")
    try:
        temporary.write_bytes(made.pdf)
        os.replace(temporary, out)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UserError(f"--out {out}: cannot write: {exc.strerror or exc}.", BAD_INPUT) from None
    print(
        f"Wrote {out}: casebook of {subject.label} ({study.nct_id}), content SHA-256 {made.content_sha256}."
    )
    return 0
