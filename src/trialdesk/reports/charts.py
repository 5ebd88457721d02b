"""Recruitment charts as SVG (matplotlib, no pyplot: thread-safe in app servers).

A chart is written into the page itself as an ``<img>`` with a ``data:`` URI: no
separate URL to protect, and the site's Content-Security-Policy (no inline styles,
which matplotlib's SVG is made of) holds, since an SVG image is its own document.

- ``cumulative_enrollment_chart``: cumulative enrollment per site and overall against
  the plan (a straight line from the first site activation to the target on the
  planned end).
- ``forecast_fan_chart``: the forecast as a fan. Each edge of the fan joins today's
  count (as_of, enrolled) to the target on the date by which the target is reached
  with probability q; the shaded bands hold the 80 % and 95 % prediction intervals,
  the line in the middle is the median date.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from django.utils.html import format_html  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from trialdesk.reports.recruitment import RecruitmentReport  # noqa: E402

SVG_STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller, searchable, readable by screen readers
    "svg.hashsalt": "trialdesk",  # stable element ids
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
ACCENT = "#0b5cad"
PLAN = "#5b6776"
WARN = "#b26a00"
# An upper bound for the x axis when a quantile lies decades away.
MAX_SPAN_DAYS = 366 * 15


@dataclass(frozen=True)
class Chart:
    svg: str
    label: str  # what the chart shows, for the img's alt text

    def img_tag(self):
        encoded = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        return format_html('<img src="data:image/svg+xml;base64,{}" alt="{}">', encoded, self.label)


def _chart(figure: Figure, label: str) -> Chart:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return Chart(text[text.index("<svg") :], label)


def _steps(dates: tuple[dt.date, ...], start: dt.date, end: dt.date) -> tuple[list[dt.date], list[int]]:
    xs, ys = [start], [0]
    for count, day in enumerate(sorted(dates), start=1):
        xs.append(day)
        ys.append(count)
    xs.append(end)
    ys.append(len(dates))
    return xs, ys


def cumulative_enrollment_chart(report: RecruitmentReport) -> Chart:
    start = report.overall.activated_on or (report.months[0].month if report.months else report.as_of)
    end = report.as_of
    if report.plan is not None:
        end = max(end, report.plan.end)
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(8, 3.6))
        axes = figure.add_subplot()
        if len(report.sites) > 1 and len(report.sites) <= 12:
            for site in report.sites:
                if site.enrollment_dates:
                    xs, ys = _steps(site.enrollment_dates, site.activated_on or start, report.as_of)
                    axes.step(xs, ys, where="post", linewidth=1, alpha=0.6, label=site.code)
        xs, ys = _steps(report.overall.enrollment_dates, start, report.as_of)
        axes.step(xs, ys, where="post", linewidth=2.2, color=ACCENT, label=report.overall.name)
        if report.plan is not None:
            axes.plot(
                [report.plan.start, report.plan.end],
                [0, report.plan.target],
                linestyle="--",
                color=PLAN,
                label=_("Plan"),
            )
            axes.axhline(report.plan.target, color=PLAN, linewidth=0.6, linestyle=":")
        axes.axvline(report.as_of, color=WARN, linewidth=0.8, linestyle=":")
        # a study activated today spans one day, not none (matplotlib widens an empty range itself, warning)
        axes.set_xlim(start, max(end, start + dt.timedelta(days=1)))
        axes.set_ylim(bottom=0)
        axes.set_ylabel(_("Patients enrolled (cumulative)"))
        axes.legend(loc="upper left", fontsize=8, frameon=False, ncol=2)
        figure.autofmt_xdate()
        return _chart(figure, _("Cumulative enrollment against the plan"))


def forecast_fan_chart(report: RecruitmentReport) -> Chart | None:
    forecast = report.forecast
    if forecast is None:
        return None
    as_of, enrolled, target = forecast.as_of, forecast.enrolled, forecast.target
    horizon = as_of + dt.timedelta(days=MAX_SPAN_DAYS)
    by_level = {round(p, 4): min(day, horizon) for p, day in forecast.quantiles}
    start = report.overall.activated_on or as_of
    right = max(by_level[max(by_level)], report.planned_end or as_of, as_of + dt.timedelta(days=30))
    right = min(right, horizon)
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(8, 3.6))
        axes = figure.add_subplot()
        xs, ys = _steps(report.overall.enrollment_dates, start, as_of)
        axes.step(xs, ys, where="post", linewidth=2.2, color=ACCENT, label=_("Enrolled"))
        if forecast.remaining > 0:
            levels = sorted(p for p in by_level if p < 0.5)
            for low in levels:
                high = round(1 - low, 4)
                if high not in by_level:
                    continue
                alpha = 0.10 + 0.5 * (low / 0.5) ** 1.5
                axes.fill(
                    [as_of, by_level[low], by_level[high]],
                    [enrolled, target, target],
                    color=ACCENT,
                    alpha=alpha * 0.35,
                    linewidth=0,
                )
            edges = (
                (0.025, 0.975, _("%(level)s interval") % {"level": "95 %"}, ":"),
                (0.10, 0.90, _("%(level)s interval") % {"level": "80 %"}, "-"),
            )
            for low, high, name, style in edges:
                for p in (low, high):
                    axes.plot(
                        [as_of, by_level[p]], [enrolled, target], color=ACCENT, linewidth=0.8, linestyle=style
                    )
                axes.plot([], [], color=ACCENT, linewidth=0.8, linestyle=style, label=name)
            axes.plot(
                [as_of, by_level[0.5]], [enrolled, target], color=ACCENT, linestyle="--", label=_("Median")
            )
        axes.axhline(target, color=PLAN, linewidth=0.8, linestyle=":", label=_("Target"))
        if report.planned_end is not None:
            axes.axvline(report.planned_end, color=WARN, linewidth=1.2, label=_("Planned end"))
        axes.set_xlim(start, right)
        axes.set_ylim(0, target * 1.08)
        axes.set_ylabel(_("Patients enrolled (cumulative)"))
        axes.legend(loc="upper left", fontsize=8, frameon=False)
        figure.autofmt_xdate()
        return _chart(figure, _("Forecast of the date the target is reached"))
