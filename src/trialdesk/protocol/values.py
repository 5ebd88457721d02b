"""Reading a stored value as what it means (pure): the one place that turns a record's
data (ISO text for dates, numbers or numeric text) into dates and numbers, so that every
rule reading a concept treats an empty, malformed or absent value the same way: as None."""

from __future__ import annotations

import datetime as dt
from typing import Any


def as_date(value: Any) -> dt.date | None:
    """A date (a datetime gives its date; ISO text is parsed); anything else, or malformed text: None."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def as_number(value: Any) -> float | None:
    """A number as a float (numeric text too); a boolean, empty or non-numeric value: None."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
