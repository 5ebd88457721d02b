"""The per-subject rows the charts draw, from one Analysis (plain values, no Django).

Every fact is the analysis's (``trialdesk.analysis``), computed by the clinical core: the best
response, the nadir of the marrow blasts and its change from the baseline
(``CourseOfDisease.best_blast_change_pct``), the doses, the first response, relapse or
progression, the serious adverse events, the LVEF series, the HER2-positive blasts. This module
only gathers them per chart, in the order the chart draws them. Codes stay codes here (a
response category): the charts turn them into words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from trialdesk.analysis.endpoints import Analysis
from trialdesk.clinical.response import ResponseCategory
from trialdesk.clinical.survival import DAYS_PER_MONTH

__all__ = [
    "Series",
    "SwimmerRow",
    "WaterfallBar",
    "her2_series",
    "lvef_series",
    "lvef_threshold",
    "months_between",
    "swimmer",
    "waterfall",
]


def months_between(start: dt.date, day: dt.date) -> float:
    """Months from ``start`` to ``day`` (the survival analysis's month of 30.4375 days)."""
    return (day - start).days / DAYS_PER_MONTH


# --------------------------------------------------------------------------- waterfall


@dataclass(frozen=True)
class WaterfallBar:
    label: str
    site: str
    baseline_blasts: float
    nadir_blasts: float
    change_pct: float  # best change from the baseline, in % (negative: fewer blasts)
    best: ResponseCategory | None  # best confirmed response


def waterfall(analysis: Analysis) -> tuple[tuple[WaterfallBar, ...], tuple[str, ...]]:
    """Each treated subject's best change in marrow blasts, largest increase first (the
    waterfall's order); and the treated subjects without a marrow after the baseline."""
    bars, missing = [], []
    for f in analysis.subjects:
        if not f.treated:
            continue
        change = f.course.best_blast_change_pct
        if change is None:
            missing.append(f.label)
            continue
        bars.append(
            WaterfallBar(
                f.label,
                f.site,
                f.course.baseline.assessment.marrow_blasts,
                f.course.nadir_marrow_blasts,
                change,
                f.course.confirmed.best,
            )
        )
    bars.sort(key=lambda b: (-b.change_pct, b.label))
    return tuple(bars), tuple(missing)


# --------------------------------------------------------------------------- swimmer plot


@dataclass(frozen=True)
class SwimmerRow:
    label: str
    site: str
    first_dose: dt.date
    last_dose: dt.date
    end: dt.date  # the end of the time on study known: death, last known alive, or the date of the data
    doses: tuple[dt.date, ...]
    best: ResponseCategory | None
    first_response_on: dt.date | None
    failure: ResponseCategory | None
    failure_on: dt.date | None
    serious_events: tuple[dt.date, ...]  # onsets of the serious adverse events
    death_on: dt.date | None
    ongoing: bool  # still on study at the date of the data

    @property
    def months_on_study(self) -> float:
        return months_between(self.first_dose, self.end)

    @property
    def months_on_treatment(self) -> float:
        return months_between(self.first_dose, self.last_dose)


def swimmer(analysis: Analysis) -> tuple[SwimmerRow, ...]:
    """Each treated subject's time on study from the first dose, longest first."""
    rows = []
    for f in analysis.subjects:
        if not f.treated or f.first_dose_on is None:
            continue
        last = f.last_dose_on or f.first_dose_on
        death = f.survival.death_date if f.os is not None and f.os.event else None
        end = f.os.end if f.os is not None else last
        end = max(end, last)
        rows.append(
            SwimmerRow(
                label=f.label,
                site=f.site,
                first_dose=f.first_dose_on,
                last_dose=last,
                end=end,
                doses=f.dose_dates,
                best=f.course.confirmed.best,
                first_response_on=f.course.confirmed.first_response_on,
                failure=f.course.confirmed.failure,
                failure_on=f.course.confirmed.failure_on,
                serious_events=tuple(e.onset for e in f.adverse_events if e.serious and e.onset is not None),
                death_on=death,
                ongoing=f.snapshot.status == "enrolled" and death is None,
            )
        )
    rows.sort(key=lambda r: (-(r.end - r.first_dose).days, r.label))
    return tuple(rows)


# --------------------------------------------------------------------------- series over time


@dataclass(frozen=True)
class Series:
    label: str
    site: str
    start: dt.date  # the first dose (month 0)
    points: tuple[tuple[dt.date, float], ...]

    @property
    def months(self) -> tuple[float, ...]:
        return tuple(months_between(self.start, day) for day, _ in self.points)

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(value for _, value in self.points)


def _series(analysis: Analysis, points_of) -> tuple[Series, ...]:
    out = []
    for f in analysis.subjects:
        if not f.treated:
            continue
        # one point per day and value (a value recorded on two forms of the same visit counts once)
        points = tuple(sorted(set(points_of(f))))
        if points:
            out.append(Series(f.label, f.site, f.first_dose_on or points[0][0], points))
    return tuple(out)


def her2_series(analysis: Analysis) -> tuple[Series, ...]:
    """The HER2-positive blasts (%) of each treated subject, baseline included."""
    return _series(analysis, lambda f: f.course.her2)


def lvef_series(analysis: Analysis) -> tuple[Series, ...]:
    """The LVEF (%) of each treated subject, baseline included."""
    return _series(analysis, lambda f: f.lvef)


def lvef_threshold(protocol: Any) -> float | None:
    """The protocol's LVEF below which the study drug is withheld (with a drop), if it has one."""
    try:
        rules = protocol.dose_rules
    except KeyError:
        return None
    hold = getattr(rules, "cardiac_hold", None) if rules is not None else None
    return None if hold is None else float(hold.below_pct)
