"""trialdesk.charts — the study's charts, drawn once for every page that shows them (pure: no Django).

The dashboard (``dashboards``) and the analysis report (``reports``) draw the same charts from
the same rows, each with its own needs passed in:

    rows      = trialdesk.charts.rows.waterfall(analysis)  # swimmer, her2_series, lvef_series
    chart     = trialdesk.charts.waterfall_chart(bars, pr_decrease_pct=50, text=..., options=...)
    chart.svg                                            # an SVG document with <title> and <desc>

``text`` (``ChartText``) carries the words (a ``gettext``/``ngettext`` pair, e.g. Django's, so the
labels come out in the reader's language), numbers and response names; ``options``
(``ChartOptions``) the size, whether the text is drawn as paths (the PDF), how many
bars/rows/series are named before a large study is drawn as collections. An empty input draws a
"no data" chart (``Chart.empty``), never an exception.
"""

from trialdesk.charts.base import Chart, ChartOptions, ChartText, no_data_chart, svg_document
from trialdesk.charts.response import response_abbreviation, swimmer_chart, waterfall_chart
from trialdesk.charts.series import her2_chart, lvef_chart

__all__ = [
    "Chart",
    "ChartOptions",
    "ChartText",
    "her2_chart",
    "lvef_chart",
    "no_data_chart",
    "response_abbreviation",
    "svg_document",
    "swimmer_chart",
    "waterfall_chart",
]
