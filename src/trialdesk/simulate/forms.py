"""Fitting simulated values to the protocol's form definitions.

The simulator produces values named by clinical concept (``marrow_blasts``, ``body_weight``,
``red_cell_transfusion``…); the protocol's concept map says which form and field record
each one (:meth:`Protocol.concept_data`), and :class:`FormRoles` which form holds what.
The protocol decides which fields exist: :func:`conform` drops what a form does not
have, drops fields whose condition does not hold, and gives any other required field a
plain value of its type, so that a protocol with an extra field still gets complete
records. :func:`generic_data` fills a form the simulator knows nothing of.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FormRoles:
    """The forms the simulator models, found through the concept each one records (None
    when the protocol maps no such concept: the simulator then does not model it)."""

    screening: str
    marrow: str | None
    lvef: str | None
    baseline: str | None
    infusion: str | None
    transfusion: str | None
    adverse_event: str | None
    medication: str | None
    end_of_treatment: str | None
    follow_up: str | None
    end_of_study: str | None
    medical_history: str | None = None

    @classmethod
    def from_protocol(cls, protocol: Any) -> FormRoles:
        def form_of(concept: str) -> str | None:
            return protocol.concept_form(concept) if protocol.has_concept(concept) else None

        return cls(
            screening=protocol.eligibility.form,
            marrow=form_of("marrow_assessed_on"),
            lvef=form_of("lvef_assessed_on"),
            baseline=form_of("baseline_assessed_on"),
            infusion=form_of("dose_date"),
            transfusion=form_of("transfused_on"),
            adverse_event=form_of("adverse_event_onset"),
            medication=form_of("medication_started_on"),
            end_of_treatment=form_of("treatment_stopped_on"),
            follow_up=form_of("contacted_on"),
            end_of_study=form_of("study_ended_on"),
            medical_history=form_of("history_started_on"),
        )

    @property
    def modelled(self) -> frozenset[str]:
        """The forms the simulator has a clinical model for (the screening form included)."""
        return frozenset(code for code in vars(self).values() if code is not None)

    def at(self, visit: Any, form: str | None) -> bool:
        """Whether ``visit`` holds the form (False for a form the protocol does not have)."""
        return form is not None and form in visit.forms
