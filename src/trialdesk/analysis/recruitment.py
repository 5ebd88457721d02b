"""The recruitment plan of a protocol (pure): its target, its planned end and the linear plan.

- **target**: the protocol's enrollment figure (``identification.enrollment``): the
  registry's anticipated enrollment is the planned target; when the registry gives it as
  *actual* (a trial that ended) the actual count stands in for it (``planned`` False).
- **planned end**: the last day of the primary completion month
  (``identification.primary_completion_date``), else of the completion month. The
  registry gives no end-of-recruitment date; the primary completion date is the latest
  day the last patient can have been recruited by.
- **plan**: cumulative enrollment growing linearly from 0 on the first site activation to
  the target on the planned end (none when the planned end is not after the activation).

The recruitment dashboard (``reports.recruitment``) and the charts (``dashboards``) read
these; the forecast itself is ``trialdesk.stats.forecast``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Any

__all__ = ["Plan", "RecruitmentTarget", "plan_of", "planned_end", "recruitment_target"]


@dataclass(frozen=True)
class RecruitmentTarget:
    count: int
    planned: bool  # True: the registry's anticipated enrollment; False: the actual count stands in


@dataclass(frozen=True)
class Plan:
    start: dt.date
    end: dt.date
    target: int

    def expected_on(self, day: dt.date) -> float:
        if day <= self.start:
            return 0.0
        if day >= self.end:
            return float(self.target)
        return self.target * (day - self.start).days / (self.end - self.start).days


def _month_end(year_month: str) -> dt.date:
    year, month = (int(part) for part in year_month.split("-")[:2])
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def recruitment_target(protocol: Any) -> RecruitmentTarget:
    enrollment = protocol.identification.enrollment
    return RecruitmentTarget(enrollment.count, enrollment.type == "anticipated")


def planned_end(protocol: Any) -> dt.date | None:
    ident = protocol.identification
    chosen = ident.primary_completion_date or ident.completion_date
    return _month_end(chosen) if chosen else None


def plan_of(protocol: Any, first_activation: dt.date | None) -> Plan | None:
    """The linear plan from the first site activation (None: no activation, no planned end,
    or a planned end on or before the activation)."""
    end = planned_end(protocol)
    if first_activation is None or end is None or end <= first_activation:
        return None
    return Plan(first_activation, end, recruitment_target(protocol).count)
