"""Fitting simulated values to the protocol's form definitions.

The simulator knows the clinical meaning of the field codes it fills (``marrow_blasts_pct``,
``weight_kg``…). The protocol decides which fields exist: :func:`conform` drops what a
form does not have, drops fields whose condition does not hold, and gives any other
required field a plain value of its type, so that a protocol with an extra field still
gets complete records. :func:`generic_data` fills a form the simulator knows nothing of.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from trialdesk.rules import Tri, parse


def condition_holds(condition: str | None, values: dict[str, Any]) -> bool:
    return condition is None or parse(condition).evaluate(values) is Tri.TRUE


def generic_value(field: Any, rng: random.Random, on: dt.date) -> Any:
    """A valid value of the field's type, inside its range."""
    kind = field.type
    if kind == "date":
        return on
    if kind == "boolean":
        return False
    if kind == "choice":
        return field.choices[0].value
    if kind in ("integer", "decimal"):
        low = field.min if field.min is not None else 0
        high = field.max if field.max is not None else max(low, 0) + 10
        value = low + (high - low) * rng.uniform(0.2, 0.5)
        return int(round(value)) if kind == "integer" else round(value, 1)
    text = "Not specified"
    return text[: field.max_length] if field.max_length else text


def conform(form: Any, data: dict[str, Any], rng: random.Random, on: dt.date) -> dict[str, Any]:
    """``data`` restricted to the form's fields that apply, with every applicable required
    field given a value (the simulator's own when it has one)."""
    known = {f.code: f for f in form.fields}
    values = {code: value for code, value in data.items() if code in known and value is not None}
    # Conditions may depend on fields that are themselves conditional: settle in a few passes.
    for _ in range(3):
        changed = False
        for f in form.fields:
            applies = condition_holds(f.condition, values)
            if not applies and f.code in values:
                del values[f.code]
                changed = True
            elif applies and f.required and f.code not in values:
                values[f.code] = generic_value(f, rng, on)
                changed = True
        if not changed:
            break
    return {f.code: values[f.code] for f in form.fields if f.code in values}


def generic_data(form: Any, rng: random.Random, on: dt.date) -> dict[str, Any]:
    """A plausible-enough record of a form the simulator has no clinical model for."""
    return conform(form, {f.code: generic_value(f, rng, on) for f in form.fields}, rng, on)
