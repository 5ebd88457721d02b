"""The plots of the analysis report, as SVG images embedded in the page (house style of
``reports.charts``): Kaplan–Meier curves with their confidence bands and the numbers at
risk under the axis, HER2-positive blasts over time, the waterfall of the best change in
marrow blasts, LVEF over time, and the swimmer plot of each subject's treatment."""

from __future__ import annotations

import math

from django.utils.translation import gettext as _
from matplotlib import rc_context
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from trialdesk.analysis.endpoints import Analysis, SurvivalEndpoint
from trialdesk.reports.charts import ACCENT, PLAN, WARN, Chart, _chart
from trialdesk.reports.charts import SVG_STYLE as HOUSE_STYLE

#: text drawn as paths: the PDF renderer shows the labels exactly as matplotlib laid them out
SVG_STYLE = {**HOUSE_STYLE, "svg.fonttype": "path"}
FOLLOW_UP = "#d7dde4"

GOOD = "#2e7d32"
BAD = "#b00020"


def km_chart(endpoint: SurvivalEndpoint, label: str) -> Chart | None:
    km = endpoint.km
    if km is None or not endpoint.subjects:
        return None
    times = [s.months for s in endpoint.subjects]
    right = max(times) * 1.05 or 1.0
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, 3.8))
        axes = figure.add_axes([0.1, 0.3, 0.86, 0.65])
        xs, ys, lo, hi = [0.0], [1.0], [1.0], [1.0]
        for row in km.table:
            xs.append(row.time)
            ys.append(row.survival)
            lo.append(row.lower if row.lower is not None else row.survival)
            hi.append(row.upper if row.upper is not None else row.survival)
        xs.append(right)
        ys.append(ys[-1])
        lo.append(lo[-1])
        hi.append(hi[-1])
        axes.fill_between(
            xs,
            lo,
            hi,
            step="post",
            color=ACCENT,
            alpha=0.18,
            linewidth=0,
            label=_("%(level)s confidence interval") % {"level": f"{km.level * 100:.0f} %"},
        )
        axes.step(xs, ys, where="post", color=ACCENT, linewidth=2)
        censored = [s.months for s in endpoint.subjects if not s.event]
        if len(censored) > LABELLED_SUBJECTS:
            # one tick per tenth of a month: thousands of ticks on top of each other draw the same
            censored = sorted({round(t, 1) for t in censored})
        axes.plot(
            censored,
            [km.survival_at(t) for t in censored],
            "|",
            color=ACCENT,
            markersize=9,
            label=_("Censored"),
        )
        if km.median is not None:
            axes.axhline(0.5, color=PLAN, linewidth=0.6, linestyle=":")
        axes.set_xlim(0, right)
        axes.set_ylim(0, 1.02)
        axes.set_ylabel(_("Probability"))
        axes.legend(loc="upper right", fontsize=8, frameon=False)
        ticks = [t for t in axes.get_xticks() if 0 <= t <= right]
        axes.set_xticks(ticks)
        at_risk = [sum(1 for t in times if t >= tick) for tick in ticks]
        risk = figure.add_axes([0.1, 0.04, 0.86, 0.1], sharex=axes)
        risk.set_ylim(0, 1)
        for tick, n in zip(ticks, at_risk, strict=True):
            risk.text(tick, 0.5, str(n), ha="center", va="center", fontsize=8)
        risk.set_yticks([])
        risk.tick_params(axis="x", length=0, labelbottom=False)
        for side in ("top", "right", "left", "bottom"):
            risk.spines[side].set_visible(False)
        risk.set_title(_("Number at risk"), fontsize=8, loc="left")
        axes.set_xlabel(_("Months"))
        return _chart(figure, label)


