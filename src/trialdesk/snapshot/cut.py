"""What a data cut keeps: the trial as it stood on a date of its clinical calendar (pure).

A data cut answers "what did we know of the trial on the cut-off date": a record counts
from its clinical date (the date its form states: the infusion date, the onset of an
adverse event), not from when it was typed, and a subject's status is rolled back to the
one it had on that date (a patient who died after the cut-off is on study in it). Form
records without a clinical date fall back on the date they were entered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from trialdesk.protocol.values import as_date as _as_date

# Subject statuses (the shell's SubjectStatus values, which the snapshot carries as text).
SCREENING = "screening"
PENDING_ENROLLMENT = "pending_enrollment"
ENROLLED = "enrolled"
OFF_STUDY = frozenset({"completed", "withdrawn", "died"})


def record_date(protocol: Any, form_code: str, data: Mapping[str, Any]) -> dt.date | None:
    """The clinical date of a record: its form's date concept (``Protocol.date_concept_field``)."""
    field = protocol.date_concept_field(form_code)
    return _as_date(data.get(field)) if field else None


def after_cutoff(day: dt.date | None, cutoff: dt.date | None) -> bool:
    return cutoff is not None and day is not None and day > cutoff


def ended_on(protocol: Any, status: str, records: Iterable[tuple[str, Mapping[str, Any]]]) -> dt.date | None:
    """The date an off-study subject left the study: the death date for a death, else the end
    of study (the concepts ``date_of_death`` and ``study_ended_on``, by their precedence)."""
    by_form: dict[str, Mapping[str, Any]] = {}
    for form_code, data in records:
        by_form.setdefault(form_code, data)
    for concept in ("date_of_death", "study_ended_on") if status == "died" else ("study_ended_on",):
        if protocol.has_concept(concept):
            day = _as_date(protocol.read_concept_first(concept, by_form))
            if day is not None:
                return day
    return None


def status_on(
    status: str, *, enrolled_on: dt.date | None, left_on: dt.date | None, cutoff: dt.date | None
) -> str:
    """The subject's status on the cut-off date.

    - enrolled after it: still screening (or pending enrollment) then;
    - off study (completed, withdrawn, died) after it: still enrolled then;
    - otherwise the status as it is.
    """
    if cutoff is None:
        return status
    if status in OFF_STUDY or status == ENROLLED:
        if after_cutoff(enrolled_on, cutoff):
            return SCREENING
        if status in OFF_STUDY and after_cutoff(left_on, cutoff):
            return ENROLLED
    return status
