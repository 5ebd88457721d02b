"""The response charts: the waterfall of the best change in marrow blasts and the swimmer plot.

Response categories are coloured *and* hatched *and* written on each bar (up to
``ChartOptions.labelled_bars``); the swimmer plot's markers differ by shape. Bars are drawn as
one collection per kind, whatever the number of subjects.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from trialdesk.charts.base import (
    BLUE,
    DEFAULT_OPTIONS,
    ENGLISH,
    GREEN,
    GREY,
    INK,
    LIGHT,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    Chart,
    ChartOptions,
    ChartText,
    legend_beside,
    no_data_chart,
    number_axis,
    rectangles,
    svg_document,
)
from trialdesk.charts.rows import SwimmerRow, WaterfallBar, months_between
from trialdesk.clinical.response import ResponseCategory

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


def response_abbreviation(category: ResponseCategory | None, text: ChartText = ENGLISH) -> str:
    """The short name written on a bar (the legend gives the whole name)."""
    _ = text.gettext
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


def legend_name(category: ResponseCategory | None, text: ChartText) -> str:
    name, short = text.response(category), response_abbreviation(category, text)
    return name if f"({short})" in name or category is None else f"{name} ({short})"


def waterfall_title(text: ChartText) -> str:
    return text.gettext("Best change in marrow blasts from the baseline")


def swimmer_title(text: ChartText) -> str:
    return text.gettext("Time on study of each treated subject")


def waterfall_chart(
    bars: Sequence[WaterfallBar],
    *,
    pr_decrease_pct: float | None = None,
    text: ChartText = ENGLISH,
    options: ChartOptions = DEFAULT_OPTIONS,
) -> Chart:
    """Each subject's best change in marrow blasts, in the order given (largest increase first),
    coloured, hatched and lettered by best response; the fall a partial response needs
    (``pr_decrease_pct``, the protocol's) drawn as a line."""
    _ = text.gettext
    title = waterfall_title(text)
    if not bars:
        return no_data_chart("waterfall", title, text, options)
    labelled = len(bars) <= options.labelled_bars
    with rc_context(options.style()):
        figure = Figure(figsize=(options.width, 3.6))
        axes = figure.add_subplot()
        width = 0.75 if labelled else 0.9
        # one collection of bars per best response (its colour and pattern), in the waterfall's order
        by_category: dict[ResponseCategory | None, list] = {}
        for x, b in enumerate(bars):
            by_category.setdefault(b.best, []).append(
                (x - width / 2, min(b.change_pct, 0.0), width, abs(b.change_pct))
            )
        seen = list(by_category)
        for category, boxes in by_category.items():
            colour, hatch = RESPONSE_STYLE[category]
            rectangles(
                axes,
                boxes,
                gid=f"bars-{category.value if category is not None else 'not-assessed'}",
                facecolor=colour,
                hatch=hatch or None,
                edgecolor=INK,
                linewidth=0.5 if labelled else 0.0,
            )
        if labelled:
            for x, b in enumerate(bars):
                axes.annotate(
                    response_abbreviation(b.best, text),
                    (x, b.change_pct),
                    xytext=(0, 3 if b.change_pct >= 0 else -3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if b.change_pct >= 0 else "top",
                    fontsize=8,
                )
        axes.axhline(0, color=INK, linewidth=0.8)
        line = -(pr_decrease_pct or 0)
        if pr_decrease_pct:
            axes.axhline(line, color=GREY, linewidth=0.8, linestyle="--")
            axes.annotate(
                _("%(pct)s fall: the least a partial response needs")
                % {"pct": text.number(pr_decrease_pct, 0) + " %"},
                (0, line),
                xycoords=("axes fraction", "data"),
                xytext=(2, -3),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=8,
                color=INK,
            )
        axes.set_xlim(-0.7, len(bars) - 0.3)
        if labelled:
            axes.set_xticks(list(range(len(bars))))
            axes.set_xticklabels([b.label for b in bars], rotation=60, ha="right", fontsize=8)
        else:
            axes.set_xticks([])
            axes.set_xlabel(_("Subjects, from the largest increase to the largest fall"))
        low = min(min(b.change_pct for b in bars), line - 10)
        high = max(max(b.change_pct for b in bars), 10)
        axes.set_ylim(max(low * 1.15, -110), high * 1.2)
        axes.set_ylabel(_("Best change in marrow blasts (%)"))
        number_axis(axes.yaxis, text, 0, " %")
        order = list(RESPONSE_STYLE)
        handles = [
            Patch(
                facecolor=RESPONSE_STYLE[c][0],
                hatch=RESPONSE_STYLE[c][1],
                edgecolor=INK,
                linewidth=0.5,
                label=legend_name(c, text),
            )
            for c in sorted(seen, key=order.index)
        ]
        legend_beside(axes, handles, title=_("Best response"))
        description = text.ngettext(
            "The best change in marrow blasts of %(n)s treated subject, with their best response.",
            "The best change in marrow blasts of %(n)s treated subjects, each with their best response.",
            len(bars),
        ) % {"n": len(bars)}
        return Chart("waterfall", title, description, svg_document(figure, title, description))


MARKER_KINDS = ("dose", "response", "failure", "sae", "death", "ongoing")


def swimmer_chart(
    rows: Sequence[SwimmerRow],
    *,
    text: ChartText = ENGLISH,
    options: ChartOptions = DEFAULT_OPTIONS,
) -> Chart:
    """Each subject's time on study from the first dose (rows given longest first; the longest
    drawn at the top): on treatment, follow-up, doses, first response, relapse or progression,
    serious adverse events, death or still on study, and the best response at the end of the bar.
    ``options.swimmer_rows`` keeps the longest only; past ``options.labelled_rows`` the rows are
    thin bands without names, doses or letters."""
    _ = text.gettext
    title = swimmer_title(text)
    rows = list(rows[: options.swimmer_rows] if options.swimmer_rows is not None else rows)
    if not rows:
        return no_data_chart("swimmer", title, text, options)
    labelled = len(rows) <= options.labelled_rows
    bar = 0.62 if labelled else 0.9
    size = 1.0 if labelled else max(0.25, min(1.0, 60 / len(rows)))
    with rc_context(options.style()):
        height = min(options.max_height, max(2.4, 0.3 * len(rows) + 1.0))
        figure = Figure(figsize=(options.width, height))
        axes = figure.add_subplot()
        longest = max(r.months_on_study for r in rows) or 1.0
        shown = list(reversed(rows))  # the longest at the top
        rectangles(
            axes,
            [(0.0, y - bar / 2, r.months_on_study, bar) for y, r in enumerate(shown)],
            gid="follow-up",
            facecolor=LIGHT,
            edgecolor=GREY if labelled else "none",
            linewidth=0.4 if labelled else 0.0,
        )
        rectangles(
            axes,
            [(0.0, y - bar / 2, max(r.months_on_treatment, 0.05), bar) for y, r in enumerate(shown)],
            gid="on-treatment",
            facecolor=BLUE,
            edgecolor="none",
            linewidth=0.0,
        )
        # one set of points per kind of marker (one SVG group each, not one per subject)
        points: dict[str, tuple[list[float], list[float]]] = {kind: ([], []) for kind in MARKER_KINDS}

        def add(kind: str, x: float, y: int) -> None:
            points[kind][0].append(x)
            points[kind][1].append(y)

        for y, r in enumerate(shown):
            if labelled:
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
            elif r.ongoing and labelled:
                add("ongoing", r.months_on_study + longest * 0.012, y)
            if labelled:
                axes.annotate(
                    response_abbreviation(r.best, text),
                    (r.months_on_study, y),
                    xytext=(12, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                )
        edge = {"markeredgecolor": INK, "markeredgewidth": 0.6 if labelled else 0.3}
        styles = {
            "dose": {"marker": "|", "color": "white", "markersize": 7, "markeredgewidth": 1.0},
            "response": {"marker": "^", "color": GREEN, "markersize": 9 * size, **edge},
            "failure": {"marker": "X", "color": VERMILLION, "markersize": 9 * size, **edge},
            "sae": {"marker": "D", "color": PURPLE, "markersize": 6 * size, **edge},
            "death": {"marker": "s", "color": INK, "markersize": 6 * size},
            "ongoing": {"marker": ">", "color": INK, "markersize": 6},
        }
        for kind, (px, py) in points.items():
            if px:
                axes.plot(px, py, linestyle="none", gid=f"markers-{kind}", **styles[kind])
        axes.set_ylim(-0.7, len(shown) - 0.3)
        if labelled:
            axes.set_yticks(list(range(len(shown))))
            axes.set_yticklabels([r.label for r in shown], fontsize=8)
        else:
            axes.set_yticks([])
            axes.set_ylabel(_("%(n)s subjects, by time on study") % {"n": len(rows)})
        axes.set_xlim(0, longest * 1.1 + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(_("Months from the first dose"))
        number_axis(axes.xaxis, text, 0)

        def mark(marker, colour, points, label, edged=True):
            extra = {"markeredgecolor": INK} if edged else {}
            return Line2D(
                [], [], marker=marker, color=colour, linestyle="", markersize=points, label=label, **extra
            )

        handles = [
            Patch(facecolor=BLUE, label=_("On treatment (first to last dose)")),
            Patch(facecolor=LIGHT, edgecolor=GREY, label=_("Follow-up")),
        ]
        if labelled:
            handles.append(mark("|", BLUE, 8, _("Dose (white tick)")))
        handles += [
            mark("^", GREEN, 9, _("First response")),
            mark("X", VERMILLION, 9, _("Relapse or progression")),
            mark("D", PURPLE, 6, _("Serious adverse event")),
            mark("s", INK, 6, _("Death"), edged=False),
        ]
        if labelled:
            handles.append(mark(">", INK, 6, _("Still on study"), edged=False))
            handles.append(Line2D([], [], linestyle="", label=_("Right of each bar: the best response")))
        legend_beside(axes, handles)
        description = text.ngettext(
            "%(n)s treated subject: time on treatment and follow-up, doses, responses and events.",
            "%(n)s treated subjects: time on treatment and follow-up, doses, responses and events.",
            len(rows),
        ) % {"n": len(rows)}
        return Chart("swimmer", title, description, svg_document(figure, title, description))
