"""How a datum reads to a user: one function for a value, one for a field's label (DESIGN §8).

``display_value`` turns a stored value of a protocol form into what a page shows: a choice
as its label in the user's language, a boolean as Yes/No (Oui/Non), a date in the display
convention (ISO, ``YYYY-MM-DD``), a number with its unit, nothing as an em dash.
``field_label`` gives a field's label. A field whose values are verbatim English of a
reference (a CTCAE term, the system organ class it fills) is marked as such by
``marked_value`` (``lang="en"``), what the template tags show. Codes never reach the visible text: pages may keep
them in tooltips (``title="…"``), exports keep them as they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import pgettext

from trialdesk.crf.rendering import localised

EMPTY = "—"


def _field(form: Any, field_code: str) -> Any:
    if form is None:
        return None
    return next((f for f in getattr(form, "fields", ()) if f.code == field_code), None)


def yes_no(value: Any) -> str:
    """``True`` -> Yes, ``False`` -> No, nothing -> —, in the active language."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            value = True
        elif lowered in ("false", "0", "no"):
            value = False
        else:
            return value
    return pgettext("boolean", "Yes") if value else pgettext("boolean", "No")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def plain(value: Any) -> str:
    """A value of no known field: booleans as Yes/No, nothing as —, dates in ISO, lists joined."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _display(form: Any, field_code: str, value: Any) -> str:
    field = _field(form, field_code)
    if field is None:
        return plain(value)
    if value is None or value == "":
        return EMPTY
    if field.type == "boolean":
        return yes_no(value)
    if field.type == "choice":
        choice = next((c for c in field.choices if c.value == str(value)), None)
        return localised(choice, "label") if choice is not None else str(value)
    if field.type == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if field.type in ("integer", "decimal"):
        number = _number(value)
        unit = localised(field, "unit")
        return f"{number} {unit}" if unit else number
    return str(value)


def display_value(form: Any, field_code: str, value: Any, language: str | None = None) -> str:
    """What a page shows for ``value`` of ``form``'s field ``field_code``, in ``language``
    (the active language if not given)."""
    if language is None:
        return _display(form, field_code, value)
    with translation.override(language):
        return _display(form, field_code, value)


def verbatim_english(form: Any, field_code: str) -> bool:
    """Whether the values of ``form``'s field ``field_code`` are verbatim English of a
    reference, shown as published (there is no official French): a CTCAE term, and what a
    CTCAE term fills from its list (the MedDRA code, the system organ class). The pages mark
    them ``lang="en"`` (:func:`marked_value`)."""
    field = _field(form, field_code)
    if field is None:
        return False
    if field.type == "ctcae_term":
        return True
    return any(
        f.ctcae is not None and field_code in (f.ctcae.meddra_field, f.ctcae.soc_field)
        for f in getattr(form, "fields", ())
    )


def marked_value(form: Any, field_code: str, value: Any, language: str | None = None) -> str:
    """:func:`display_value` for an HTML page: escaped, and inside ``<span lang="en"
    translate="no">`` when the field's values are verbatim English (:func:`verbatim_english`),
    inside ``<span translate="no">`` when they are a person's words (a text field)."""
    from django.utils.html import conditional_escape, format_html

    text = display_value(form, field_code, value, language)
    if text != EMPTY and verbatim_english(form, field_code):
        return format_html('<span lang="en" translate="no">{}</span>', text)
    field = _field(form, field_code)
    if text != EMPTY and field is not None and field.type == "text":  # a person's words, as typed
        return format_html('<span translate="no">{}</span>', text)
    return conditional_escape(text)


def field_label(form: Any, field_code: str, language: str | None = None) -> str:
    """The field's label in the user's language; a field the form does not know shows its
    code (an obsolete field of an old record is still named)."""
    field = _field(form, field_code)
    if field is None:
        return field_code
    if language is None:
        return localised(field, "label")
    with translation.override(language):
        return localised(field, "label")


def form_title(protocol: Any, form_code: str) -> str:
    try:
        return localised(protocol.form(form_code), "title")
    except (KeyError, AttributeError):
        return form_code


def visit_title(protocol: Any, visit_code: str) -> str | None:
    """The protocol visit's title in the user's language (None: the protocol has no such visit)."""
    try:
        return localised(protocol.visit(visit_code), "title")
    except (KeyError, AttributeError):
        return None


def summary_columns(form: Any, limit: int = 6) -> list[Any]:
    """The columns of a log form's table: the form's first field (what the entry is: a date,
    a CTCAE term, a medication), then its fields in order that are not free text (dates,
    products, grades…), ``limit`` in all."""
    fields = list(getattr(form, "fields", ()))
    if not fields:
        return []
    return ([fields[0]] + [f for f in fields[1:] if f.type != "text"])[:limit]


#: languages that put a (no-break) space before a colon
COLON_SPACED = {"fr"}


def colon() -> str:
    """The colon after a label as the active language writes it: "Summary:", "Synthèse :"."""
    language = (translation.get_language() or "en").split("-")[0]
    return "\u00a0:" if language in COLON_SPACED else ":"


def role_label(role: Any) -> str:
    """A role's code (``data_manager``) as its label in the active language; '' for none."""
    from trialdesk.studies.models import Role

    if not role:
        return ""
    try:
        return str(Role(role).label)
    except ValueError:
        return str(role)


# --------------------------------------------------------------------------- values the services record


@dataclass(frozen=True)
class RecordedValues:
    """How the values an app's services record in the audit trail read (they are no fields
    of a form): registered by the app, for its object type, in its ``AppConfig.ready``.

    ``labels``: a key's label (``gettext_lazy``); ``choices``: a key whose values are codes,
    with their labels (a ``TextChoices`` class or a mapping of code to label); ``typed``: keys
    whose values are a person's own words, shown as typed (marked ``translate="no"``)."""

    labels: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    choices: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    typed: frozenset[str] = frozenset()


_recorded: dict[str, RecordedValues] = {}


def register_recorded_values(object_type: str, values: RecordedValues) -> None:
    _recorded[object_type] = values


def recorded_key_label(object_type: str, key: str) -> str | None:
    """The label of a key an app records for ``object_type``, in the active language."""
    label = _recorded.get(object_type, RecordedValues()).labels.get(key)
    return str(label) if label is not None else None


def recorded_choice_label(object_type: str, key: str, value: Any) -> str | None:
    """The label of a code an app records under ``key`` (None: it registered no choices)."""
    choices = _recorded.get(object_type, RecordedValues()).choices.get(key)
    if choices is None or not isinstance(value, str):
        return None
    if isinstance(choices, Mapping):
        label = choices.get(value)
        return str(label) if label is not None else None
    try:
        return str(choices(value).label)
    except ValueError:
        return None


def is_typed_text(object_type: str, key: str) -> bool:
    """Whether the values an app records under ``key`` are a person's own words."""
    return key in _recorded.get(object_type, RecordedValues()).typed
