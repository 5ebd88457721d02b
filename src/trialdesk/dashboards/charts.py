"""The dashboard's charts as SVG documents (matplotlib, Agg, no pyplot: thread-safe in app servers).

Each chart is served as an image by the dashboard's own view (``image/svg+xml``): the site's
Content-Security-Policy forbids inline styles in a page, and matplotlib's SVG is made of
``style`` attributes; an SVG image is its own document, with its own policy (no script at
all, its styles only). Every SVG carries a ``<title>`` and a ``<desc>``; the page gives the
same chart a caption and the table of its numbers (its text alternative).

The waterfall, the swimmer plot, HER2 and LVEF over time are the shared charts of
``trialdesk.charts`` (the analysis report draws the same ones), called here with the
dashboard's options (``OPTIONS``) and the active language (``datacut.chart_text``); the
enrollment, screen-failure and adverse-event charts are the dashboard's own, in the same style.

No information by colour alone: the response categories are coloured *and* hatched *and*
written on each bar; the markers of the swimmer plot differ by shape; each subject's series
is labelled at its end. Text is in the active language (axes, legends, dates and numbers by
locale); the palette is Okabe and Ito's, which colour-blind readers tell apart.
"""

from __future__ import annotations

import datetime as dt
import textwrap

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from trialdesk import charts as shared
from trialdesk.charts import Chart, ChartOptions
from trialdesk.charts.base import BLUE, GREY, INK, ORANGE, VERMILLION, legend_beside, svg_document
from trialdesk.clinical.response import ResponseCategory
from trialdesk.dashboards.data import Dashboard
from trialdesk.datacut.chart_text import chart_text

__all__ = ["CHART_NAMES", "Chart", "chart", "chart_title", "has_data"]

WIDTH = 8.0  # inches: the plotting width (the legend beside it); the page scales the image to its column
#: the dashboard's options of the shared charts: beyond these, a chart stays readable by drawing
#: less — no letters on the waterfall's bars and no names under them, no name at the end of each
#: series; the swimmer plot draws the longest subjects only (the page's table lists every one)
LABELLED_BARS = 40
LABELLED_SERIES = 25
SWIMMER_ROWS = 50
OPTIONS = ChartOptions(
    width=WIDTH,
    labelled_bars=LABELLED_BARS,
    labelled_series=LABELLED_SERIES,
    labelled_rows=SWIMMER_ROWS,
    swimmer_rows=SWIMMER_ROWS,
    hash_salt="trialdesk-dashboards",
)
STYLE = OPTIONS.style()
CHART_NAMES = ("enrollment", "screen_failures", "waterfall", "swimmer", "her2", "lvef", "adverse_events")


def response_abbreviation(category: ResponseCategory | None) -> str:
    """The short name written on a bar (the legend gives the whole name)."""
    return shared.response_abbreviation(category, chart_text())


def response_name(category: ResponseCategory | None) -> str:
    return chart_text().response(category)


def number(value: float, decimals: int = 0) -> str:
    return formats.number_format(round(value, decimals), decimal_pos=decimals)


def month(day: dt.date) -> str:
    return formats.date_format(day, "M Y")


def day_text(day: dt.date | None) -> str:
    return formats.date_format(day, "DATE_FORMAT") if day is not None else "—"


def _date_axis(axes, start: dt.date, end: dt.date) -> None:
    """Dates by locale: months over a long span, days over a short one."""
    short = (end - start).days <= 120
    axes.xaxis.set_major_locator(
        AutoDateLocator(minticks=3, maxticks=7 if short else 9, interval_multiples=not short)
    )
    axes.xaxis.set_major_formatter(
        FuncFormatter(
            lambda x, _pos: (
                formats.date_format(num2date(x).date(), "j M") if short else month(num2date(x).date())
            )
        )
    )


# --------------------------------------------------------------------------- recruitment


