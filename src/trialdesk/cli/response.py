"""``trialdesk response INPUT.json [--protocol FILE] [--json]``.

Derives the response of one marrow assessment by the protocol's response criteria
(DESIGN §4). INPUT.json holds the command's own keys (not a form's field codes):

  baseline_marrow_blasts_pct   number, 0-100: marrow blasts before treatment
  marrow_blasts_pct            number, 0-100: marrow blasts of this assessment
  circulating_blasts           true/false: blasts seen in the blood
  extramedullary_disease       true/false: extramedullary disease present
  anc                          number >= 0: absolute neutrophil count, 10^9/L
  platelets                    number >= 0: platelets, 10^9/L
  nadir_marrow_blasts_pct      optional number, 0-100 (default: the baseline)
  previous_best_response       optional: CR, CRp, PR or NR (default: none yet)
  new_extramedullary_disease   optional true/false: the disease is new since baseline (default false)

Prints the response and why; --json prints {"response": ..., "explanation": ...}.
Exit codes: 0 done, 3 bad input (unreadable JSON, a missing, unknown or impossible
value, a wrong type) with one line naming the field.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from trialdesk.cli.eligibility import _load_protocol, _read_json
from trialdesk.cli.errors import UserError

EXIT_BAD_INPUT = 3

_PERCENT = (0.0, 100.0)
_COUNT = (0.0, math.inf)
#: key -> (kind, range of a number, required)
_KEYS: dict[str, tuple[str, tuple[float, float] | None, bool]] = {
    "baseline_marrow_blasts_pct": ("number", _PERCENT, True),
    "marrow_blasts_pct": ("number", _PERCENT, True),
    "circulating_blasts": ("boolean", None, True),
    "extramedullary_disease": ("boolean", None, True),
    "anc": ("number", _COUNT, True),
    "platelets": ("number", _COUNT, True),
    "nadir_marrow_blasts_pct": ("number", _PERCENT, False),
    "previous_best_response": ("category", None, False),
    "new_extramedullary_disease": ("boolean", None, False),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "response",
        help="derive the response of one marrow assessment by the protocol's response criteria",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", metavar="INPUT.json", help="the assessment as JSON ('-' reads standard input)"
    )
    parser.add_argument(
        "--protocol", metavar="FILE", type=Path, help="protocol file (default: the packaged NCT00724360)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


class _BadField(Exception):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key, self.message = key, message


def _value(key: str, raw: Any) -> Any:
    from trialdesk.clinical.response import ResponseCategory

    kind, bounds, _required = _KEYS[key]
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise _BadField(key, f"must be true or false, not {json.dumps(raw)}")
        return raw
    if kind == "category":
        allowed = [c.value for c in (ResponseCategory.CR, ResponseCategory.CRP, ResponseCategory.PR)]
        allowed.append(ResponseCategory.NO_RESPONSE.value)
        if raw is None:
            return None
        if not isinstance(raw, str) or raw not in allowed:
            raise _BadField(key, f"must be one of {', '.join(allowed)}, not {json.dumps(raw)}")
        return ResponseCategory(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _BadField(key, f"must be a number, not {json.dumps(raw)}")
    value = float(raw)
    assert bounds is not None
    low, high = bounds
    if not math.isfinite(value) or value < low or value > high:
        where = f"between {low:g} and {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise _BadField(key, f"{value:g} is impossible: it must be {where}")
    return value


def parse_input(document: Any) -> dict[str, Any]:
    """The checked values of INPUT (``_BadField`` naming the first wrong key)."""
    if not isinstance(document, dict):
        raise _BadField("", "the input must be a JSON object of the keys listed in --help")
    unknown = sorted(set(document) - set(_KEYS))
    if unknown:
        raise _BadField(unknown[0], "is not a key of this command (see trialdesk response --help)")
    values: dict[str, Any] = {}
    for key, (_kind, _bounds, required) in _KEYS.items():
        if key not in document or (document[key] is None and required):
            if required:
                raise _BadField(key, "is missing")
            values[key] = None
            continue
        values[key] = _value(key, document[key])
    return values


def run(args: argparse.Namespace) -> int:
    from trialdesk.clinical.response import MarrowAssessment, Nadir, classify_response

    protocol = _load_protocol(args.protocol)
    document = _read_json(args.input)
    try:
        v = parse_input(document)
        nadir = v["nadir_marrow_blasts_pct"]
        if nadir is not None and nadir > v["baseline_marrow_blasts_pct"]:
            raise _BadField("nadir_marrow_blasts_pct", "cannot be above the baseline (the nadir includes it)")
        if v["new_extramedullary_disease"] and not v["extramedullary_disease"]:
            raise _BadField("new_extramedullary_disease", "is true while extramedullary_disease is false")
    except _BadField as exc:
        where = f"field '{exc.key}': " if exc.key else ""
        raise UserError(f"{args.input}: {where}{exc.message}", EXIT_BAD_INPUT) from None

    circulating = None if v["circulating_blasts"] else 0.0
    assessment = MarrowAssessment(
        marrow_blasts=v["marrow_blasts_pct"],
        circulating_blasts=circulating,
        extramedullary=v["extramedullary_disease"],
        neutrophil_count=v["anc"],
        platelet_count=v["platelets"],
    )
    # "new" extramedullary disease: disease the baseline did not have
    baseline_emd = v["extramedullary_disease"] and not v["new_extramedullary_disease"]
    baseline = MarrowAssessment(marrow_blasts=v["baseline_marrow_blasts_pct"], extramedullary=baseline_emd)
    start = Nadir(v["baseline_marrow_blasts_pct"] if nadir is None else nadir)
    result = classify_response(
        assessment, baseline, start, v["previous_best_response"], protocol.response_criteria
    )
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
    else:
        print(f"{result.category.value}\n  {result.explanation}")
    return 0
