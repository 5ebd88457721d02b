"""Validation of one form's data against its definition in the protocol (pure).

The same function serves the web form engine (raw strings from a POST), the API
and imports (typed JSON), and the simulator (typed Python values). It returns the
cleaned data as JSON-able values (dates as ISO strings) and every problem, field
by field, so a caller can show them next to what the user typed and save nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trialdesk.clinical import ctcae
from trialdesk.rules import Tri, parse

#: the key of errors that concern the whole form, not one field
FORM_LEVEL = "__form__"


@dataclass(frozen=True)
class CheckFailure:
    code: str
    message: str
    severity: str  # "error" blocks the save, "query" saves and raises a query
    fields: tuple[str, ...]


@dataclass
class FormValidation:
    cleaned: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    check_failures: list[CheckFailure] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    #: the values of the qualified names the edit checks read (``previous.weight_kg``, …)
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def complete(self) -> bool:
        """Every applicable required field has a value and nothing is wrong."""
        return self.ok and not self.missing_required

    def add_error(self, field_code: str, message: str) -> None:
        self.errors.setdefault(field_code, []).append(message)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _number(value: Any, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        number = value
    else:
        text = str(value).strip().replace(",", ".").replace("\u202f", "").replace(" ", "")
        number = float(text)
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError
    if integer:
        if float(number) != int(float(number)):
            raise ValueError
        return int(float(number))
    return float(number)


_TRUE = {"true", "yes", "1", "on", "oui", "y"}
_FALSE = {"false", "no", "0", "off", "non", "n"}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def gettext_noop(template: str) -> str:
    """Marks a message template for the translators (Django's makemessages finds it); the
    core itself stays English and Django-free, the shell translates ``Message.template``."""
    return template


class Message(str):
    """An English message that also carries its template and parameters, so that the web
    shell can show it in the user's language. It compares and prints as the English text.
    ``check_code`` names the edit check a message comes from (its text is in the protocol)."""

    template: str
    params: dict[str, Any]
    check_code: str | None

    def __new__(cls, template: str, check_code: str | None = None, **params: Any) -> Message:
        message = super().__new__(cls, template % params if params else template)
        message.template, message.params, message.check_code = template, params, check_code
        return message


_EXPECTED = {
    "integer": gettext_noop("Enter a whole number."),
    "decimal": gettext_noop("Enter a number."),
    "boolean": gettext_noop("Enter yes or no."),
    "date": gettext_noop("Enter a date (YYYY-MM-DD)."),
}


def coerce_value(field_def: Any, raw: Any) -> tuple[Any, Message | None]:
    """Typed value of one field, or an error message in plain words."""
    kind = field_def.type
    try:
        if kind == "integer":
            value: Any = _number(raw, integer=True)
        elif kind == "decimal":
            value = _number(raw, integer=False)
        elif kind == "boolean":
            value = _boolean(raw)
        elif kind == "date":
            value = _date(raw)
        elif kind == "ctcae_term":
            found = ctcae.pick(str(raw).strip())
            if found is None:
                return None, Message(
                    gettext_noop("Pick a CTCAE v5.0 term from the list, by its name or its MedDRA code.")
                )
            value = found.term
        elif kind == "choice":
            value = str(raw).strip()
            allowed = [choice.value for choice in field_def.choices]
            if value not in allowed:
                return None, Message(gettext_noop("Choose one of: %(choices)s."), choices=", ".join(allowed))
        else:
            value = str(raw).strip()
            limit = getattr(field_def, "max_length", None) or 2000
            if len(value) > limit:
                return None, Message(gettext_noop("At most %(limit)s characters."), limit=limit)
    except (ValueError, TypeError, OverflowError):
        return None, Message(_EXPECTED.get(kind, gettext_noop("Enter a value.")))
    if kind in ("integer", "decimal"):
        unit = f" {field_def.unit}" if getattr(field_def, "unit", None) else ""
        if field_def.min is not None and value < field_def.min:
            return None, Message(
                gettext_noop("Must be at least %(limit)s%(unit)s."), limit=_fmt(field_def.min), unit=unit
            )
        if field_def.max is not None and value > field_def.max:
            return None, Message(
                gettext_noop("Must be at most %(limit)s%(unit)s."), limit=_fmt(field_def.max), unit=unit
            )
    return value, None


def _fmt(number: float) -> str:
    return f"{number:g}"


#: the code of the query a value outside its field's expected range raises: ``RANGE.<field>``
RANGE_PREFIX = "RANGE."


def range_code(field_code: str) -> str:
    return f"{RANGE_PREFIX}{field_code}"[:50]


def range_field(code: str) -> str | None:
    """The field a ``RANGE.<field>`` code names, or None for any other code."""
    return code[len(RANGE_PREFIX) :] if code.startswith(RANGE_PREFIX) else None


def outside_expected(field_def: Any, value: Any) -> Message | None:
    """Why a (typed, possible) value lies outside the field's physiological range, or None
    when it is within it or the field declares none. Such a value is saved and queried."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    low, high = getattr(field_def, "expected_min", None), getattr(field_def, "expected_max", None)
    if low is None and high is None:
        return None
    if (low is not None and value < low) or (high is not None and value > high):
        unit = f" {field_def.unit}" if getattr(field_def, "unit", None) else ""
        expected = (
            f"{_fmt(low)}–{_fmt(high)}" if low is not None and high is not None
            else f"≥ {_fmt(low)}" if low is not None else f"≤ {_fmt(high)}"  # type: ignore[arg-type]
        )
        return Message(
            gettext_noop("%(value)s%(unit)s is outside the expected range (%(expected)s%(unit)s): please check it."),
            value=_fmt(value),
            unit=unit,
            expected=expected,
        )
    return None


def range_holds(form: Any, code: str, typed: Mapping[str, Any]) -> bool | None:
    """Whether the value of a ``RANGE.<field>`` check now lies within its expected range
    (None when ``code`` is not such a check of ``form``)."""
    field_code = range_field(code)
    if field_code is None or field_code not in getattr(form, "field_codes", ()):
        return None
    value = typed.get(field_code)
    return value is not None and outside_expected(form.field(field_code), value) is None


def to_json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def typed_values(form: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Stored (JSON) data back to typed values, for rules: ISO strings of date fields become dates."""
    typed: dict[str, Any] = {}
    for field_def in form.fields:
        value = data.get(field_def.code)
        if value is not None and field_def.type == "date" and isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                value = None
        typed[field_def.code] = value
    return typed


#: what an edit check reads beyond its record: the values themselves, or a function of the
#: record's typed values that returns them (the previous record depends on the record's date)
Context = Mapping[str, Any] | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None


def _ctcae_links(field_def: Any, typed: dict[str, Any], result: FormValidation) -> None:
    """A picked CTCAE term fills its MedDRA code and SOC from the list (a different code typed
    is refused), refuses a grade the term does not define, and needs the event's own words
    for an "Other, specify" term (and refuses them for any other)."""
    links = field_def.ctcae
    name = typed.get(field_def.code)
    term = ctcae.pick(name) if name else None
    if term is None:
        for code in (links.meddra_field, links.soc_field):
            if code and typed.get(code) is not None:
                result.add_error(code, Message(gettext_noop("Filled from the CTCAE term: pick the term.")))
        return
    if links.meddra_field:
        given = typed.get(links.meddra_field)
        if given is not None and str(given).strip() != str(term.meddra_code):
            result.add_error(
                links.meddra_field,
                Message(
                    gettext_noop("The MedDRA code of %(term)s is %(code)s."),
                    term=term.term,
                    code=term.meddra_code,
                ),
            )
        else:
            typed[links.meddra_field] = str(term.meddra_code)
    if links.soc_field:
        given = typed.get(links.soc_field)
        if given is not None and str(given).strip() != term.soc:
            result.add_error(
                links.soc_field,
                Message(
                    gettext_noop("The system organ class of %(term)s is %(soc)s."),
                    term=term.term,
                    soc=term.soc,
                ),
            )
        else:
            typed[links.soc_field] = term.soc
    grade = typed.get(links.grade_field) if links.grade_field else None
    if isinstance(grade, int) and not ctcae.grade_is_defined(term, grade):
        result.add_error(
            links.grade_field,
            Message(
                gettext_noop("CTCAE v5.0 defines no grade %(grade)s for %(term)s (its grades: %(allowed)s)."),
                grade=grade,
                term=term.term,
                allowed=", ".join(str(g) for g in term.allowed_grades),
            ),
        )
        typed[links.grade_field] = None
    if links.specify_field:
        words = typed.get(links.specify_field)
        if ctcae.is_other_specify(term):
            if words is None and links.specify_field not in result.errors:
                result.missing_required.append(links.specify_field)
        elif words is not None:
            result.add_error(
                links.specify_field,
                Message(
                    gettext_noop(
                        "Only an 'Other, specify' term takes the event's own words; leave this empty."
                    )
                ),
            )
            typed[links.specify_field] = None


def reads_beyond(form: Any) -> bool:
    """Whether an edit check of ``form`` reads a qualified name (``previous.``, ``subject.``, …)."""
    return any("." in name for check in form.edit_checks for name in parse(check.rule).fields)


def validate_form_data(form: Any, raw: Mapping[str, Any], context: Context = None) -> FormValidation:
    """Check ``raw`` against ``form``: types, ranges, required, conditions, edit checks.

    ``context`` gives the qualified names the edit checks read (see
    :mod:`trialdesk.protocol.crossrecord`); without it they are missing, so those checks
    are UNKNOWN and never fail. A failure lists only the record's own fields."""
    result = FormValidation()
    known = {f.code for f in form.fields}
    for key in raw:
        if key not in known:
            result.add_error(FORM_LEVEL, Message(gettext_noop("Unknown field '%(field)s'."), field=key))

    typed: dict[str, Any] = {}
    for field_def in form.fields:
        value = raw.get(field_def.code)
        if _is_missing(value):
            typed[field_def.code] = None
            continue
        coerced, message = coerce_value(field_def, value)
        if message:
            result.add_error(field_def.code, message)
            typed[field_def.code] = None
        else:
            typed[field_def.code] = coerced

    for field_def in form.fields:
        if field_def.type == "ctcae_term" and field_def.ctcae is not None:
            _ctcae_links(field_def, typed, result)

    # Conditions are evaluated on the typed values; a field whose condition is not
    # true does not apply: it must stay empty and is never required.
    for field_def in form.fields:
        applies = True
        if field_def.condition:
            applies = parse(field_def.condition).evaluate(typed) is Tri.TRUE
        value = typed.get(field_def.code)
        if not applies:
            if value is not None:
                result.add_error(
                    field_def.code,
                    Message(
                        gettext_noop("This field does not apply given the other answers; leave it empty.")
                    ),
                )
            continue
        if value is None:
            if field_def.required and field_def.code not in result.errors:
                result.missing_required.append(field_def.code)
            continue
        result.cleaned[field_def.code] = to_json_value(value)
        unusual = outside_expected(field_def, value)
        if unusual is not None:
            result.check_failures.append(
                CheckFailure(range_code(field_def.code), unusual, "query", (field_def.code,))
            )

    if result.ok:
        values = typed
        if context is not None and form.edit_checks and reads_beyond(form):
            extra = context(typed) if callable(context) else context
            result.context = dict(extra)
            values = {**typed, **{k: v for k, v in extra.items() if "." in k}}
        for check in form.edit_checks:
            expression = parse(check.rule)
            if expression.evaluate(values) is Tri.FALSE:
                failure = CheckFailure(
                    code=check.code,
                    message=check.message,
                    severity=check.severity,
                    fields=tuple(sorted(name for name in expression.fields if "." not in name)),
                )
                result.check_failures.append(failure)
                if check.severity == "error":
                    for field_code in failure.fields or (FORM_LEVEL,):
                        result.add_error(field_code, Message(check.message, check_code=check.code))
    return result
