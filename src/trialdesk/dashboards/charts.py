"""The dashboard's charts as SVG documents (matplotlib, Agg, no pyplot: thread-safe in app servers).

Each chart is served as an image by the dashboard's own view (``image/svg+xml``): the site's
Content-Security-Policy forbids inline styles in a page, and matplotlib's SVG is made of
``style`` attributes; an SVG image is its own document, with its own policy (no script at
all, its styles only). Every SVG carries a ``<title>`` and a ``<desc>``; the page gives the
same chart a caption and the table of its numbers (its text alternative).

No information by colour alone: the response categories are coloured *and* hatched *and*
written on each bar; the markers of the swimmer plot differ by shape; each subject's series
is labelled at its end. Text is in the active language (axes, legends, dates and numbers by
locale); the palette is Okabe and Ito's, which colour-blind readers tell apart.
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from django.utils import formats  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402
from django.utils.translation import ngettext  # noqa: E402
from lxml import etree  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.dates import AutoDateLocator, date2num, num2date  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from trialdesk.clinical.response import ResponseCategory  # noqa: E402
from trialdesk.dashboards.data import Dashboard, months_between  # noqa: E402

SVG_NS = "http://www.w3.org/2000/svg"
STYLE = {
    "svg.fonttype": "none",  # text stays text: small files, crisp at any zoom
    "svg.hashsalt": "trialdesk-dashboards",  # stable element ids
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "legend.fontsize": 9,
    "hatch.linewidth": 0.8,
}
WIDTH = 8.0  # inches: the plotting width (the legend beside it); the page scales the image to its column

# Okabe & Ito (2008), a palette colour-blind readers tell apart
BLUE = "#0072B2"
SKY = "#56B4E9"
GREEN = "#009E73"
ORANGE = "#E69F00"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
GREY = "#7f8894"
LIGHT = "#d9dee4"
INK = "#1d2733"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p")

#: each response category: colour, hatch (the same information without colour)
RESPONSE_STYLE: dict[ResponseCategory | None, tuple[str, str]] = {
    ResponseCategory.CR: (GREEN, ""),
    ResponseCategory.CRP: (GREEN, ".."),
    ResponseCategory.PR: (SKY, "//"),
    ResponseCategory.NO_RESPONSE: (GREY, ""),
    ResponseCategory.PROGRESSION: (VERMILLION, "xx"),
    ResponseCategory.RELAPSE: (ORANGE, "\\\\"),
    None: (LIGHT, ""),
}
#: beyond these, a chart stays readable by drawing less: no letters on the waterfall's bars and no
#: names under them, no name at the end of each series; the swimmer plot draws the longest
#: subjects only (the page's table lists every one)
LABELLED_BARS = 40
LABELLED_SERIES = 25
SWIMMER_ROWS = 50
CHART_NAMES = ("enrollment", "screen_failures", "waterfall", "swimmer", "her2", "lvef", "adverse_events")


def response_abbreviation(category: ResponseCategory | None) -> str:
    """The short name written on a bar (the legend gives the whole name)."""
    if category is None:
        return _("not assessed")
    return {
        ResponseCategory.CR: _("CR"),
        ResponseCategory.CRP: _("CRp"),
        ResponseCategory.PR: _("PR"),
        ResponseCategory.NO_RESPONSE: _("NR"),
        ResponseCategory.PROGRESSION: _("PD"),
        ResponseCategory.RELAPSE: _("Rel."),
    }[category]


def _legend_name(category: ResponseCategory | None) -> str:
    name, short = response_name(category), response_abbreviation(category)
    return name if f"({short})" in name or category is None else f"{name} ({short})"


def response_name(category: ResponseCategory | None) -> str:
    from trialdesk.assessments.services import category_label

    return category_label(category) if category is not None else _("Not assessed after the baseline")


def number(value: float, decimals: int = 0) -> str:
    return formats.number_format(round(value, decimals), decimal_pos=decimals)


def month(day: dt.date) -> str:
    return formats.date_format(day, "M Y")


def day_text(day: dt.date | None) -> str:
    return formats.date_format(day, "DATE_FORMAT") if day is not None else "—"


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    description: str  # what the chart shows, in a sentence (the image's alt text and the SVG's <desc>)
    svg: str


def _svg(figure: Figure, title: str, description: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.1)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(buffer.getvalue(), parser)
    root.set("role", "img")
    root.set("aria-labelledby", "chart-title chart-desc")
    desc = etree.Element(f"{{{SVG_NS}}}desc", id="chart-desc")
    desc.text = description
    heading = etree.Element(f"{{{SVG_NS}}}title", id="chart-title")
    heading.text = title
    root.insert(0, desc)
    root.insert(0, heading)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8").decode("utf-8")


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


def _number_axis(axis, decimals: int = 0, suffix: str = "") -> None:
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: number(x, decimals) + suffix))


def _legend_beside(axes, handles=None, **kwargs) -> None:
    """The legend to the right of the plotting area, never over the data."""
    options = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "frameon": False, "borderaxespad": 0.0}
    options.update(kwargs)
    if handles is None:
        axes.legend(**options)
    else:
        axes.legend(handles=handles, **options)


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
        _legend_beside(axes)
        description = ngettext(
            "%(n)s patient enrolled by %(day)s.", "%(n)s patients enrolled by %(day)s.", e.enrolled
        ) % {"n": e.enrolled, "day": day_text(e.as_of)}
        return Chart("enrollment", title, description, _svg(figure, title, description))


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
        _legend_beside(
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
        return Chart("screen_failures", title, description, _svg(figure, title, description))


# --------------------------------------------------------------------------- response


def waterfall_chart(data: Dashboard) -> Chart | None:
    bars = data.waterfall
    if not bars:
        return None
    title = chart_title("waterfall", data)
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 3.6))
        axes = figure.add_subplot()
        xs = range(len(bars))
        labelled = len(bars) <= LABELLED_BARS
        # one set of bars per best response (its colour and pattern), in the waterfall's order
        for category in dict.fromkeys(b.best for b in bars):
            colour, hatch = RESPONSE_STYLE[category]
            mine = [(x, b) for x, b in zip(xs, bars, strict=True) if b.best == category]
            axes.bar(
                [x for x, _b in mine],
                [b.change_pct for _x, b in mine],
                color=colour,
                hatch=hatch,
                edgecolor=INK,
                linewidth=0.5,
                width=0.75,
            )
        if labelled:
            for x, b in zip(xs, bars, strict=True):
                axes.annotate(
                    response_abbreviation(b.best),
                    (x, b.change_pct),
                    xytext=(0, 3 if b.change_pct >= 0 else -3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if b.change_pct >= 0 else "top",
                    fontsize=8,
                )
        axes.axhline(0, color=INK, linewidth=0.8)
        line = -(data.pr_decrease_pct or 0)
        if data.pr_decrease_pct:
            axes.axhline(line, color=GREY, linewidth=0.8, linestyle="--")
            axes.annotate(
                _("%(pct)s fall: the least a partial response needs")
                % {"pct": number(data.pr_decrease_pct) + " %"},
                (0, line),
                xycoords=("axes fraction", "data"),
                xytext=(2, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=8,
                color=INK,
            )
        if labelled:
            axes.set_xticks(list(xs))
            axes.set_xticklabels([b.label for b in bars], rotation=60, ha="right", fontsize=8)
        else:
            axes.set_xticks([])
            axes.set_xlabel(_("Subjects, from the largest increase to the largest fall"))
        low = min(min(b.change_pct for b in bars), line - 10)
        high = max(max(b.change_pct for b in bars), 10)
        axes.set_ylim(max(low * 1.15, -110), high * 1.2)
        axes.set_ylabel(_("Best change in marrow blasts (%)"))
        _number_axis(axes.yaxis, 0, " %")
        seen = []
        for b in bars:
            if b.best not in seen:
                seen.append(b.best)
        order = list(RESPONSE_STYLE)
        handles = [
            Patch(
                facecolor=RESPONSE_STYLE[c][0],
                hatch=RESPONSE_STYLE[c][1],
                edgecolor=INK,
                linewidth=0.5,
                label=_legend_name(c),
            )
            for c in sorted(seen, key=order.index)
        ]
        _legend_beside(axes, handles, title=_("Best response"))
        description = ngettext(
            "The best change in marrow blasts of %(n)s treated subject, with their best response.",
            "The best change in marrow blasts of %(n)s treated subjects, each with their best response.",
            len(bars),
        ) % {"n": len(bars)}
        return Chart("waterfall", title, description, _svg(figure, title, description))


def swimmer_chart(data: Dashboard) -> Chart | None:
    rows = data.swimmer[:SWIMMER_ROWS]  # the longest first
    if not rows:
        return None
    title = chart_title("swimmer", data)
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, max(2.4, 0.3 * len(rows) + 1.0)))
        axes = figure.add_subplot()
        longest = max(r.months_on_study for r in rows) or 1.0
        shown = list(reversed(rows))  # the longest at the top
        ys = range(len(shown))
        axes.barh(
            ys, [r.months_on_study for r in shown], color=LIGHT, height=0.62, edgecolor=GREY, linewidth=0.4
        )
        axes.barh(ys, [max(r.months_on_treatment, 0.05) for r in shown], color=BLUE, height=0.62)
        # one set of points per kind of marker (one SVG group each, not one per subject)
        points: dict[str, tuple[list[float], list[float]]] = {
            kind: ([], []) for kind in ("dose", "response", "failure", "sae", "death", "ongoing")
        }

        def add(kind: str, x: float, y: int) -> None:
            points[kind][0].append(x)
            points[kind][1].append(y)

        for y, r in enumerate(shown):
            for d in r.doses:
                add("dose", months_between(r.first_dose, d), y)
            if r.first_response_on is not None:
                add("response", months_between(r.first_dose, r.first_response_on), y)
            if r.failure_on is not None:
                add("failure", months_between(r.first_dose, r.failure_on), y)
            for onset in r.serious_events:
                add("sae", months_between(r.first_dose, onset), y)
            if r.death_on is not None:
                add("death", months_between(r.first_dose, r.death_on), y)
            elif r.ongoing:
                add("ongoing", r.months_on_study + longest * 0.012, y)
            axes.annotate(
                response_abbreviation(r.best),
                (r.months_on_study, y),
                xytext=(12, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        edge = {"markeredgecolor": INK, "markeredgewidth": 0.6}
        styles = {
            "dose": {"marker": "|", "color": "white", "markersize": 7, "markeredgewidth": 1.0},
            "response": {"marker": "^", "color": GREEN, "markersize": 9, **edge},
            "failure": {"marker": "X", "color": VERMILLION, "markersize": 9, **edge},
            "sae": {"marker": "D", "color": PURPLE, "markersize": 6, **edge},
            "death": {"marker": "s", "color": INK, "markersize": 6},
            "ongoing": {"marker": ">", "color": INK, "markersize": 6},
        }
        for kind, (px, py) in points.items():
            if px:
                axes.plot(px, py, linestyle="none", **styles[kind])
        axes.set_yticks(list(ys))
        axes.set_yticklabels([r.label for r in shown], fontsize=8)
        axes.set_xlim(0, longest * 1.1 + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(_("Months from the first dose"))
        _number_axis(axes.xaxis, 0)
        handles = [
            Patch(facecolor=BLUE, label=_("On treatment (first to last dose)")),
            Patch(facecolor=LIGHT, edgecolor=GREY, label=_("Follow-up")),
            Line2D(
                [],
                [],
                marker="|",
                color=BLUE,
                markeredgecolor=INK,
                linestyle="",
                markersize=8,
                label=_("Dose (white tick)"),
            ),
            Line2D(
                [],
                [],
                marker="^",
                color=GREEN,
                markeredgecolor=INK,
                linestyle="",
                markersize=9,
                label=_("First response"),
            ),
            Line2D(
                [],
                [],
                marker="X",
                color=VERMILLION,
                markeredgecolor=INK,
                linestyle="",
                markersize=9,
                label=_("Relapse or progression"),
            ),
            Line2D(
                [],
                [],
                marker="D",
                color=PURPLE,
                markeredgecolor=INK,
                linestyle="",
                markersize=6,
                label=_("Serious adverse event"),
            ),
            Line2D([], [], marker="s", color=INK, linestyle="", markersize=6, label=_("Death")),
            Line2D([], [], marker=">", color=INK, linestyle="", markersize=6, label=_("Still on study")),
        ]
        handles.append(Line2D([], [], linestyle="", label=_("Right of each bar: the best response")))
        _legend_beside(axes, handles)
        description = ngettext(
            "%(n)s treated subject: time on treatment and follow-up, doses, responses and events.",
            "%(n)s treated subjects: time on treatment and follow-up, doses, responses and events.",
            len(rows),
        ) % {"n": len(rows)}
        return Chart("swimmer", title, description, _svg(figure, title, description))


# --------------------------------------------------------------------------- series over time


def _placed(ends: list[tuple[float, float, str]], gap: float, reach: float) -> list[float]:
    """The heights of the names written at the ends of the series: a name closer than ``gap``
    to one already placed within ``reach`` to its left or right moves up, then down, until free."""
    placed: list[tuple[float, float]] = []
    out = [0.0] * len(ends)
    for i in sorted(range(len(ends)), key=lambda i: (ends[i][1], ends[i][0])):
        x, y, _label = ends[i]
        near = [py for px, py in placed if abs(px - x) < reach]
        shown = y
        for step in range(len(ends) + 1):
            candidates = (y + step * gap, y - step * gap)
            free = [c for c in candidates if all(abs(c - py) >= gap for py in near)]
            if free:
                shown = free[0]
                break
        placed.append((x, shown))
        out[i] = shown
    return out


def _series_chart(
    name, series, title, ylabel, description, threshold=None, threshold_label="", fit=False
) -> Chart:
    values = [v for s in series for v in s.values] + ([threshold] if threshold is not None else [])
    low, high = (0.0, 100.0)
    if fit:
        low, high = max(0.0, min(values) - 10), min(100.0, max(values) + 10)
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH, 3.8))
        axes = figure.add_subplot()
        palette = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, INK, GREY)
        right = max(max(s.months) for s in series)
        for i, s in enumerate(series):
            axes.plot(
                s.months,
                s.values,
                marker=MARKERS[i % len(MARKERS)],
                markersize=5,
                linewidth=1.2,
                color=palette[i % len(palette)],
                alpha=0.9,
            )
        # each series named at its last point; names ending close together stacked apart
        ends = (
            [(s.months[-1], s.values[-1], s.label) for s in series] if len(series) <= LABELLED_SERIES else []
        )
        gap = (high - low) * 0.045
        ys = _placed(ends, gap, reach=max(right, 1.0) * 0.12)
        dx = (right + 0.6) * 0.012
        for (x, y, label), shown in zip(ends, ys, strict=True):
            moved = abs(shown - y) > 1e-9  # a thin line joins a name moved off its point
            axes.annotate(
                label,
                (x, y),
                xytext=(x + dx, shown),
                textcoords="data",
                va="center",
                fontsize=7.5,
                color=INK,
                arrowprops={"arrowstyle": "-", "color": GREY, "linewidth": 0.5, "shrinkA": 0, "shrinkB": 2}
                if moved
                else None,
            )
        if threshold is not None:
            axes.axhline(threshold, color=VERMILLION, linewidth=1.2, linestyle="--")
            axes.annotate(
                threshold_label,
                (0, threshold),
                xytext=(2, -12),
                textcoords="offset points",
                fontsize=9,
                color=INK,
            )
        axes.set_xlim(min(0.0, min(min(s.months) for s in series)) - 0.2, right * 1.12 + 0.6)
        axes.set_ylim(low, high)
        axes.set_xlabel(_("Months from the first dose"))
        axes.set_ylabel(ylabel)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        _number_axis(axes.xaxis, 0)
        _number_axis(axes.yaxis, 0, " %")
        axes.grid(axis="y", color=LIGHT, linewidth=0.6)
        return Chart(name, title, description, _svg(figure, title, description))


def her2_chart(data: Dashboard) -> Chart | None:
    if not data.her2:
        return None
    n = len(data.her2)
    description = ngettext(
        "HER2-positive marrow blasts of %(n)s treated subject at each marrow assessment.",
        "HER2-positive marrow blasts of %(n)s treated subjects at each marrow assessment.",
        n,
    ) % {"n": n}
    return _series_chart(
        "her2", data.her2, chart_title("her2", data), _("HER2-positive blasts (%)"), description
    )


def lvef_chart(data: Dashboard) -> Chart | None:
    if not data.lvef:
        return None
    n = len(data.lvef)
    description = ngettext(
        "Left ventricular ejection fraction of %(n)s treated subject over time, against the protocol's threshold.",
        "Left ventricular ejection fraction of %(n)s treated subjects over time, against the protocol's threshold.",
        n,
    ) % {"n": n}
    label = ""
    if data.lvef_threshold is not None:
        label = _("%(pct)s: the protocol's cardiac threshold") % {"pct": number(data.lvef_threshold) + " %"}
    return _series_chart(
        "lvef",
        data.lvef,
        chart_title("lvef", data),
        _("LVEF (%)"),
        description,
        threshold=data.lvef_threshold,
        threshold_label=label,
        fit=True,
    )


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
        _legend_beside(axes)
        description = ngettext(
            "%(n)s adverse event of the treated subjects, by grade.",
            "%(n)s adverse events of the treated subjects, by grade.",
            grades.events,
        ) % {"n": grades.events}
        return Chart("adverse_events", title, description, _svg(figure, title, description))


def chart_title(name: str, data: Dashboard) -> str:
    return {
        "enrollment": lambda: (
            _("Cumulative enrollment against the plan")
            if data.enrollment.plan
            else _("Cumulative enrollment")
        ),
        "screen_failures": lambda: _("Screen-failure reasons"),
        "waterfall": lambda: _("Best change in marrow blasts from the baseline"),
        "swimmer": lambda: _("Time on study of each treated subject"),
        "her2": lambda: _("HER2-positive marrow blasts over time"),
        "lvef": lambda: _("Left ventricular ejection fraction (LVEF) over time"),
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
