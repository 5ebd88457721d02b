"""The numbers behind each chart of the dashboard, from one Analysis (plain values, no Django).

Every per-subject fact is the analysis's (``trialdesk.analysis``), computed by the clinical
core: the best response, the nadir of the marrow blasts and its change from the baseline
(``CourseOfDisease.best_blast_change_pct``), the doses, the first response, relapse or
progression, the adverse events and their grades, the LVEF series, the HER2-positive blasts.
This module only gathers them per chart, in the order the chart draws them (the rows the
report draws too — waterfall, swimmer, series over time — are ``trialdesk.charts.rows``'s); the recruitment
plan is ``analysis.recruitment``'s, the forecast ``stats.forecast``'s. Codes stay codes here
(a response category, a criterion's code): the page and the charts turn them into words.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from trialdesk.analysis.endpoints import Analysis
from trialdesk.analysis.recruitment import Plan, RecruitmentTarget, plan_of, planned_end, recruitment_target
from trialdesk.charts.rows import (
    Series,
    SwimmerRow,
    WaterfallBar,
    her2_series,
    lvef_series,
    lvef_threshold,
    swimmer,
    waterfall,
)
from trialdesk.snapshot.model import SiteSnapshot
from trialdesk.stats.forecast import DAYS_PER_MONTH as FORECAST_DAYS_PER_MONTH
from trialdesk.stats.forecast import ForecastError, RecruitmentForecast, SiteRecruitment, forecast_recruitment

__all__ = [
    "AdverseEventGrades",
    "Dashboard",
    "Enrollment",
    "FailureReason",
    "GradeCount",
    "adverse_event_grades",
    "dashboard_data",
    "enrollment",
    "screen_failures",
]


# --------------------------------------------------------------------------- recruitment


@dataclass(frozen=True)
class SiteEnrollment:
    code: str
    name: str
    activated_on: dt.date | None
    dates: tuple[dt.date, ...]  # enrollment dates, in order


@dataclass(frozen=True)
class Enrollment:
    as_of: dt.date
    sites: tuple[SiteEnrollment, ...]
    dates: tuple[dt.date, ...]  # every enrollment in scope, in order
    first_activation: dt.date | None
    whole_study: bool  # the viewer sees every site: the trial-wide plan and forecast apply
    target: RecruitmentTarget
    planned_end: dt.date | None
    plan: Plan | None
    forecast: RecruitmentForecast | None
    #: why there is no forecast: "" (there is one, or not whole_study), "no_site", "no_patient", "data"
    forecast_problem: str = ""

    @property
    def enrolled(self) -> int:
        return len(self.dates)

    @property
    def months_of_recruitment(self) -> float | None:
        """Months from the first site activation to the as-of date (the forecast's unit)."""
        if self.first_activation is None or self.first_activation > self.as_of:
            return None
        return ((self.as_of - self.first_activation).days + 1) / FORECAST_DAYS_PER_MONTH

    @property
    def open_sites(self) -> int:
        return sum(1 for s in self.sites if s.activated_on is not None and s.activated_on <= self.as_of)

    @property
    def expected_now(self) -> float | None:
        return None if self.plan is None else self.plan.expected_on(self.as_of)

    @property
    def target_reached_on(self) -> dt.date | None:
        count = self.target.count
        return self.dates[count - 1] if count and len(self.dates) >= count else None


def enrollment(
    analysis: Analysis, sites: tuple[SiteSnapshot, ...], protocol: Any, *, whole_study: bool
) -> Enrollment:
    """Cumulative enrollment per site and overall up to the analysis's date; with the whole
    study in view, the plan and the forecast of the date the target is reached."""
    as_of = analysis.as_of
    by_site: dict[str, list[dt.date]] = {s.code: [] for s in sites}
    for f in analysis.subjects:
        day = f.snapshot.enrolled_on
        if f.enrolled and day is not None and day <= as_of:
            by_site.setdefault(f.site, []).append(day)
    rows = tuple(
        SiteEnrollment(s.code, s.name, s.activated_on, tuple(sorted(by_site.get(s.code, ())))) for s in sites
    )
    activations = [s.activated_on for s in sites if s.activated_on is not None]
    first = min(activations) if activations else None
    target = recruitment_target(protocol)
    forecast, problem = None, ""
    plan = plan_of(protocol, first) if whole_study else None
    if whole_study:
        inputs = [
            SiteRecruitment(s.code, s.activated_on, s.dates) for s in rows if s.activated_on is not None
        ]
        if not inputs:
            problem = "no_site"
        elif not any(s.enrollment_dates for s in inputs):
            problem = "no_patient"
        else:
            try:
                forecast = forecast_recruitment(inputs, as_of, target.count, planned_end(protocol), seed=0)
            except ForecastError:
                problem = "data"
    return Enrollment(
        as_of=as_of,
        sites=rows,
        dates=tuple(sorted(d for s in rows for d in s.dates)),
        first_activation=first,
        whole_study=whole_study,
        target=target,
        planned_end=planned_end(protocol),
        plan=plan,
        forecast=forecast,
        forecast_problem=problem,
    )


# --------------------------------------------------------------------------- screen failures


@dataclass(frozen=True)
class FailureReason:
    code: str  # the criterion's code; "" for a screen failure without a criterion recorded
    kind: str  # inclusion | exclusion | ""
    text: str  # the registry's wording of the criterion (verbatim English)
    applied_as: str
    applied_as_fr: str
    source: str
    subjects: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.subjects)