def _courses(axes, series) -> None:
    """One line per subject of (label, first dose, [(day, value)…]) in months from the first
    dose: each subject its own line with markers and a legend entry in a small study; past
    LABELLED_SUBJECTS one thin collection of lines, no marker (thousands of markers would
    be thousands of drawn shapes and say nothing more)."""

    def months(first, points):
        start = first or points[0][0]
        return [((day - start).days / 30.4375, value) for day, value in points]

    if len(series) <= LABELLED_SUBJECTS:
        for label, first, points in series:
            line = months(first, points)
            axes.plot(
                [x for x, _v in line],
                [v for _x, v in line],
                marker="o",
                markersize=3,
                linewidth=1,
                alpha=0.8,
                label=label,
            )
        return
    lines = [months(first, points) for _label, first, points in series]
    axes.add_collection(LineCollection(lines, colors=ACCENT, linewidths=0.5, alpha=0.35))
    axes.autoscale_view()


def her2_chart(analysis: Analysis) -> Chart | None:
    series = [
        (f.label, f.first_dose_on, f.course.her2) for f in analysis.subjects if f.treated and f.course.her2
    ]
    if not series:
        return None
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, 3.4))
        axes = figure.add_subplot()
        _courses(axes, series)
        axes.set_xlabel(_("Months from the first dose"))
        axes.set_ylabel(_("HER2-positive blasts (%)"))
        axes.set_ylim(0, 100)
        if len(series) <= 20:
            axes.legend(fontsize=6, frameon=False, ncol=2, loc="center left", bbox_to_anchor=(1, 0.5))
        return _chart(figure, _("HER2-positive blasts over time"))


def best_change(facts) -> float | None:
    """The best (lowest) relative change of the marrow blasts on treatment from baseline, in %
    (the clinical core's ``CourseOfDisease.best_blast_change_pct``)."""
    return facts.course.best_blast_change_pct


#: past this many subjects a chart names no subject on its axis (the labels would overlap);
#: the listings beside it name them
LABELLED_SUBJECTS = 60
#: the tallest swimmer plot, in inches: a study of thousands is drawn as a band of thin rows
SWIMMER_MAX_HEIGHT = 11.0


def _rectangles(axes, lefts, bottoms, widths, heights, color) -> None:
    """Bars as one collection (one artist whatever their number: a study of 10,000 subjects
    draws as fast as one of 15)."""
    boxes = [
        ((x, y), (x + w, y), (x + w, y + h), (x, y + h))
        for x, y, w, h in zip(lefts, bottoms, widths, heights, strict=True)
    ]
    if boxes:
        axes.add_collection(PolyCollection(boxes, facecolors=color, edgecolors="none"))


def waterfall_chart(analysis: Analysis) -> Chart | None:
    bars = [(f.label, best_change(f), f.course.confirmed.responder) for f in analysis.subjects if f.treated]
    bars = sorted(((label, v, r) for label, v, r in bars if v is not None), key=lambda b: -b[1])
    if not bars:
        return None
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, 3.4))
        axes = figure.add_subplot()
        for responder, color in ((True, GOOD), (False, PLAN)):
            chosen = [(i, b[1]) for i, b in enumerate(bars) if bool(b[2]) is responder]
            _rectangles(
                axes,
                [i - 0.4 for i, _v in chosen],
                [min(v, 0) for _i, v in chosen],
                [0.8] * len(chosen),
                [abs(v) for _i, v in chosen],
                color,
            )
        axes.set_xlim(-1, len(bars))
        axes.set_ylim(min(-100, *(b[1] for b in bars)) - 5, max(5, *(b[1] for b in bars)) + 5)
        axes.axhline(-50, color=WARN, linewidth=0.8, linestyle="--")
        axes.axhline(0, color="black", linewidth=0.6)
        if len(bars) <= LABELLED_SUBJECTS:
            axes.set_xticks(range(len(bars)))
            axes.set_xticklabels([b[0] for b in bars], rotation=90, fontsize=7)
        else:
            axes.set_xticks([])
            axes.set_xlabel(_("%(n)d subjects, from the largest rise to the largest fall") % {"n": len(bars)})
        axes.set_ylabel(_("Best change in marrow blasts (%)"))
        handles = [
            Patch(color=GOOD, label=_("Responder")),
            Patch(color=PLAN, label=_("Not a responder")),
            axes.plot([], [], color=WARN, linestyle="--", label=_("50 % decrease"))[0],
        ]
        axes.legend(handles=handles, fontsize=7, frameon=False, loc="lower left")
        return _chart(figure, _("Waterfall of the best change in marrow blasts"))


