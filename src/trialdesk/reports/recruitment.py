"""Recruitment monitoring and forecasting, computed from the database within the user's sites.

Figures (per site and overall, on an ``as_of`` date, from what is known today of the
patients screened up to that date):

- **screened**: screening episodes opened on or before ``as_of`` (a re-screening is a
  new episode);
- **eligible**: screened patients whose screening data met every criterion — enrolled
  patients (enrollment refuses anyone else), patients still in screening assessed
  eligible on ``as_of``, and screen failures with no criterion failed whose data were
  eligible on their screening date (e.g. consent withdrawn);
- **enrolled**: enrolled on or before ``as_of``;
- **screen-failure reasons**: the criteria recorded at each screen failure (a patient
  may fail several), then the free reasons of screen failures with no criterion failed.

Target and plan (both trial-wide, so shown only to users who see every site):

- **target**: the protocol's enrollment figure (``identification.enrollment``). When
  the registry gives it as *anticipated* it is the planned target; when it is *actual*
  (NCT00724360: 15, actual — the trial was terminated) the protocol file holds no planned
  target and the actual count stands in for it, which the page says.
- **planned end**: the last day of the protocol's primary completion month
  (``identification.primary_completion_date``), else of its completion month. The
  registry gives no end-of-recruitment date; the primary completion date is the latest
  day the last patient can have been recruited by.
- **plan**: cumulative enrollment growing linearly from 0 on the first site activation
  (``Site.activated_on``) to the target on the planned end.

The forecast is ``trialdesk.stats.forecast.forecast_recruitment`` (Poisson–gamma,
Anisimov & Fedorov 2007) on the activated sites' enrollment dates up to ``as_of``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from trialdesk.analysis.recruitment import Plan
from trialdesk.stats.forecast import ForecastError, RecruitmentForecast, SiteRecruitment, forecast_recruitment
from trialdesk.studies.access import study_access
from trialdesk.studies.models import Role, Site
from trialdesk.subjects.models import Subject, SubjectStatus
from trialdesk.subjects.screening import ON_STUDY, screening_records, verdict_of

DEFAULT_WARNING_PROBABILITY = 0.5
WARNED_ROLES = frozenset({Role.SPONSOR_ADMIN, Role.DATA_MANAGER})
SUBJECT_FIELDS = (
    "study_id",
    "site_id",
    "status",
    "screened_on",
    "enrolled_on",
    "screen_failure_criteria",
    "screen_failure_reason",
)


def warning_probability() -> float:
    """``TRIALDESK_FORECAST_WARNING_PROBABILITY`` (setting, else environment), default 0.5."""
    value = getattr(settings, "TRIALDESK_FORECAST_WARNING_PROBABILITY", None)
    if value is None:
        value = os.environ.get("TRIALDESK_FORECAST_WARNING_PROBABILITY", DEFAULT_WARNING_PROBABILITY)
    return float(value)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SiteFigures:
    code: str
    name: str
    city: str
    activated_on: dt.date | None
    screened: int
    eligible: int
    enrolled: int
    screen_failed: int
    enrollment_dates: tuple[dt.date, ...]
    as_of: dt.date

    @property
    def last_enrollment(self) -> dt.date | None:
        return max(self.enrollment_dates) if self.enrollment_dates else None

    @property
    def days_since_activation(self) -> int | None:
        if self.activated_on is None or self.activated_on > self.as_of:
            return None
        return (self.as_of - self.activated_on).days

    @property
    def days_since_last_enrollment(self) -> int | None:
        last = self.last_enrollment
        return None if last is None else (self.as_of - last).days

    @property
    def enrolled_per_month(self) -> float | None:
        days = self.days_since_activation
        if not days:
            return None
        return self.enrolled / (days / 30.44)


@dataclass(frozen=True)
class MonthFigures:
    month: dt.date  # first day of the month
    screened: int
    eligible: int
    enrolled: int
    cumulative_screened: int
    cumulative_eligible: int
    cumulative_enrolled: int
    planned: float | None  # cumulative enrollment of the plan at the month's end


@dataclass(frozen=True)
class FailureReason:
    code: str  # criterion code, "" for a free reason
    text: str  # the registry text of the criterion, or the free reason
    kind: str  # inclusion | exclusion | other
    source: str  # registry | operational | ""
    count: int


@dataclass(frozen=True)
class Target:
    count: int
    planned: bool  # True: the registry's anticipated enrollment; False: the actual count stands in
    note: str


@dataclass
class RecruitmentReport:
    as_of: dt.date
    sites: list[SiteFigures]
    overall: SiteFigures
    months: list[MonthFigures]
    failure_reasons: list[FailureReason]
    whole_study: bool  # the user sees every site: the trial-wide plan and forecast apply
    target: Target
    planned_end: dt.date | None
    plan: Plan | None
    forecast_input: list[SiteRecruitment] = field(default_factory=list)
    forecast: RecruitmentForecast | None = None
    forecast_problem: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def expected_now(self) -> float | None:
        return None if self.plan is None else self.plan.expected_on(self.as_of)


# --------------------------------------------------------------------------- protocol facts


def recruitment_target(protocol) -> Target:
    enrollment = protocol.identification.enrollment
    if enrollment.type == "anticipated":
        return Target(
            enrollment.count,
            True,
            _("Target: the registry's anticipated enrollment, %(n)s patients.") % {"n": enrollment.count},
        )
    return Target(
        enrollment.count,
        False,
        _(
            "The protocol file gives no planned enrollment target: the registry's enrollment "
            "(%(n)s, actual) is used as the target."
        )
        % {"n": enrollment.count},
    )


def planned_end(protocol) -> dt.date | None:
    from trialdesk.analysis.recruitment import planned_end as protocol_planned_end

    return protocol_planned_end(protocol)


# --------------------------------------------------------------------------- the report


def _first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def recruitment_report(user, study, as_of: dt.date, site_code: str | None = None) -> RecruitmentReport:
    """The figures of the sites the user sees (or of one of them), on ``as_of``.

    Raises ``LookupError`` when ``site_code`` is not a site the user sees.
    """
    access = study_access(user, study)
    protocol = study.protocol
    sites = list(Site.objects.filter(study=study, pk__in=access.site_ids).order_by("code"))
    if site_code:
        sites = [s for s in sites if s.code == site_code]
        if not sites:
            raise LookupError(site_code)
    whole_study = bool(sites) and {s.pk for s in sites} == set(access.all_site_ids)

    subjects = list(
        Subject.objects.for_user(user, study)
        .filter(site__in=sites, screened_on__lte=as_of)
        .only(*SUBJECT_FIELDS)
        .order_by("screened_on", "pk")
    )
    for subject in subjects:  # one study object, not its protocol text once per row
        subject.study = study
    need_assessment = [
        s
        for s in subjects
        if s.status == SubjectStatus.SCREENING
        or (s.status == SubjectStatus.SCREEN_FAILED and not s.screen_failure_criteria)
    ]
    records = screening_records(need_assessment)
    eligible_ids = {s.pk for s in subjects if s.status in ON_STUDY}
    for s in need_assessment:
        if verdict_of(s, records.get(s.pk), as_of)[0] == "eligible":
            eligible_ids.add(s.pk)

    def enrolled_on(s: Subject) -> dt.date | None:
        if s.status in ON_STUDY and s.enrolled_on is not None and s.enrolled_on <= as_of:
            return s.enrolled_on
        return None

    site_rows = []
    for site in sites:
        own = [s for s in subjects if s.site_id == site.pk]
        site_rows.append(
            SiteFigures(
                code=site.code,
                name=site.name,
                city=site.city,
                activated_on=site.activated_on,
                screened=len(own),
                eligible=sum(1 for s in own if s.pk in eligible_ids),
                enrolled=sum(1 for s in own if enrolled_on(s)),
                screen_failed=sum(1 for s in own if s.status == SubjectStatus.SCREEN_FAILED),
                enrollment_dates=tuple(sorted(d for s in own if (d := enrolled_on(s)))),
                as_of=as_of,
            )
        )
    activations = [s.activated_on for s in sites if s.activated_on]
    overall = SiteFigures(
        code="",
        name=_("All sites") if whole_study else _("Your sites"),
        city="",
        activated_on=min(activations) if activations else None,
        screened=sum(r.screened for r in site_rows),
        eligible=sum(r.eligible for r in site_rows),
        enrolled=sum(r.enrolled for r in site_rows),
        screen_failed=sum(r.screen_failed for r in site_rows),
        enrollment_dates=tuple(sorted(d for r in site_rows for d in r.enrollment_dates)),
        as_of=as_of,
    )

    target = recruitment_target(protocol)
    end = planned_end(protocol)
    plan = None
    notes: list[str] = []
    if whole_study:
        if overall.activated_on and end and end > overall.activated_on:
            plan = Plan(overall.activated_on, end, target.count)
        elif not overall.activated_on:
            notes.append(_("No site is activated yet: no plan to compare with."))

    report = RecruitmentReport(
        as_of=as_of,
        sites=site_rows,
        overall=overall,
        months=_months(subjects, eligible_ids, enrolled_on, overall.activated_on, as_of, plan),
        failure_reasons=_failure_reasons(subjects, protocol),
        whole_study=whole_study,
        target=target,
        planned_end=end,
        plan=plan,
        notes=notes,
    )
    if whole_study:
        _add_forecast(report, sites)
    return report


def _months(subjects, eligible_ids, enrolled_on, first_activation, as_of, plan) -> list[MonthFigures]:
    starts = [d for d in (first_activation, *(s.screened_on for s in subjects)) if d and d <= as_of]
    if not starts:
        return []
    screened = Counter(_first_of_month(s.screened_on) for s in subjects)
    eligible = Counter(_first_of_month(s.screened_on) for s in subjects if s.pk in eligible_ids)
    enrolled = Counter(_first_of_month(d) for s in subjects if (d := enrolled_on(s)))
    rows, month, last = [], _first_of_month(min(starts)), _first_of_month(as_of)
    totals = [0, 0, 0]
    while month <= last:
        totals = [totals[0] + screened[month], totals[1] + eligible[month], totals[2] + enrolled[month]]
        month_end = min(_next_month(month) - dt.timedelta(days=1), as_of)
        rows.append(
            MonthFigures(
                month,
                screened[month],
                eligible[month],
                enrolled[month],
                *totals,
                planned=None if plan is None else plan.expected_on(month_end),
            )
        )
        month = _next_month(month)
    return rows


def _failure_reasons(subjects, protocol) -> list[FailureReason]:
    criteria = {c.code: c for c in protocol.eligibility.criteria}
    by_code: Counter[str] = Counter()
    free: Counter[str] = Counter()
    free_text: dict[str, str] = {}
    for s in subjects:
        if s.status != SubjectStatus.SCREEN_FAILED:
            continue
        if s.screen_failure_criteria:
            by_code.update(set(s.screen_failure_criteria))
        else:
            text = " ".join((s.screen_failure_reason or "").split()) or _("No reason given")
            key = text.casefold()
            free[key] += 1
            free_text.setdefault(key, text)
    reasons = []
    for code, count in by_code.items():
        criterion = criteria.get(code)
        reasons.append(
            FailureReason(
                code=code,
                text=criterion.text if criterion else code,
                kind=criterion.kind if criterion else "",
                source=criterion.source if criterion else "",
                count=count,
            )
        )
    order = {c.code: i for i, c in enumerate(protocol.eligibility.criteria)}
    reasons.sort(key=lambda r: (-r.count, order.get(r.code, len(order)), r.code))
    others = [FailureReason("", free_text[key], "other", "", count) for key, count in free.items()]
    others.sort(key=lambda r: (-r.count, r.text))
    return reasons + others


def forecast_input(sites: list[Site], report: RecruitmentReport) -> tuple[list[SiteRecruitment], list[str]]:
    """The forecast's data: each activated site with its enrollment dates up to as_of."""
    by_code = {r.code: r for r in report.sites}
    rows, notes = [], []
    for site in sites:
        if site.activated_on is None:
            notes.append(_("Site %(code)s is not activated: left out of the forecast.") % {"code": site.code})
            continue
        rows.append(SiteRecruitment(site.code, site.activated_on, by_code[site.code].enrollment_dates))
    return rows, notes


def _add_forecast(report: RecruitmentReport, sites: list[Site]) -> None:
    rows, notes = forecast_input(sites, report)
    report.forecast_input = rows
    report.notes.extend(notes)
    if not rows:
        report.forecast_problem = _("No site is activated yet: no forecast.")
        return
    try:
        report.forecast = forecast_recruitment(
            rows, report.as_of, report.target.count, report.planned_end, seed=0
        )
    except ForecastError as problem:
        report.forecast_problem = str(problem)


def shows_warning(report: RecruitmentReport, access, threshold: float) -> bool:
    """The sponsor and the data manager are warned when the probability of reaching the
    target by the planned end is below the threshold."""
    forecast = report.forecast
    if forecast is None or forecast.probability_by_planned_end is None:
        return False
    if not (access.roles & WARNED_ROLES):
        return False
    return forecast.probability_by_planned_end < threshold
