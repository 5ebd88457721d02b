"""The plots of the analysis report, as SVG images embedded in the page (house style of
``reports.charts``): Kaplan–Meier curves with their confidence bands and the numbers at
risk under the axis, HER2-positive blasts over time, the waterfall of the best change in
marrow blasts, LVEF over time, and the swimmer plot of each subject's treatment."""

from __future__ import annotations

import math

from django.utils.translation import gettext as _
from matplotlib import rc_context
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


def her2_chart(analysis: Analysis) -> Chart | None:
    series = [
        (f.label, f.first_dose_on, f.course.her2) for f in analysis.subjects if f.treated and f.course.her2
    ]
    if not series:
        return None
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, 3.4))
        axes = figure.add_subplot()
        for label, first, points in series:
            start = first or points[0][0]
            xs = [(day - start).days / 30.4375 for day, _v in points]
            ys = [v for _d, v in points]
            axes.plot(xs, ys, marker="o", markersize=3, linewidth=1, alpha=0.8, label=label)
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


def waterfall_chart(analysis: Analysis) -> Chart | None:
    bars = [(f.label, best_change(f), f.course.confirmed.responder) for f in analysis.subjects if f.treated]
    bars = sorted(((label, v, r) for label, v, r in bars if v is not None), key=lambda b: -b[1])
    if not bars:
        return None
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, 3.4))
        axes = figure.add_subplot()
        axes.bar(range(len(bars)), [b[1] for b in bars], color=[GOOD if b[2] else PLAN for b in bars])
        axes.axhline(-50, color=WARN, linewidth=0.8, linestyle="--")
        axes.axhline(0, color="black", linewidth=0.6)
        axes.set_xticks(range(len(bars)))
        axes.set_xticklabels([b[0] for b in bars], rotation=90, fontsize=7)
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
        for label, first, points in series:
            start = first or points[0][0]
            axes.plot(
                [(d - start).days / 30.4375 for d, _v in points],
                [v for _d, v in points],
                marker="o",
                markersize=3,
                linewidth=1,
                alpha=0.8,
                label=label,
            )
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
    height = max(2.5, 0.28 * len(rows) + 1)
    with rc_context(SVG_STYLE):
        figure = Figure(figsize=(7.5, height))
        axes = figure.add_subplot()
        for y, f in enumerate(rows):
            start = f.first_dose_on

            def m(day, start=start):
                return (day - start).days / 30.4375

            end_follow = f.os.end if f.os is not None else f.last_dose_on or start
            axes.barh(y, m(end_follow), color=FOLLOW_UP, height=0.6)
            last = f.last_dose_on or start
            axes.barh(y, m(last) + 7 / 30.4375, color=ACCENT, height=0.6)
            if f.course.confirmed.first_response_on is not None:
                axes.plot(m(f.course.confirmed.first_response_on), y, marker="^", color=GOOD, markersize=6)
            if f.course.confirmed.failure_on is not None:
                axes.plot(m(f.course.confirmed.failure_on), y, marker="x", color=WARN, markersize=6)
            for e in f.adverse_events:
                if e.serious and e.onset is not None:
                    axes.plot(m(e.onset), y, marker="D", color=BAD, markersize=4)
            if f.survival.death_date is not None and f.os is not None and f.os.event:
                axes.plot(m(f.survival.death_date), y, marker="s", color="black", markersize=5)
        axes.set_yticks(range(len(rows)))
        axes.set_yticklabels([f.label for f in rows], fontsize=7)
        axes.set_xlabel(_("Months from the first dose"))
        handles = [
            Patch(color=ACCENT, label=_("On treatment")),
            Patch(color=FOLLOW_UP, label=_("Follow-up")),
            axes.plot([], [], "^", color=GOOD, label=_("First response"))[0],
            axes.plot([], [], "x", color=WARN, label=_("Relapse or progression"))[0],
            axes.plot([], [], "D", color=BAD, label=_("Serious adverse event"))[0],
            axes.plot([], [], "s", color="black", label=_("Death"))[0],
        ]
        axes.legend(handles=handles, fontsize=7, frameon=False, loc="lower right")
        return _chart(figure, _("Swimmer plot: each subject's treatment, responses and events"))


def finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