def enrollment_chart(data: Dashboard) -> Chart:
    e = data.enrollment
    forecast = e.forecast
    start = e.first_activation or (e.dates[0] if e.dates else e.as_of)
    start = min(start, e.dates[0]) if e.dates else start
    right = e.as_of
    if e.plan is not None:
        right = max(right, e.plan.end)
    fan = forecast is not None and forecast.remaining > 0
    if fan:
        right = max(right, min(forecast.interval_95[1], e.as_of + dt.timedelta(days=366 * 6)))
    right = max(right, start + dt.timedelta(days=30))
    title = chart_title("enrollment", data)
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 3.6))
        axes = figure.add_subplot()
        xs = [start] + [d for d in e.dates for _twice in (0, 1)] + [e.as_of]
        ys = [0] + [n for i in range(len(e.dates)) for n in (i, i + 1)] + [len(e.dates)]
        axes.plot(xs, ys, color=BLUE, linewidth=2.4, label=_("Enrolled"))
        if e.plan is not None:
            axes.plot(
                [e.plan.start, e.plan.end],
                [0, e.plan.target],
                color=INK,
                linestyle="--",
                linewidth=1.2,
                label=_("Plan (linear to the planned end)"),
            )
        if fan:
            quantiles = dict(forecast.quantiles)
            for low, high, alpha, name in (
                (0.025, 0.975, 0.16, _("%(level)s of the forecasts") % {"level": "95 %"}),
                (0.10, 0.90, 0.32, _("%(level)s of the forecasts") % {"level": "80 %"}),
            ):
                axes.fill(
                    [date2num(e.as_of), date2num(quantiles[low]), date2num(quantiles[high])],
                    [forecast.enrolled, forecast.target, forecast.target],
                    color=BLUE,
                    alpha=alpha,
                    linewidth=0,
                    label=name,
                )
            axes.plot(
                [e.as_of, forecast.median_date],
                [forecast.enrolled, forecast.target],
                color=BLUE,
                linestyle=":",
                linewidth=1.6,
                label=_("Median forecast"),
            )
        if e.whole_study:
            axes.axhline(e.target.count, color=GREY, linewidth=0.9, linestyle="-.", label=_("Target"))
            axes.annotate(
                _("Target: %(n)s patients") % {"n": e.target.count},
                (date2num(start), e.target.count),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=9,
                color=INK,
            )
        top = max(len(e.dates), e.target.count if e.whole_study else 0, 1) * 1.12 + 0.8  # room for the labels
        axes.axvline(e.as_of, color=ORANGE, linewidth=1.0)
        axes.annotate(
            _("Data of %(day)s") % {"day": day_text(e.as_of)},
            (date2num(e.as_of), top),
            xytext=(-4, -4),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=9,
            color=INK,
        )
        if e.planned_end is not None and start <= e.planned_end <= right:
            axes.axvline(
                e.planned_end, color=VERMILLION, linewidth=1.0, linestyle="--", label=_("Planned end")
            )
        axes.set_ylim(0, top)
        axes.set_xlim(start, right)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(_("Patients enrolled (cumulative)"))
        _date_axis(axes, start, right)
        legend_beside(axes)
        description = ngettext(
            "%(n)s patient enrolled by %(day)s.", "%(n)s patients enrolled by %(day)s.", e.enrolled
        ) % {"n": e.enrolled, "day": day_text(e.as_of)}
        return Chart("enrollment", title, description, svg_document(figure, title, description))


def screen_failures_chart(data: Dashboard) -> Chart | None:
    rows = data.screen_failures
    if not rows:
        return None
    from django.utils.translation import get_language

    french = (get_language() or "").startswith("fr")

    def label(r) -> str:
        if not r.code:
            return _("No criterion recorded")
        text = (r.applied_as_fr if french and r.applied_as_fr else r.applied_as) or r.text
        return "\n".join(textwrap.wrap(text, 48)[:3])

    title = chart_title("screen_failures", data)
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, max(2.0, 0.5 * len(rows) + 0.8)))
        axes = figure.add_subplot()
        ys = list(range(len(rows)))[::-1]
        colours = [ORANGE if r.kind == "exclusion" else BLUE for r in rows]
        hatches = ["//" if r.kind == "exclusion" else "" for r in rows]
        bars = axes.barh(ys, [r.count for r in rows], color=colours, height=0.6, edgecolor="white")
        for bar, hatch in zip(bars, hatches, strict=True):
            bar.set_hatch(hatch)
        for y, r in zip(ys, rows, strict=True):
            axes.annotate(str(r.count), (r.count, y), xytext=(4, 0), textcoords="offset points", va="center")
        axes.set_yticks(ys)
        axes.set_yticklabels([label(r) for r in rows], fontsize=9)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlim(0, max(r.count for r in rows) * 1.15 + 0.5)
        axes.set_xlabel(_("Patients who failed the criterion"))
        legend_beside(
            axes,
            [
                Patch(facecolor=BLUE, label=_("Inclusion criterion not met")),
                Patch(facecolor=ORANGE, hatch="//", edgecolor="white", label=_("Exclusion criterion met")),
            ],
        )
        description = ngettext(
            "%(n)s screen failure; the criteria they failed, counted.",
            "%(n)s screen failures; the criteria they failed, counted.",
            data.screen_failed,
        ) % {"n": data.screen_failed}
        return Chart("screen_failures", title, description, svg_document(figure, title, description))


