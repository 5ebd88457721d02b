"""What a form page shows: each field of the protocol's form with its value, errors and applicability."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import get_language, gettext

from trialdesk.protocol.formdata import FormValidation, Message, typed_values, validate_form_data
from trialdesk.rules import Tri, parse


def translated(message: Any, form: Any) -> str:
    """A validation message of the core in the user's language (see ``formdata.Message``)."""
    if not isinstance(message, Message):
        return str(message)
    if message.check_code:
        check = next((c for c in form.edit_checks if c.code == message.check_code), None)
        return localised(check, "message") if check else str(message)
    text = gettext(message.template)
    return text % message.params if message.params else text


def system_rule(code: str) -> str | None:
    """The name, in the user's language, of a rule of the form engine that is not an edit
    check of the protocol (a physiological range, a death rule); None for any other code."""
    from trialdesk.protocol.crossrecord import AFTER_DEATH, DEATH_MISMATCH
    from trialdesk.protocol.formdata import range_field

    if range_field(code) is not None:
        return gettext("Physiological range")
    if code == DEATH_MISMATCH:
        return gettext("Same date of death on every form")
    if code == AFTER_DEATH:
        return gettext("Nothing dated after the death")
    return None


def system_rule_message(record: Any, code: str) -> str:
    """What a system rule finds now on a stored record, in the user's language ('' when it
    holds or is not a system rule)."""
    from trialdesk.crf.crossrecord import rule_values
    from trialdesk.protocol.crossrecord import death_findings
    from trialdesk.protocol.formdata import Message, outside_expected, range_field

    protocol = record.subject.study.protocol
    form = protocol.form(record.form_code)
    field_code = range_field(code)
    if field_code is not None:
        if field_code not in form.field_codes:
            return ""
        value = typed_values(form, record.data).get(field_code)
        message = outside_expected(form.field(field_code), value)
        return translated(message, form) if message else ""
    for found in death_findings(protocol, record.form_code, rule_values(record)):
        if found.code == code:
            return translated(Message(found.template, **found.params), form)
    return ""


def localised(obj: Any, name: str) -> str:
    """``obj.<name>_fr`` in French when the protocol gives it, else ``obj.<name>``."""
    if (get_language() or "en").startswith("fr"):
        french = getattr(obj, f"{name}_fr", None)
        if french:
            return french
    return getattr(obj, name, "") or ""


@dataclass
class FieldView:
    code: str
    label: str
    type: str
    unit: str
    help: str
    required: bool
    choices: list[tuple[str, str]]
    value: str
    applies: bool
    condition: str
    min: Any
    max: Any
    drives_conditions: bool = False  # another field's condition reads this one: re-render on change
    derived: bool = False  # filled at save from another field (a CTCAE term's MedDRA code and SOC)
    errors: list[str] = field(default_factory=list)
    missing_required: bool = False

    @property
    def input_type(self) -> str:
        return {"integer": "number", "decimal": "number", "date": "date"}.get(self.type, "text")

    @property
    def step(self) -> str:
        return "1" if self.type == "integer" else "any"


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_views(
    form, values: dict[str, Any], validation: FormValidation | None = None, live: set[str] = frozenset()
) -> list[FieldView]:
    """``values``: what to show in each input (the user's raw input after a failed
    save, the stored data otherwise). ``live``: fields a form panel reads (crf/panels.py),
    re-rendered on change like the ones a condition reads."""
    if validation is None:
        validation = validate_form_data(form, {k: v for k, v in values.items() if v not in (None, "")})
    typed = typed_values(form, validation.cleaned)
    drivers = {code for f in form.fields if f.condition for code in parse(f.condition).fields} | set(live)
    links = [f.ctcae for f in form.fields if getattr(f, "ctcae", None)]
    derived = {c for link in links for c in (link.meddra_field, link.soc_field) if c}
    views = []
    for f in form.fields:
        applies = True
        if f.condition:
            applies = parse(f.condition).evaluate(typed) is Tri.TRUE
        views.append(
            FieldView(
                code=f.code,
                label=localised(f, "label"),
                type=f.type,
                unit=localised(f, "unit"),
                help=localised(f, "help"),
                required=f.required,
                choices=[(c.value, localised(c, "label")) for c in f.choices],
                value=_display(values.get(f.code)),
                applies=applies,
                condition=f.condition or "",
                min=f.min,
                max=f.max,
                errors=[translated(message, form) for message in validation.errors.get(f.code, [])],
                missing_required=f.code in validation.missing_required,
                drives_conditions=f.code in drivers,
                derived=f.code in derived,
            )
        )
    return views