def lvef_chart(analysis: Analysis) -> Chart | None:
    series = [(f.label, f.first_dose_on, f.lvef) for f in analysis.subjects if f.treated and f.lvef]
    if not series:
        return None
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, 3.4))
        axes = figure.add_subplot()
        _courses(axes, series)
        axes.axhline(50, color=BAD, linewidth=0.8, linestyle="--")
        axes.set_xlabel(_("Months from the first dose"))
        axes.set_ylabel(_("LVEF (%)"))
        if len(series) <= 20:
            axes.legend(fontsize=6, frameon=False, ncol=2, loc="center left", bbox_to_anchor=(1, 0.5))
        return _chart(figure, _("Left ventricular ejection fraction over time"))


def swimmer_chart(analysis: Analysis) -> Chart | None:
    rows = [f for f in analysis.subjects if f.treated and f.first_dose_on is not None]
    if not rows:
        return None
    rows.sort(key=lambda f: ((f.os.end if f.os else f.first_dose_on) - f.first_dose_on).days)
    height = min(SWIMMER_MAX_HEIGHT, max(2.5, 0.28 * len(rows) + 1))
    follow_up, treatment = [], []
    markers: dict[str, tuple[list[float], list[float]]] = {key: ([], []) for key in ("^", "x", "D", "s")}
    for y, f in enumerate(rows):
        start = f.first_dose_on

        def m(day, start=start):
            return (day - start).days / 30.4375

        follow_up.append(m(f.os.end if f.os is not None else f.last_dose_on or start))
        treatment.append(m(f.last_dose_on or start) + 7 / 30.4375)
        events = [
            ("^", f.course.confirmed.first_response_on),
            ("x", f.course.confirmed.failure_on),
            *(("D", e.onset) for e in f.adverse_events if e.serious),
            ("s", f.survival.death_date if f.os is not None and f.os.event else None),
        ]
        for marker, day in events:
            if day is not None:
                markers[marker][0].append(m(day))
                markers[marker][1].append(y)
    labelled = len(rows) <= LABELLED_SUBJECTS
    bar = 0.6 if labelled else 0.9
    style = {
        "^": (GOOD, 6, _("First response")),
        "x": (WARN, 6, _("Relapse or progression")),
        "D": (BAD, 4, _("Serious adverse event")),
        "s": ("black", 5, _("Death")),
    }
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, height))
        axes = figure.add_subplot()
        ys = [y - bar / 2 for y in range(len(rows))]
        _rectangles(axes, [0.0] * len(rows), ys, follow_up, [bar] * len(rows), FOLLOW_UP)
        _rectangles(axes, [0.0] * len(rows), ys, treatment, [bar] * len(rows), ACCENT)
        size = 1.0 if labelled else max(0.25, min(1.0, 60 / len(rows)))
        for marker, (xs, marker_ys) in markers.items():
            color, points, _label = style[marker]
            if xs:
                axes.plot(
                    xs, marker_ys, linestyle="none", marker=marker, color=color, markersize=points * size
                )
        axes.set_xlim(
            0,
            max(max(follow_up), max(treatment), *(max(xs, default=0) for xs, _y in markers.values())) * 1.03
            or 1,
        )
        axes.set_ylim(-1, len(rows))
        if labelled:
            axes.set_yticks(range(len(rows)))
            axes.set_yticklabels([f.label for f in rows], fontsize=7)
        else:
            axes.set_yticks([])
            axes.set_ylabel(_("%(n)d subjects, by time on study") % {"n": len(rows)})
        axes.set_xlabel(_("Months from the first dose"))
        handles = [
            Patch(color=ACCENT, label=_("On treatment")),
            Patch(color=FOLLOW_UP, label=_("Follow-up")),
            *(
                axes.plot([], [], marker, color=color, label=label)[0]
                for marker, (color, _points, label) in style.items()
            ),
        ]
        axes.legend(handles=handles, fontsize=7, frameon=False, loc="lower right")
        return _chart(figure, _("Swimmer plot: each subject's treatment, responses and events"))


def finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
