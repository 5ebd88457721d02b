"""The `trialdesk` command: one command, one module per group of subcommands.

Each module in COMMAND_MODULES exposes ``register(subparsers)``, which adds its
subcommands and sets ``handler`` (a callable taking the parsed args and returning
an exit code). A ``UserError`` raised anywhere becomes one clear line on stderr,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from trialdesk.cli.errors import UserError

COMMAND_MODULES = [
    "trialdesk.cli.protocol",
    "trialdesk.cli.eligibility",
    "trialdesk.cli.response",
    "trialdesk.cli.dose",
    "trialdesk.cli.stats",
    "trialdesk.cli.app",
    "trialdesk.cli.audit",
    "trialdesk.cli.datacut",
    "trialdesk.cli.report",
    "trialdesk.cli.export",
    "trialdesk.cli.importing",
    "trialdesk.cli.token",
    "trialdesk.cli.worker",
    "trialdesk.cli.casebook",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trialdesk",
        description="Run a clinical trial end to end: protocol as code, EDC, audit trail, statistics.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"trialdesk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
