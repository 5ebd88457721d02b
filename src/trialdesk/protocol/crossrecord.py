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


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


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
