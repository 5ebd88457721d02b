"""Names of edit checks that read beyond their record (pure; never imports Django).

An edit check reads its own record's fields by code (``weight_kg``) and, through a
qualified name, values that live elsewhere in the casebook:

- ``previous.<field>``: the field in the previous non-voided record of the same log form,
  the records ordered by the form's date concept, then by repeat;
- ``subject.consent_date``, ``subject.first_dose_date``: dates of the subject;
- ``baseline.<field>``: the field in the baseline forms (:attr:`Protocol.baseline_forms`:
  the screening and day-1 visits), the first with a value.

A value that is not there (no previous record, no first dose yet) is missing: the check
is then UNKNOWN and never fails. The protocol validator refuses any other name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trialdesk.protocol.formdata import gettext_noop
from trialdesk.protocol.values import as_date as _as_date

__all__ = [
    "QUALIFIERS",
    "SUBJECT_FIELDS",
    "Entry",
    "baseline_values",
    "check_reads",
    "context_values",
    "order_key",
    "previous_entry",
    "qualified",
]

PREVIOUS, SUBJECT, BASELINE = "previous", "subject", "baseline"
QUALIFIERS = (PREVIOUS, SUBJECT, BASELINE)
#: what ``subject.<name>`` may read, and the type of each (a form field type)
SUBJECT_FIELDS: dict[str, str] = {"consent_date": "date", "first_dose_date": "date"}


def qualified(name: str) -> tuple[str, str] | None:
    """``("previous", "weight_kg")`` for ``previous.weight_kg``; None for a plain field code."""
    if "." not in name:
        return None
    qualifier, field = name.split(".", 1)
    return qualifier, field


def check_reads(rules: Iterable[str]) -> dict[str, set[str]]:
    """The qualified names the rules read, by qualifier (``{"previous": {"weight_kg"}}``)."""
    from trialdesk.rules import parse

    reads: dict[str, set[str]] = {}
    for rule in rules:
        for name in parse(rule).fields:
            parts = qualified(name)
            if parts is not None:
                reads.setdefault(parts[0], set()).add(parts[1])
    return reads


@dataclass(frozen=True)
class Entry:
    """One record of a log form as the ordering sees it."""

    key: Any  # whatever identifies the record for the caller (its primary key)
    repeat: int
    data: Mapping[str, Any]
    voided: bool = False


def order_key(date_field: str | None, repeat: int, data: Mapping[str, Any]) -> tuple:
    """Log entries in order: by their date (undated ones last), then by repeat."""
    day = _as_date(data.get(date_field)) if date_field else None
    return (day is None, day or dt.date.min, repeat)


def previous_entry(entries: Iterable[Entry], target: Entry, date_field: str | None) -> Entry | None:
    """The last non-voided entry before ``target`` in log order (``target`` itself left out)."""
    target_key = order_key(date_field, target.repeat, target.data)
    best: tuple[tuple, Entry] | None = None
    for entry in entries:
        if entry.voided or entry.repeat == target.repeat:
            continue
        key = order_key(date_field, entry.repeat, entry.data)
        if key < target_key and (best is None or key > best[0]):
            best = (key, entry)
    return best[1] if best else None


def baseline_values(forms: list[str], records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Field code -> value of the baseline forms (``forms`` in precedence order, ``records``
    form code -> data): the first form with a value for a field gives it."""
    values: dict[str, Any] = {}
    for form in forms:
        for field, value in (records.get(form) or {}).items():
            if value is not None and values.get(field) is None:
                values[field] = value
    return values


