"""Values over time, one line per subject: HER2-positive marrow blasts and LVEF (with the
protocol's cardiac threshold). Up to ``ChartOptions.labelled_series`` each subject has its own
markers and its name at its last point; beyond, the lines are one collection of thin lines."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from trialdesk.charts.base import (
    BLUE,
    DEFAULT_OPTIONS,
    ENGLISH,
    GREEN,
    GREY,
    INK,
    LIGHT,
    MARKERS,
    ORANGE,
    PURPLE,
    SKY,
    VERMILLION,
    Chart,
    ChartOptions,
    ChartText,
    no_data_chart,
    number_axis,
    polylines,
    svg_document,
)
from trialdesk.charts.rows import Series

PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, INK, GREY)


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


def series_chart(
    name: str,
    series: Sequence[Series],
    *,
    title: str,
    ylabel: str,
    description: str,
    text: ChartText,
    options: ChartOptions,
    threshold: float | None = None,
    threshold_label: str = "",
    fit: bool = False,
) -> Chart:
    """One line per subject, in months from their first dose (``fit``: the value axis fitted
    to the values, else 0 to 100 %)."""
    _ = text.gettext
    series = [s for s in series if s.points]
    if not series:
        return no_data_chart(name, title, text, options)
    values = [v for s in series for v in s.values] + ([threshold] if threshold is not None else [])
    low, high = (0.0, 100.0)
    if fit:
        low, high = max(0.0, min(values) - 10), min(100.0, max(values) + 10)
    labelled = len(series) <= options.labelled_series
    with rc_context(options.style()):
        figure = Figure(figsize=(options.width, 3.8))
        axes = figure.add_subplot()
        right = max(max(s.months) for s in series)
        if labelled:
            for i, s in enumerate(series):
                axes.plot(
                    s.months,
                    s.values,
                    marker=MARKERS[i % len(MARKERS)],
                    markersize=5,
                    linewidth=1.2,
                    color=PALETTE[i % len(PALETTE)],
                    alpha=0.9,
                    gid=f"series-{i}",
                )
            # each series named at its last point; names ending close together stacked apart
            ends = [(s.months[-1], s.values[-1], s.label) for s in series]
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
                    arrowprops={
                        "arrowstyle": "-",
                        "color": GREY,
                        "linewidth": 0.5,
                        "shrinkA": 0,
                        "shrinkB": 2,
                    }
                    if moved
                    else None,
                )
        else:
            lines = [list(zip(s.months, s.values, strict=True)) for s in series]
            alpha = max(0.15, min(0.6, 30 / len(series)))
            polylines(axes, lines, gid="series", colors=BLUE, linewidths=0.6, alpha=alpha)
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
        number_axis(axes.xaxis, text, 0)
        number_axis(axes.yaxis, text, 0, " %")
        axes.grid(axis="y", color=LIGHT, linewidth=0.6)
        return Chart(name, title, description, svg_document(figure, title, description))


def her2_title(text: ChartText) -> str:
    return text.gettext("HER2-positive marrow blasts over time")


def lvef_title(text: ChartText) -> str:
    return text.gettext("Left ventricular ejection fraction (LVEF) over time")


def her2_chart(
    series: Sequence[Series], *, text: ChartText = ENGLISH, options: ChartOptions = DEFAULT_OPTIONS
) -> Chart:
    """The HER2-positive marrow blasts (%) of each subject at each marrow assessment."""
    n = len(series)
    description = text.ngettext(
        "HER2-positive marrow blasts of %(n)s treated subject at each marrow assessment.",
        "HER2-positive marrow blasts of %(n)s treated subjects at each marrow assessment.",
        n,
    ) % {"n": n}
    return series_chart(
        "her2",
        series,
        title=her2_title(text),
        ylabel=text.gettext("HER2-positive blasts (%)"),
        description=description,
        text=text,
        options=options,
    )


def lvef_chart(
    series: Sequence[Series],
    *,
    threshold: float | None = None,
    text: ChartText = ENGLISH,
    options: ChartOptions = DEFAULT_OPTIONS,
) -> Chart:
    """Each subject's LVEF (%) over time, against ``threshold`` (the protocol's cardiac threshold)."""
    n = len(series)
    description = text.ngettext(
        "Left ventricular ejection fraction of %(n)s treated subject over time, against the protocol's threshold.",
        "Left ventricular ejection fraction of %(n)s treated subjects over time, against the protocol's threshold.",
        n,
    ) % {"n": n}
    label = ""
    if threshold is not None:
        label = text.gettext("%(pct)s: the protocol's cardiac threshold") % {
            "pct": text.number(threshold, 0) + " %"
        }
    return series_chart(
        "lvef",
        series,
        title=lvef_title(text),
        ylabel=text.gettext("LVEF (%)"),
        description=description,
        text=text,
        options=options,
        threshold=threshold,
        threshold_label=label,
        fit=True,
    )
