"""The visit calendar of a subject, planned from the protocol's schedule and its anchors (pure).

Day 0 is the first dose (DESIGN §3: "day 1" in clinical wording): visits anchored on
``first_dose`` are planned from the planned first dose at enrollment, and again from the
actual first infusion once it is given; visits anchored on ``end_of_treatment`` are
planned once treatment ends. A visit that already took place (it has an actual date) or
holds data keeps its dates when the calendar is planned again: re-planning moves only
what has not happened yet.

``plan_calendar`` is the one implementation; the enrollment service, the infusion and
end-of-treatment subscribers, the simulator and the analysis call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIRST_DOSE = "first_dose"
END_OF_TREATMENT = "end_of_treatment"


@dataclass(frozen=True)
class VisitState:
    """What a subject's visit holds now, as far as planning is concerned."""

    code: str
    planned_date: dt.date | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    actual_date: dt.date | None = None
    has_data: bool = False

    @property
    def frozen(self) -> bool:
        """Taken place or holding data: its dates are history, not a plan."""
        return self.actual_date is not None or self.has_data


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    title: str
    sequence: int
    anchor: str
    day: int | None
    planned_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    kept: bool = False  # dates left as they were (the visit took place or holds data)
    explanation: str = ""


def _target(visit: Any, anchor_date: dt.date | None) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    if anchor_date is None or visit.day is None:
        return None, None, None
    planned = anchor_date + dt.timedelta(days=visit.day)
    return (
        planned,
        planned - dt.timedelta(days=visit.window_before),
        planned + dt.timedelta(days=visit.window_after),
    )


def plan_calendar(
    schedule: Any,
    anchors: Mapping[str, dt.date | None],
    current: Iterable[VisitState] = (),
    *,
    fixed: Mapping[str, dt.date] | None = None,
) -> list[PlannedVisit]:
    """Every visit of the schedule with its planned date and window.

    ``anchors`` gives the date of each anchor that is known (``first_dose``,
    ``end_of_treatment``); a visit whose anchor is unknown, or an event-driven visit
    (``day: None``), has no planned date. ``fixed`` pins visits whose date does not come
    from an anchor (the screening visit on its screening date). ``current`` is what the
    subject's visits hold now: a visit that took place or holds data keeps its dates.
    """
    states = {state.code: state for state in current}
    pinned = dict(fixed or {})
    planned: list[PlannedVisit] = []
    for sequence, visit in enumerate(schedule.expanded_visits(), start=1):
        state = states.get(visit.code)
        anchor_date = anchors.get(visit.anchor)
        if state is not None and state.frozen and state.planned_date is None and visit.code not in pinned:
            # Took place or holds data before its anchor was known (the end-of-treatment visit
            # whose own form dates the end of treatment): its plan is filled in, nothing moves.
            target, start, end = _target(visit, anchor_date)
            if target is not None:
                planned.append(
                    PlannedVisit(
                        visit.code, visit.title, sequence, visit.anchor, visit.day, target, start, end, kept=True,
                        explanation=f"kept; its plan filled in: day {visit.day} from the "
                        f"{visit.anchor.replace('_', ' ')} on {anchor_date.isoformat()}",
                    )
                )
                continue
        if state is not None and state.frozen:
            planned.append(
                PlannedVisit(
                    visit.code, visit.title, sequence, visit.anchor, visit.day,
                    state.planned_date, state.window_start, state.window_end, kept=True,
                    explanation="kept: the visit took place or holds data",
                )
            )
            continue
        if visit.code in pinned:
            day = pinned[visit.code]
            before = dt.timedelta(days=visit.window_before)
            after = dt.timedelta(days=visit.window_after)
            planned.append(
                PlannedVisit(visit.code, visit.title, sequence, visit.anchor, visit.day, day, day - before, day + after,
                             explanation="on its own date")
            )
            continue
        target, start, end = _target(visit, anchor_date)
        if target is None:
            why = "event-driven: planned when it happens" if visit.day is None else f"waits for its anchor ({visit.anchor})"
        else:
            why = f"day {visit.day} from the {visit.anchor.replace('_', ' ')} on {anchor_date.isoformat()}"
        planned.append(
            PlannedVisit(visit.code, visit.title, sequence, visit.anchor, visit.day, target, start, end, explanation=why)
        )
    return planned


@dataclass(frozen=True)
class WindowCheck:
    ok: bool
    explanation: str


def screening_window_check(screened_on: dt.date, first_dose: dt.date, window_days: int) -> WindowCheck:
    """Eligibility is assessed within ``window_days`` before the first dose (the protocol's
    eligibility window): checked at enrollment against the planned first dose, and again
    at the first infusion against the actual one."""
    days = (first_dose - screened_on).days
    if days < 0:
        return WindowCheck(False, f"the first dose ({first_dose}) is before screening ({screened_on})")
    if days > window_days:
        return WindowCheck(
            False,
            f"screening on {screened_on} is {days} days before the first dose on {first_dose}, "
            f"more than the {window_days} days of the screening window",
        )
    return WindowCheck(True, f"screening {days} days before the first dose (at most {window_days})")
