"""The plots of the analysis report, as SVG images embedded in the page: Kaplan–Meier curves
with their confidence bands and the numbers at risk under the axis (the report's own, house
style of ``reports.charts``); HER2-positive blasts over time, the waterfall of the best change
in marrow blasts, LVEF over time and the swimmer plot of each subject's treatment are the
shared charts of ``trialdesk.charts`` (the dashboards draw the same ones), with the report's
options (``OPTIONS``: text as paths for the PDF, every subject, collections for a large study)."""

from __future__ import annotations

import hashlib
import math

from django.utils.translation import gettext as _
from matplotlib import rc_context
from matplotlib.figure import Figure

from trialdesk import charts as shared
from trialdesk.analysis.endpoints import Analysis, SurvivalEndpoint
from trialdesk.charts import ChartOptions, rows
from trialdesk.datacut.cache import CACHE_SECONDS
from trialdesk.datacut.chart_text import chart_text
from trialdesk.reports.charts import ACCENT, PLAN, Chart, _chart
from trialdesk.reports.charts import SVG_STYLE as HOUSE_STYLE

#: text drawn as paths: the PDF renderer shows the labels exactly as matplotlib laid them out
SVG_STYLE = {**HOUSE_STYLE, "svg.fonttype": "path"}


def km_chart(endpoint: SurvivalEndpoint, label: str) -> Chart | None:
    """The Kaplan–Meier curve of ``endpoint``, kept by what it is drawn from (the estimate, each
    subject's time and event, the label and the language): a second request draws none."""
    if endpoint.km is None or not endpoint.subjects:
        return None
    content = repr((endpoint.km, [(s.months, s.event) for s in endpoint.subjects], label))
    return _kept_by(f"km|{hashlib.sha256(content.encode()).hexdigest()}", lambda: _km_chart(endpoint, label))


def _km_chart(endpoint: SurvivalEndpoint, label: str) -> Chart | None:
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


#: past this many subjects a chart names no subject on its axis (the labels would overlap);
#: the listings beside it name them
LABELLED_SUBJECTS = 60
#: the tallest swimmer plot, in inches: a study of thousands is drawn as a band of thin rows
SWIMMER_MAX_HEIGHT = 11.0
#: the report's options of the shared charts (``trialdesk.charts``, which the dashboards draw too):
#: text as paths for the PDF renderer, every subject on the swimmer plot, collections past
#: LABELLED_SUBJECTS
OPTIONS = ChartOptions(
    width=7.5,
    text_as_paths=True,
    labelled_bars=LABELLED_SUBJECTS,
    labelled_series=20,
    labelled_rows=LABELLED_SUBJECTS,
    swimmer_rows=None,
    max_height=SWIMMER_MAX_HEIGHT,
    hash_salt="trialdesk",
)


def _image(chart: shared.Chart) -> Chart:
    return Chart(chart.svg, chart.title)


#: a drawn chart is kept by what it is drawn from: the content SHA-256 of the viewer's snapshot
#: (another viewer's data, or one change, is another hash), the protocol's, the date, the language
CHART_CACHE_VERSION = "report-charts-1"


def _kept(name: str, analysis: Analysis, draw) -> Chart | None:
    """``draw()``, or the same chart drawn earlier from the same snapshot content in this language
    (an analysis without its snapshot's SHA-256 is drawn each time)."""
    if not analysis.snapshot_sha256:
        return draw()
    what = f"{name}|{analysis.snapshot_sha256}|{analysis.protocol_sha256}|{analysis.as_of.isoformat()}"
    return _kept_by(what, draw)


def _kept_by(what: str, draw) -> Chart | None:
    from django.core.cache import cache
    from django.utils.translation import get_language

    raw = f"{CHART_CACHE_VERSION}|{what}|{get_language() or ''}"
    key = "reports:chart:" + hashlib.sha256(raw.encode()).hexdigest()
    found = cache.get(key)
    if found is not None:
        return found or None  # "" : nothing to draw
    chart = draw()
    cache.set(key, chart or "", CACHE_SECONDS)
    return chart


def best_change(facts) -> float | None:
    """The best (lowest) relative change of the marrow blasts on treatment from baseline, in %
    (the clinical core's ``CourseOfDisease.best_blast_change_pct``)."""
    return facts.course.best_blast_change_pct


def her2_chart(analysis: Analysis) -> Chart | None:
    return _kept("her2", analysis, lambda: _her2_chart(analysis))


def _her2_chart(analysis: Analysis) -> Chart | None:
    series = rows.her2_series(analysis)
    if not series:
        return None
    return _image(shared.her2_chart(series, text=chart_text(), options=OPTIONS))


def waterfall_chart(analysis: Analysis, protocol=None) -> Chart | None:
    """The waterfall; with ``protocol``, the fall a partial response needs drawn as a line."""
    return _kept(f"waterfall|{protocol is not None}", analysis, lambda: _waterfall_chart(analysis, protocol))


def _waterfall_chart(analysis: Analysis, protocol) -> Chart | None:
    bars, _missing = rows.waterfall(analysis)
    if not bars:
        return None
    pr = float(protocol.response_criteria.pr_min_decrease_pct) if protocol is not None else None
    return _image(shared.waterfall_chart(bars, pr_decrease_pct=pr, text=chart_text(), options=OPTIONS))


def lvef_chart(analysis: Analysis, protocol=None) -> Chart | None:
    """LVEF over time; with ``protocol``, against its cardiac threshold."""
    return _kept(f"lvef|{protocol is not None}", analysis, lambda: _lvef_chart(analysis, protocol))


def _lvef_chart(analysis: Analysis, protocol) -> Chart | None:
    series = rows.lvef_series(analysis)
    if not series:
        return None
    threshold = rows.lvef_threshold(protocol) if protocol is not None else None
    return _image(shared.lvef_chart(series, threshold=threshold, text=chart_text(), options=OPTIONS))


def swimmer_chart(analysis: Analysis) -> Chart | None:
    return _kept("swimmer", analysis, lambda: _swimmer_chart(analysis))


def _swimmer_chart(analysis: Analysis) -> Chart | None:
    swimmer = rows.swimmer(analysis)
    if not swimmer:
        return None
    return _image(shared.swimmer_chart(swimmer, text=chart_text(), options=OPTIONS))


def finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
