"""What the simulator needs to know of a protocol's schedule and calendar."""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def _month_start(text: str | None) -> dt.date | None:
    if not text:
        return None
    year, month = (int(part) for part in text.split("-")[:2])
    return dt.date(year, month, 1)


def _month_end(text: str | None) -> dt.date | None:
    start = _month_start(text)
    if start is None:
        return None
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


#: days from the end of recruitment to the "today" of a trial in progress
IN_PROGRESS_AFTER_RECRUITMENT = 30


@dataclass(frozen=True)
class StudyCalendar:
    """Study start, the last day a patient can start treatment, and the data cut-off.

    ``in_progress``: the cut-off is today in a trial still running (``in_progress_on``):
    what happens after it has not happened yet, and a subject still treated or followed up
    at the cut-off stays enrolled."""

    start: dt.date
    recruitment_end: dt.date
    cutoff: dt.date
    in_progress: bool = False

    def in_progress_on(self, today: dt.date) -> StudyCalendar:
        """The same calendar shifted so that ``today`` falls in its last months: a month
        after the end of recruitment, every patient enrolled, the last ones on treatment."""
        shift = today - (self.recruitment_end + dt.timedelta(days=IN_PROGRESS_AFTER_RECRUITMENT))
        return StudyCalendar(
            start=self.start + shift, recruitment_end=self.recruitment_end + shift, cutoff=today, in_progress=True
        )

    @classmethod
    def from_protocol(cls, protocol: Any) -> StudyCalendar:
        ident = protocol.identification
        start = _month_start(ident.start_date) or dt.date(2020, 1, 1)
        primary = _month_end(ident.primary_completion_date)
        cutoff = _month_end(ident.completion_date)
        if primary is None:
            primary = start + dt.timedelta(days=4 * 365)
        if cutoff is None or cutoff < primary:
            cutoff = primary + dt.timedelta(days=120)
        # The last patient's primary endpoint (response on the monthly marrows) is known
        # at the primary completion date: the last first dose is about two months before.
        recruitment_end = max(start + dt.timedelta(days=120), primary - dt.timedelta(days=60))
        return cls(start=start, recruitment_end=recruitment_end, cutoff=cutoff)


@dataclass(frozen=True)
class ScheduleMap:
    """The protocol's visits sorted by role."""

    order: dict[str, int]  # visit code -> position in the schedule
    screening: Any | None  # the visit holding the eligibility form
    day_one: list[Any]  # first-dose visits on day 0 (baseline)
    on_treatment: list[Any]  # first-dose visits after day 0, by day
    end_of_treatment: Any | None
    follow_up: list[Any]  # end-of-treatment-anchored visits after day 0, by day
    end_of_study: list[Any]  # event-driven visits (no day) holding the end-of-study form
    #: the other event-driven visits (a repeat cardiac assessment): opened by the site when needed
    unscheduled: list[Any] = field(default_factory=list)

    @classmethod
    def from_protocol(cls, protocol: Any) -> ScheduleMap:
        visits = list(protocol.schedule.expanded_visits())
        order = {v.code: i for i, v in enumerate(visits)}
        screening_form = protocol.eligibility.form
        screening = next((v for v in visits if screening_form in v.forms), None)
        first = [v for v in visits if v.anchor == "first_dose" and v.day is not None and v is not screening]
        day_one = [v for v in first if v.day <= 0]
        on_treatment = sorted((v for v in first if v.day > 0), key=lambda v: (v.day, order[v.code]))
        eot_anchored = [v for v in visits if v.anchor == "end_of_treatment" and v.day is not None]
        eot = min(eot_anchored, key=lambda v: v.day, default=None)
        follow_up = sorted((v for v in eot_anchored if v is not eot), key=lambda v: v.day)
        event_driven = [v for v in visits if v.day is None]
        ending = protocol.concept_form("study_ended_on") if protocol.has_concept("study_ended_on") else None
        end_of_study = [v for v in event_driven if ending is None or ending in v.forms]
        unscheduled = [v for v in event_driven if v not in end_of_study]
        return cls(order, screening, day_one, on_treatment, eot, follow_up, end_of_study, unscheduled)

    def with_form(self, visits: list[Any], form_code: str) -> list[Any]:
        return [v for v in visits if form_code in v.forms]
