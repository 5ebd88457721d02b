"""``trialdesk eligibility [--protocol FILE] INPUT.json [--json] [--as-of DATE]``.

Prints each criterion (status, code, explanation) then the verdict. Exit codes:
0 eligible, 1 not eligible, 2 not assessable, 3 bad input (unreadable JSON,
unknown field code, wrong type, impossible value) with one line naming the field.

INPUT.json holds the screening values by field code (``{"age_years": 40, ...}``),
or ``{"values": {...}, "value_dates": {"ast": "2024-01-02", ...}, "as_of": "2024-01-15"}``
to apply the protocol's screening window (a value measured more than
``window_days`` before ``as_of`` counts as missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from trialdesk.cli.errors import UserError

EXIT_ELIGIBLE, EXIT_NOT_ELIGIBLE, EXIT_NOT_ASSESSABLE, EXIT_BAD_INPUT = 0, 1, 2, 3
_EXIT = {"eligible": EXIT_ELIGIBLE, "not_eligible": EXIT_NOT_ELIGIBLE, "not_assessable": EXIT_NOT_ASSESSABLE}
_STATUS_WORDS = {"met": "met", "not_met": "NOT MET", "unknown": "unknown"}
_VERDICT_WORDS = {"eligible": "eligible", "not_eligible": "NOT ELIGIBLE", "not_assessable": "not assessable"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eligibility",
        help="assess a screened subject against the protocol's eligibility criteria",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", metavar="INPUT.json", help="screening values as JSON ('-' reads standard input)"
    )
    parser.add_argument(
        "--protocol", metavar="FILE", type=Path, help="protocol file (default: the packaged NCT00724360)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="reference day (YYYY-MM-DD) for the screening window; overrides as_of in the input",
    )
    parser.set_defaults(handler=run)


def _load_protocol(path: Path | None) -> Any:
    from trialdesk.protocol import ProtocolError, load_default_protocol, load_protocol

    try:
        return load_protocol(path) if path is not None else load_default_protocol()
    except ProtocolError as exc:
        first = exc.problems[0] if exc.problems else str(exc)
        more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
        raise UserError(f"protocol {first}{more}", EXIT_BAD_INPUT) from None


def _read_json(name: str) -> Any:
    try:
        if name == "-":
            text = sys.stdin.read()
        else:
            text = Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{name}: no such file", EXIT_BAD_INPUT) from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a directory, not a JSON file", EXIT_BAD_INPUT) from None
    except UnicodeDecodeError:
        raise UserError(f"{name}: not UTF-8 text", EXIT_BAD_INPUT) from None
    except OSError as exc:
        raise UserError(f"{name}: cannot be read ({exc.strerror})", EXIT_BAD_INPUT) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})", EXIT_BAD_INPUT
        ) from None
    except ValueError as exc:
        raise UserError(f"{name}: {exc}", EXIT_BAD_INPUT) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def run(args: argparse.Namespace) -> int:
    from trialdesk.clinical.eligibility import ScreeningInputError, assess_eligibility, coerce_screening_input

    protocol = _load_protocol(args.protocol)
    document = _read_json(args.input)
    try:
        screening = coerce_screening_input(protocol, document)
        as_of = screening.as_of
        if args.as_of:
            try:
                as_of = dt.date.fromisoformat(args.as_of)
            except ValueError:
                raise ScreeningInputError(
                    "--as-of", f"{args.as_of!r} is not a date written YYYY-MM-DD"
                ) from None
    except ScreeningInputError as exc:
        where = f"field '{exc.field}': " if exc.field else ""
        raise UserError(f"{args.input}: {where}{exc.message}", EXIT_BAD_INPUT) from None

    result = assess_eligibility(protocol, screening.values, screening.value_dates, as_of)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(_text(protocol, result))
    return _EXIT[result.verdict]


def _text(protocol: Any, result: Any) -> str:
    lines = [f"Eligibility — {getattr(protocol, 'nct_id', '')}".rstrip(" —")]
    width = max((len(c.code) for c in result.criteria), default=2)
    for criterion in result.criteria:
        status = _STATUS_WORDS[criterion.status]
        lines.append(f"  {status:<8} {criterion.code:<{width}}  {criterion.explanation}")
    verdict = f"Verdict: {_VERDICT_WORDS[result.verdict]}"
    if result.verdict == "not_eligible":
        verdict += f" (not met: {', '.join(c.code for c in result.not_met)})"
    elif result.verdict == "not_assessable":
        missing = ", ".join(result.missing)
        verdict += f" (unknown: {', '.join(c.code for c in result.unknown)}"
        verdict += f"; missing: {missing})" if missing else ")"
    lines.append(verdict)
    return "\n".join(lines)
