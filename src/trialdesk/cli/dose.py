"""``trialdesk dose --weight KG [--weight-used KG] [--last-dose DATE --on DATE] [--protocol FILE] [--json]``.

Without ``--last-dose``, the loading dose; with it, the dose due on ``--on`` (default:
today): maintenance, late (flagged), or a new loading dose after a missed dose.
``--weight-used`` is the weight of the current prescription (default: ``--weight``); the
dose is recomputed on ``--weight`` when it differs from it by more than the protocol's
threshold. The rules and the weight range are the protocol's.

Exit codes: 0 done; 3 bad input (a weight not positive or outside the protocol's range,
``--on`` before ``--last-dose``, a malformed date), with one line naming the argument.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

from trialdesk.cli.errors import UserError

EXIT_BAD_INPUT = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dose",
        help="compute the dose of the study drug from the weight and the last dose",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--weight", metavar="KG", required=True, help="today's weight, in kg")
    parser.add_argument(
        "--weight-used",
        metavar="KG",
        help="the weight of the current prescription, in kg (default: --weight)",
    )
    parser.add_argument("--last-dose", metavar="DATE", help="date of the previous dose (YYYY-MM-DD)")
    parser.add_argument("--on", metavar="DATE", help="date of the dose (YYYY-MM-DD; default: today)")
    parser.add_argument(
        "--protocol", metavar="FILE", type=Path, help="protocol file (default: the packaged NCT00724360)"
    )
    parser.add_argument("--json", action="store_true", help="print the dose as JSON")
    parser.set_defaults(handler=run)


def _bad(argument: str, message: str) -> UserError:
    return UserError(f"{argument}: {message}", EXIT_BAD_INPUT)


def _date(argument: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise _bad(argument, f"{text!r} is not a date written YYYY-MM-DD") from None


def _weight(argument: str, text: str | None, low: float | None, high: float | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise _bad(argument, f"{text!r} is not a number of kg") from None
    if not math.isfinite(value) or value <= 0:
        raise _bad(argument, f"{text} kg: a weight must be a positive number of kg")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _bad(argument, f"{value:g} kg is outside the protocol's weight range ({low:g} to {high:g} kg)")
    return value


def _load_protocol(path: Path | None) -> Any:
    from trialdesk.protocol import ProtocolError, load_default_protocol, load_protocol

    try:
        return load_protocol(path) if path is not None else load_default_protocol()
    except ProtocolError as exc:
        first = exc.problems[0] if exc.problems else str(exc)
        more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
        raise _bad("--protocol", f"{first}{more}") from None
    except OSError as exc:
        raise _bad("--protocol", f"{path}: cannot be read ({exc.strerror})") from None


def run(args: argparse.Namespace) -> int:
    from trialdesk.clinical.dosing import propose_dose, weight_range

    protocol = _load_protocol(args.protocol)
    try:
        rules = protocol.dose_rules
    except KeyError:
        raise _bad("--protocol", f"protocol {protocol.nct_id} has no dose rules") from None
    low, high = weight_range(protocol)
    weight = _weight("--weight", args.weight, low, high)
    weight_used = _weight("--weight-used", args.weight_used, low, high)
    last = _date("--last-dose", args.last_dose)
    on = _date("--on", args.on)
    if on is not None and last is None:
        raise _bad("--on", "needs --last-dose (without it, the dose is the first, loading dose)")
    if on is None:
        on = dt.date.today()
    if last is not None and on < last:
        raise _bad("--on", f"{on.isoformat()} is before --last-dose {last.isoformat()}")
    assert weight is not None  # required by the parser
    proposal = propose_dose(
        rules,
        on,
        previous_dose_on=last,
        weight_now_kg=weight,
        weight_used_kg=weight_used if weight_used is not None else (weight if last is not None else None),
    )
    if args.json:
        print(json.dumps(proposal.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(
            f"{proposal.kind} dose: {proposal.mg_per_kg:g} mg/kg x {proposal.weight_kg:g} kg = "
            f"{proposal.dose_mg:g} mg ({proposal.vials} vial(s))"
        )
        for reason in proposal.reasons:
            print(f"  {reason}")
    return 0
