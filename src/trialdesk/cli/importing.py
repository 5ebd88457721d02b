"""`trialdesk import odm FILE.xml [--protocol FILE] [--json]`: a study's data back in.

Into an empty database (the folder's ``trialdesk.sqlite3``, created and migrated when new,
or ``DATABASE_URL``): the study from the protocol file (default: the protocol trialdesk
installs), checked against the file's ODM metadata; its sites; the users the file names
(inactive, no usable password, until invited); then the data through the audited services,
with the reason "import" (``trialdesk.exports.importing``). The file's audit trail and
signatures are kept as imported history, shown as such on the audit pages. One transaction:
on any failure nothing is imported.

Exit codes (DESIGN §6): 0 imported; 2 a usage error; 3 bad input (no such file, not XML,
not ODM 1.3.2, not valid against the schema, another study, metadata unlike the protocol, a
value outside its item's range, a record the protocol's rules refuse, a database that is not
empty) — one line naming the place, nothing imported.
"""

from __future__ import annotations

import json
from pathlib import Path

from trialdesk.cli.errors import UserError

BAD_INPUT = 3
FORMATS = ("odm",)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import a study's data into an empty database: CDISC ODM 1.3.2 (odm)",
        description="Import an ODM 1.3.2 file written by `trialdesk export odm` (or another system "
        "following the same metadata) into an empty database: the study from the protocol file, its "
        "sites and users, then the data through the audited services. One transaction: on any "
        "failure nothing is imported.",
        epilog="Exit codes: 0 imported, 2 usage error, 3 bad input (nothing imported).",
    )
    parser.add_argument("format", choices=FORMATS, metavar="FORMAT", help="odm (a CDISC ODM 1.3.2 file)")
    parser.add_argument("file", type=Path, metavar="FILE.xml", help="the file to import")
    parser.add_argument(
        "--protocol",
        type=Path,
        metavar="FILE",
        help="the protocol file of the study (default: the protocol trialdesk installs)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run_import)


def run_import(args) -> int:
    if not args.file.is_file():
        raise UserError(f"{args.file}: no such file.", BAD_INPUT)
    if args.protocol is not None and not args.protocol.is_file():
        raise UserError(f"--protocol {args.protocol}: no such file.", BAD_INPUT)
    from trialdesk.cli.app import setup_django

    setup_django(migrate=True)
    from trialdesk.exports.importing import ImportRefused, import_odm

    try:
        result = import_odm(args.file, args.protocol)
    except ImportRefused as exc:
        raise UserError(f"import refused, nothing imported: {exc}", BAD_INPUT) from None
    if args.json:
        print(
            json.dumps(
                {
                    "study": result.nct_id,
                    "sha256": result.file_sha256,
                    "sites": result.sites,
                    "users": result.users,
                    "subjects": result.subjects,
                    "records": result.records,
                    "supply": result.supply,
                    "audit_records": result.audit_records,
                    "signatures": result.signatures,
                }
            )
        )
    else:
        print(
            f"Imported {args.file.name} into {result.nct_id}: {result.sites} sites, {result.users} users "
            f"(inactive until invited), {result.subjects} subjects, {result.records} records, "
            f"{result.supply} drug supply movements; kept as imported history: {result.audit_records} "
            f"audit records and {result.signatures} signatures. sha256 {result.file_sha256}."
        )
    return 0