# --------------------------------------------------------------------------- the shared charts


def waterfall_chart(data: Dashboard) -> Chart | None:
    if not data.waterfall:
        return None
    return shared.waterfall_chart(
        data.waterfall, pr_decrease_pct=data.pr_decrease_pct, text=chart_text(), options=OPTIONS
    )


def swimmer_chart(data: Dashboard) -> Chart | None:
    if not data.swimmer:
        return None
    return shared.swimmer_chart(data.swimmer, text=chart_text(), options=OPTIONS)


def her2_chart(data: Dashboard) -> Chart | None:
    if not data.her2:
        return None
    return shared.her2_chart(data.her2, text=chart_text(), options=OPTIONS)


def lvef_chart(data: Dashboard) -> Chart | None:
    if not data.lvef:
        return None
    return shared.lvef_chart(data.lvef, threshold=data.lvef_threshold, text=chart_text(), options=OPTIONS)


# --------------------------------------------------------------------------- adverse events


def grade_name(grade: int | None) -> str:
    return _("Not graded") if grade is None else _("Grade %(grade)s") % {"grade": grade}


def adverse_events_chart(data: Dashboard) -> Chart | None:
    grades = data.adverse_events
    if not grades.events:
        return None
    title = chart_title("adverse_events", data)
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 3.2))
        axes = figure.add_subplot()
        xs = range(len(grades.rows))
        width = 0.38
        events = axes.bar(
            [x - width / 2 for x in xs], [r.events for r in grades.rows], width, color=BLUE, label=_("Events")
        )
        subjects = axes.bar(
            [x + width / 2 for x in xs],
            [len(r.subjects_at_worst) for r in grades.rows],
            width,
            color=ORANGE,
            hatch="//",
            edgecolor="white",
            label=_("Subjects at this worst grade"),
        )
        for group in (events, subjects):
            for rect in group:
                axes.annotate(
                    str(int(rect.get_height())),
                    (rect.get_x() + rect.get_width() / 2, rect.get_height()),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        axes.set_xticks(list(xs))
        axes.set_xticklabels([grade_name(r.grade) for r in grades.rows])
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max(max(r.events for r in grades.rows), 1) * 1.15)
        axes.set_ylabel(_("Count"))
        legend_beside(axes)
        description = ngettext(
            "%(n)s adverse event of the treated subjects, by grade.",
            "%(n)s adverse events of the treated subjects, by grade.",
            grades.events,
        ) % {"n": grades.events}
        return Chart("adverse_events", title, description, svg_document(figure, title, description))


def chart_title(name: str, data: Dashboard) -> str:
    return {
        "enrollment": lambda: (
            _("Cumulative enrollment against the plan")
            if data.enrollment.plan
            else _("Cumulative enrollment")
        ),
        "screen_failures": lambda: _("Screen-failure reasons"),
        "waterfall": lambda: shared.response.waterfall_title(chart_text()),
        "swimmer": lambda: shared.response.swimmer_title(chart_text()),
        "her2": lambda: shared.series.her2_title(chart_text()),
        "lvef": lambda: shared.series.lvef_title(chart_text()),
        "adverse_events": lambda: _("Adverse events by CTCAE grade"),
    }[name]()


def has_data(name: str, data: Dashboard) -> bool:
    return {
        "enrollment": True,
        "screen_failures": bool(data.screen_failures),
        "waterfall": bool(data.waterfall),
        "swimmer": bool(data.swimmer),
        "her2": bool(data.her2),
        "lvef": bool(data.lvef),
        "adverse_events": data.adverse_events.events > 0,
    }[name]


BUILDERS = {
    "enrollment": enrollment_chart,
    "screen_failures": screen_failures_chart,
    "waterfall": waterfall_chart,
    "swimmer": swimmer_chart,
    "her2": her2_chart,
    "lvef": lvef_chart,
    "adverse_events": adverse_events_chart,
}


def chart(name: str, data: Dashboard) -> Chart | None:
    """The chart ``name`` of the dashboard (None: nothing to draw). ``KeyError`` for an unknown name."""
    return BUILDERS[name](data)