def screen_failures(analysis: Analysis, protocol: Any) -> tuple[FailureReason, ...]:
    """The eligibility criteria failed at the screen failures (a patient may fail several),
    most frequent first, in the protocol's order on a tie; then those without a criterion."""
    criteria = {c.code: c for c in protocol.eligibility.criteria}
    order = {c.code: i for i, c in enumerate(protocol.eligibility.criteria)}
    rows = []
    for code, labels in analysis.flow.not_eligible_by_criterion.items():
        criterion = criteria.get(code)
        rows.append(
            FailureReason(
                code=code,
                kind=criterion.kind if criterion else "",
                text=criterion.text if criterion else "",
                applied_as=criterion.applied_as if criterion else "",
                applied_as_fr=(criterion.applied_as_fr or "") if criterion else "",
                source=criterion.source if criterion else "",
                subjects=tuple(labels),
            )
        )
    rows.sort(key=lambda r: (r.code == "", -r.count, order.get(r.code, len(order)), r.code))
    return tuple(rows)


# --------------------------------------------------------------------------- adverse events


@dataclass(frozen=True)
class GradeCount:
    grade: int | None  # None: not graded
    events: int
    serious: int
    subjects_at_worst: tuple[str, ...]  # subjects whose worst grade is this one


@dataclass(frozen=True)
class AdverseEventGrades:
    rows: tuple[GradeCount, ...]  # grades 1 to 5 (each, even at 0), then "not graded" if any
    treated: int
    with_an_event: int

    @property
    def events(self) -> int:
        return sum(r.events for r in self.rows)


def adverse_event_grades(analysis: Analysis) -> AdverseEventGrades:
    """Adverse events of the treated subjects (the tolerance population) by CTCAE grade."""
    events: Counter = Counter()
    serious: Counter = Counter()
    worst: dict[str, int | None] = {}
    for f in analysis.subjects:
        if not f.treated:
            continue
        for e in f.adverse_events:
            events[e.grade] += 1
            serious[e.grade] += e.serious
            if f.label not in worst:
                worst[f.label] = e.grade
            elif e.grade is not None and (worst[f.label] is None or e.grade > worst[f.label]):
                worst[f.label] = e.grade
    grades: list[int | None] = [
        1,
        2,
        3,
        4,
        5,
        *sorted(g for g in events if g is not None and not 1 <= g <= 5),
    ]
    if None in events:
        grades.append(None)
    rows = tuple(
        GradeCount(g, events[g], serious[g], tuple(sorted(label for label, w in worst.items() if w == g)))
        for g in grades
    )
    return AdverseEventGrades(rows, sum(1 for f in analysis.subjects if f.treated), len(worst))


# --------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class Dashboard:
    as_of: dt.date
    pseudonymised: bool
    site_codes: tuple[str, ...]  # the sites the dashboard covers
    subjects: int
    treated: int
    enrollment: Enrollment
    screen_failures: tuple[FailureReason, ...]
    screened: int
    screen_failed: int
    waterfall: tuple[WaterfallBar, ...]
    waterfall_missing: tuple[str, ...]
    swimmer: tuple[SwimmerRow, ...]
    her2: tuple[Series, ...]
    lvef: tuple[Series, ...]
    lvef_threshold: float | None
    adverse_events: AdverseEventGrades
    #: the fall of the marrow blasts from the baseline a partial response needs (the protocol's), in %
    pr_decrease_pct: float | None = None


def dashboard_data(
    analysis: Analysis, sites: tuple[SiteSnapshot, ...], protocol: Any, *, whole_study: bool
) -> Dashboard:
    bars, missing = waterfall(analysis)
    return Dashboard(
        as_of=analysis.as_of,
        pseudonymised=analysis.pseudonymised,
        site_codes=tuple(s.code for s in sites),
        subjects=len(analysis.subjects),
        treated=len(analysis.flow.treated),
        enrollment=enrollment(analysis, sites, protocol, whole_study=whole_study),
        screen_failures=screen_failures(analysis, protocol),
        screened=len(analysis.flow.screened),
        screen_failed=len(analysis.flow.not_eligible),
        waterfall=bars,
        waterfall_missing=missing,
        swimmer=swimmer(analysis),
        her2=her2_series(analysis),
        lvef=lvef_series(analysis),
        lvef_threshold=lvef_threshold(protocol),
        adverse_events=adverse_event_grades(analysis),
        pr_decrease_pct=float(protocol.response_criteria.pr_min_decrease_pct),
    )
