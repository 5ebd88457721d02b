"""The charts the dashboards and the analysis report share (trialdesk.charts): each draws what
its rows hold, an empty input draws "no data" rather than failing, and the words follow the
language passed in."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation
from lxml import etree

from trialdesk import charts
from trialdesk.charts import ChartOptions, ChartText
from trialdesk.charts.rows import Series, SwimmerRow, WaterfallBar
from trialdesk.clinical.response import ResponseCategory as R

SVG = "{http://www.w3.org/2000/svg}"
D0 = dt.date(2026, 1, 5)
#: a partial response needs a fall of at least 50 % of the marrow blasts (DESIGN §4; BBMT 2010;16:1187, Table 4a)
PR_FALL = 50.0
#: LVEF below 50 % with a drop of 10 points withholds trastuzumab (DESIGN §4, the trastuzumab label)
LVEF_THRESHOLD = 50.0


def _root(chart):
    return etree.fromstring(chart.svg.encode())


def _texts(chart) -> list[str]:
    return ["".join(t.itertext()) for t in _root(chart).iter(f"{SVG}text")]


def _drawn(chart, gid: str) -> int:
    """How many shapes (bars, lines, markers) the group ``gid`` draws; 0 if absent. A compound
    path (every bar of a kind in one SVG element) counts its subpaths; a marker is a <use>."""
    group = _root(chart).find(f".//{SVG}g[@id='{gid}']")
    if group is None:
        return 0
    shapes = [e for e in group.iter(f"{SVG}path", f"{SVG}use") if e.getparent().tag != f"{SVG}defs"]
    return sum(len(re.findall(r"M\s", e.get("d"))) if e.tag == f"{SVG}path" else 1 for e in shapes)


def _bar(label, change, best):
    return WaterfallBar(label, "NTE", 60.0, 60.0 * (1 + change / 100), change, best)


def _row(label, days, *, response_after=None, failure_after=None, saes=(), died=False):
    end = D0 + dt.timedelta(days=days)
    return SwimmerRow(
        label=label,
        site="NTE",
        first_dose=D0,
        last_dose=D0 + dt.timedelta(days=days // 2),
        end=end,
        doses=tuple(D0 + dt.timedelta(weeks=w) for w in range(days // 14 + 1)),
        best=R.PR if response_after else R.NO_RESPONSE,
        first_response_on=D0 + dt.timedelta(days=response_after) if response_after else None,
        failure=R.PROGRESSION if failure_after else None,
        failure_on=D0 + dt.timedelta(days=failure_after) if failure_after else None,
        serious_events=tuple(D0 + dt.timedelta(days=d) for d in saes),
        death_on=end if died else None,
        ongoing=not died,
    )


def _series(label, values):
    return Series(label, "NTE", D0, tuple((D0 + dt.timedelta(days=30 * i), v) for i, v in enumerate(values)))


BARS = (
    _bar("S-1", 20.0, R.PROGRESSION),
    _bar("S-2", 5.0, R.NO_RESPONSE),
    _bar("S-3", -10.0, R.NO_RESPONSE),
    _bar("S-4", -60.0, R.PR),
    _bar("S-5", -97.0, R.CR),
)
ROWS = (
    _row("S-1", 300, response_after=60, failure_after=200, saes=(90, 120)),
    _row("S-2", 200, response_after=30),
    _row("S-3", 90, died=True),
)


def test_the_waterfall_draws_one_bar_per_subject_in_the_pattern_of_its_best_response():
    chart = charts.waterfall_chart(BARS, pr_decrease_pct=PR_FALL)
    assert not chart.empty
    assert {c: _drawn(chart, f"bars-{c.value}") for c in R} == {
        R.CR: 1,
        R.CRP: 0,
        R.PR: 1,
        R.NO_RESPONSE: 2,
        R.PROGRESSION: 1,
        R.RELAPSE: 0,
    }
    texts = _texts(chart)
    assert {"S-1", "S-5", "CR", "PR", "NR", "PD"} <= set(texts)
    assert "Complete response (CR)" in texts and "Best response" in texts
    assert any(t.startswith("50 % fall") for t in texts)


def test_the_waterfall_without_a_partial_response_fall_draws_no_such_line():
    texts = _texts(charts.waterfall_chart(BARS, pr_decrease_pct=None))
    assert not any("fall: the least" in t for t in texts)


def test_a_large_waterfall_draws_every_bar_and_names_none():
    bars = tuple(_bar(f"S-{i:03d}", 40.0 - i, R.NO_RESPONSE) for i in range(120))
    chart = charts.waterfall_chart(bars, options=ChartOptions(labelled_bars=40))
    assert _drawn(chart, f"bars-{R.NO_RESPONSE.value}") == 120
    # one SVG element for the 120 bars of a kind (a study of thousands stays a light document)
    assert len(_root(chart).findall(f".//{SVG}g[@id='bars-{R.NO_RESPONSE.value}']/{SVG}path")) == 1
    assert not [t for t in _texts(chart) if t.startswith("S-")]
    assert "Subjects, from the largest increase to the largest fall" in _texts(chart)


def test_the_swimmer_plot_draws_one_row_per_subject_with_its_events():
    chart = charts.swimmer_chart(ROWS)
    assert _drawn(chart, "follow-up") == _drawn(chart, "on-treatment") == 3
    assert _drawn(chart, "markers-response") == 2
    assert _drawn(chart, "markers-failure") == 1
    assert _drawn(chart, "markers-sae") == 2
    assert _drawn(chart, "markers-death") == 1
    assert _drawn(chart, "markers-ongoing") == 2
    assert _drawn(chart, "markers-dose") == sum(len(r.doses) for r in ROWS)
    assert {"S-1", "S-2", "S-3"} <= set(_texts(chart))


def test_the_swimmer_plot_keeps_the_longest_rows_when_asked():
    chart = charts.swimmer_chart(ROWS, options=ChartOptions(swimmer_rows=2))
    assert _drawn(chart, "follow-up") == 2
    assert "S-3" not in _texts(chart) and {"S-1", "S-2"} <= set(_texts(chart))


def test_a_large_swimmer_plot_draws_thin_rows_without_names_or_doses():
    rows = tuple(_row(f"S-{i:03d}", 60 + i) for i in range(100))
    chart = charts.swimmer_chart(rows, options=ChartOptions(labelled_rows=60))
    assert _drawn(chart, "follow-up") == 100 and _drawn(chart, "markers-dose") == 0
    assert not [t for t in _texts(chart) if t.startswith("S-")]
    assert "100 subjects, by time on study" in _texts(chart)


def test_her2_over_time_draws_one_line_per_subject_named_at_its_end():
    series = (_series("S-1", [60, 40, 20]), _series("S-2", [50, 55]), _series("S-3", [70]))
    chart = charts.her2_chart(series)
    # each subject: its line and one marker per value; no fourth line
    assert [_drawn(chart, f"series-{i}") for i in range(4)] == [1 + 3, 1 + 2, 1 + 1, 0]
    assert {"S-1", "S-2", "S-3"} <= set(_texts(chart))


def test_many_series_are_one_collection_of_lines_without_names():
    series = tuple(_series(f"S-{i:02d}", [50 + i % 7, 40, 30]) for i in range(30))
    chart = charts.her2_chart(series, options=ChartOptions(labelled_series=25))
    assert _drawn(chart, "series") == 30 and _drawn(chart, "series-0") == 0
    assert not [t for t in _texts(chart) if t.startswith("S-")]


def test_lvef_over_time_draws_the_protocols_cardiac_threshold():
    chart = charts.lvef_chart((_series("S-1", [62, 58, 47]),), threshold=LVEF_THRESHOLD)
    assert _drawn(chart, "series-0") == 1 + 3 and _drawn(chart, "series-1") == 0
    assert "50 %: the protocol's cardiac threshold" in _texts(chart)
    assert not any("threshold" in t for t in _texts(charts.lvef_chart((_series("S-1", [62]),))))


@pytest.mark.parametrize(
    "draw",
    [
        lambda: charts.waterfall_chart((), pr_decrease_pct=PR_FALL),
        lambda: charts.swimmer_chart(()),
        lambda: charts.her2_chart(()),
        lambda: charts.lvef_chart((), threshold=LVEF_THRESHOLD),
        lambda: charts.her2_chart((Series("S-1", "NTE", D0, ()),)),  # a subject without a value
    ],
    ids=["waterfall", "swimmer", "her2", "lvef", "series-without-points"],
)
def test_an_empty_input_draws_a_chart_that_says_there_is_no_data(draw):
    chart = draw()
    root = _root(chart)
    assert chart.empty and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == chart.title
    assert chart.description == "No data to draw yet." and "No data to draw yet." in _texts(chart)


def _french() -> ChartText:
    from trialdesk.datacut.chart_text import chart_text

    return chart_text()


def test_the_labels_are_in_french_when_asked():
    with translation.override("fr"):
        text = _french()
        waterfall = charts.waterfall_chart(BARS, pr_decrease_pct=PR_FALL, text=text)
        swimmer = charts.swimmer_chart(ROWS, text=text)
        lvef = charts.lvef_chart((_series("S-1", [62.5, 58, 47]),), threshold=LVEF_THRESHOLD, text=text)
        empty = charts.her2_chart((), text=text)
    assert "Meilleure réponse" in _texts(waterfall) and "RC" in _texts(waterfall)
    assert "Rémission complète (RC)" in _texts(waterfall)
    assert "Best response" not in _texts(waterfall)
    assert "Mois depuis la première dose" in _texts(swimmer)
    assert "Months from the first dose" not in _texts(swimmer)
    assert _root(swimmer).find(f"{SVG}title").text == swimmer.title != "Time on study of each treated subject"
    assert "FEVG (%)" in _texts(lvef) and "LVEF (%)" not in _texts(lvef)
    assert "50 % : le seuil cardiaque du protocole" in _texts(lvef)
    assert empty.description == "Aucune donnée à représenter pour l'instant."


def test_english_is_the_default_and_the_text_stays_text_unless_drawn_as_paths():
    plain = charts.swimmer_chart(ROWS)
    assert "Months from the first dose" in _texts(plain)
    as_paths = charts.swimmer_chart(ROWS, options=ChartOptions(text_as_paths=True))
    assert _texts(as_paths) == [] and _drawn(as_paths, "follow-up") == 3
