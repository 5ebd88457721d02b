"""`trialdesk audit verify | anchor | new-key | rotate-key`: the audit trail from the command line.

Exit codes: 0 intact / done, 1 the trail is not intact (or signed with another key),
2 no usable key, 3 a file that is not a receipt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from trialdesk.cli.errors import UserError


def register(subparsers) -> None:
    audit = subparsers.add_parser("audit", help="the audit trail: verify it, anchor it, manage its key")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION")

    verify = actions.add_parser("verify", help="prove the chain intact, or name its first broken link")
    verify.add_argument("--anchor", type=Path, metavar="FILE", help="a receipt from `audit anchor`: prove nothing after it was cut off")
    verify.add_argument("--key-file", type=Path, metavar="FILE", help="the key ring to verify with (default: the one the server uses)")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=run_verify)

    anchor = actions.add_parser("anchor", help="write the head of the trail as a receipt to keep outside the database")
    anchor.add_argument("--out", type=Path, metavar="FILE", help="write the receipt here (default: print it)")
    anchor.set_defaults(handler=run_anchor)

    new_key = actions.add_parser("new-key", help="write a new random audit key file (refuses to overwrite one)")
    new_key.add_argument("--out", type=Path, required=True, metavar="FILE")
    new_key.set_defaults(handler=run_new_key)

    rotate = actions.add_parser(
        "rotate-key", help="add a new key to a key file: new events are signed with it, old ones still verify"
    )
    rotate.add_argument("--file", type=Path, required=True, metavar="FILE")
    rotate.set_defaults(handler=run_rotate_key)

    audit.set_defaults(handler=lambda args: audit.print_help() or 2)


def _key_ring(key_file: Path | None):
    from trialdesk.audit.keys import AuditKeyError, key_ring, read_key_file

    try:
        return read_key_file(key_file) if key_file else key_ring()
    except AuditKeyError as exc:
        raise UserError(str(exc), exit_code=2) from None


def run_verify(args) -> int:
    from trialdesk.audit.anchors import ReceiptError, read_receipt
    from trialdesk.cli.app import setup_django

    try:
        receipt = read_receipt(args.anchor) if args.anchor else None
    except ReceiptError as exc:
        raise UserError(str(exc), exit_code=3) from None
    ring = _key_ring(args.key_file)
    setup_django()
    from trialdesk.audit.services import verify

    verdict = verify(ring, anchor=receipt)
    if args.json:
        print(
            json.dumps(
                {
                    "intact": verdict.intact,
                    "count": verdict.count,
                    "first_broken_sequence": verdict.first_broken_sequence,
                    "problem": verdict.problem,
                    "wrong_key": verdict.wrong_key,
                    "anchored": receipt is not None,
                }
            )
        )
    elif verdict.intact:
        anchored = f", and it still holds the receipt's event {receipt['sequence']}" if receipt else ""
        print(f"OK: {verdict.count} audit events, the chain is intact{anchored}.")
    elif verdict.wrong_key:
        print(
            f"WRONG KEY: event {verdict.first_broken_sequence} {verdict.problem} ({ring.source}).",
            file=sys.stderr,
        )
    else:
        print(
            f"BROKEN: the audit trail is not intact at sequence {verdict.first_broken_sequence}: "
            f"{verdict.problem} ({verdict.count} events verified before it).",
            file=sys.stderr,
        )
    return 0 if verdict.intact else 1


def run_anchor(args) -> int:
    from trialdesk.cli.app import setup_django

    setup_django()
    from trialdesk.audit.anchors import make_receipt

    text = json.dumps(make_receipt(), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.write_text(text)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}", exit_code=3) from None
    receipt = json.loads(text)
    print(f"Wrote the receipt of event {receipt['sequence']} to {args.out}: keep it outside the database.")
    return 0


def run_new_key(args) -> int:
    from trialdesk.audit.keys import write_new_key

    if args.out.exists():
        raise UserError(f"{args.out} exists: use `trialdesk audit rotate-key --file {args.out}` to add a key", exit_code=2)
    try:
        identifier = write_new_key(args.out, append=False)
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}", exit_code=3) from None
    print(f"Wrote audit key {identifier} to {args.out} (readable by you only). Keep a copy: the trail verifies only with it.")
    return 0


def run_rotate_key(args) -> int:
    from trialdesk.audit.keys import AuditKeyError, read_key_file, write_new_key

    try:
        read_key_file(args.file)
        identifier = write_new_key(args.file, append=True)
    except AuditKeyError as exc:
        raise UserError(str(exc), exit_code=2) from None
    print(
        f"Added audit key {identifier} to {args.file}: new events are signed with it; the former keys stay to "
        "verify the events they signed. Restart the server to use it."
    )
    return 0