def context_values(
    reads: Mapping[str, set[str]],
    *,
    previous: Mapping[str, Any] | None = None,
    subject: Mapping[str, Any] | None = None,
    baseline: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of the qualified names a form's checks read (None where absent)."""
    sources = {PREVIOUS: previous or {}, SUBJECT: subject or {}, BASELINE: baseline or {}}
    return {
        f"{qualifier}.{field}": sources.get(qualifier, {}).get(field)
        for qualifier, fields in reads.items()
        for field in fields
    }


# --------------------------------------------------------------------------- the death rules
#
# Two rules of every protocol that maps the ``date_of_death`` concept, run on every save
# (not edit checks of one form: they read the whole casebook):
#
# - DEATH-DATE: a form that states the death states the date the subject's other records
#   state (the end of study and the follow-up agree);
# - AFTER-DEATH: a record of any other form is not dated (by its form's date concept)
#   after the death. The forms that report the death may be dated on or after it.
#
# Both raise a query, never refuse: which of the two dates is wrong is known only from the
# source documents, and refusing would leave the true one impossible to enter until the
# other is corrected (with two forms each refusing the other's date, never).

#: the context key of the death date the subject's other records state
DEATH_DATE_KEY = f"{SUBJECT}.death_date"
DEATH_MISMATCH = "DEATH-DATE"
AFTER_DEATH = "AFTER-DEATH"
DEATH_CONCEPT = "date_of_death"


def death_fields(protocol: Any) -> dict[str, str]:
    """Form code -> the field that states the death date (the forms that report the death)."""
    if not protocol.has_concept(DEATH_CONCEPT):
        return {}
    fields: dict[str, str] = {}
    for ref in protocol.concept(DEATH_CONCEPT):
        fields.setdefault(ref.form, ref.field)
    return fields


def death_rules_apply(protocol: Any, form_code: str) -> bool:
    """Whether the death rules read anything of ``form_code`` (a death date or a dating field)."""
    if not protocol.has_concept(DEATH_CONCEPT):
        return False
    return form_code in death_fields(protocol) or protocol.date_concept_field(form_code) is not None


def stated_death_date(protocol: Any, records: Iterable[tuple[str, Mapping[str, Any]]]) -> dt.date | None:
    """The death date records state (``(form code, data)``, the most recent first), by the
    concept's precedence: the first form that states one, its most recent record."""
    fields = death_fields(protocol)
    found: dict[str, dt.date] = {}
    for form_code, data in records:
        field = fields.get(form_code)
        day = _as_date(data.get(field)) if field else None
        if day is not None and form_code not in found:
            found[form_code] = day
    for form_code in fields:
        if form_code in found:
            return found[form_code]
    return None


@dataclass(frozen=True)
class DeathFinding:
    code: str  # DEATH_MISMATCH or AFTER_DEATH
    field: str
    template: str
    params: Mapping[str, Any]


_MISMATCH = gettext_noop(
    "The date of death (%(date)s) differs from the date of death stated elsewhere in the casebook (%(elsewhere)s)."
)
_AFTER = gettext_noop("This record is dated %(date)s, after the death of the patient on %(died_on)s.")


def death_findings(protocol: Any, form_code: str, values: Mapping[str, Any]) -> list[DeathFinding]:
    """What the death rules find wrong with one record's ``values`` (its typed fields and
    ``subject.death_date``, the death date the subject's other records state)."""
    death = _as_date(values.get(DEATH_DATE_KEY))
    if death is None:
        return []
    fields = death_fields(protocol)
    if form_code in fields:
        stated = _as_date(values.get(fields[form_code]))
        if stated is not None and stated != death:
            return [
                DeathFinding(
                    DEATH_MISMATCH,
                    fields[form_code],
                    _MISMATCH,
                    {"date": stated.isoformat(), "elsewhere": death.isoformat()},
                )
            ]
        return []
    date_field = protocol.date_concept_field(form_code)
    day = _as_date(values.get(date_field)) if date_field else None
    if date_field and day is not None and day > death:
        return [
            DeathFinding(
                AFTER_DEATH, date_field, _AFTER, {"date": day.isoformat(), "died_on": death.isoformat()}
            )
        ]
    return []


def death_rule_holds(protocol: Any, form_code: str, code: str, values: Mapping[str, Any]) -> bool | None:
    """Whether the death rule ``code`` now holds for a record (None when ``code`` is not one).
    It holds only when it can be seen to: both dates known and in agreement."""
    if code not in (DEATH_MISMATCH, AFTER_DEATH):
        return None
    death = _as_date(values.get(DEATH_DATE_KEY))
    if death is None:
        return False
    return not any(f.code == code for f in death_findings(protocol, form_code, values))
