"""The SVG documents of the charts, from small hand-made snapshots and from a large one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from lxml import etree
from tests.dashboards.test_dashboard_data import D0, _analysis, _blasts_80_40_3, _doses, _marrow, _subject

from trialdesk.dashboards import charts
from trialdesk.dashboards.data import dashboard_data
from trialdesk.protocol import load_default_protocol
from trialdesk.snapshot.model import SiteSnapshot

SVG = "{http://www.w3.org/2000/svg}"
SITES = (SiteSnapshot("NTE", "Nantes", activated_on=D0 - dt.timedelta(days=90)),)


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _texts(svg: str) -> list[str]:
    root = etree.fromstring(svg.encode())
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_the_waterfall_writes_the_best_response_on_its_bar_and_names_it_in_the_legend(protocol):
    data = dashboard_data(
        _analysis(protocol, _blasts_80_40_3(protocol), sites=SITES), SITES, protocol, whole_study=True
    )
    with translation.override("en"):
        chart = charts.waterfall_chart(data)
    root = etree.fromstring(chart.svg.encode())
    assert root.find(f"{SVG}title").text == "Best change in marrow blasts from the baseline"
    texts = _texts(chart.svg)
    assert "CR" in texts and "Complete response (CR)" in texts and "S-1" in texts
    # the protocol's partial-response fall (50 %) is drawn and said
    assert any("50 % fall" in t for t in texts), texts


def test_the_french_waterfall_names_the_response_in_french(protocol):
    data = dashboard_data(
        _analysis(protocol, _blasts_80_40_3(protocol), sites=SITES), SITES, protocol, whole_study=True
    )
    with translation.override("fr"):
        texts = _texts(charts.waterfall_chart(data).svg)
    assert "RC" in texts and "Rémission complète (RC)" in texts and "Meilleure réponse" in texts


def test_a_large_study_keeps_its_charts_readable(protocol):
    subjects = []
    for i in range(120):
        subjects.append(
            _subject(
                f"S-{i:03d}",
                [
                    _marrow(
                        protocol, D0 - dt.timedelta(days=5), 60, protocol.baseline_visits[0].code, her2=50
                    ),
                    _marrow(protocol, D0 + dt.timedelta(days=28), 10 + i % 50, repeat=1, her2=40),
                    *_doses(protocol, 1 + i % 8),
                ],
            )
        )
    data = dashboard_data(_analysis(protocol, *subjects, sites=SITES), SITES, protocol, whole_study=True)
    with translation.override("en"):
        swimmer = charts.swimmer_chart(data)
        waterfall = charts.waterfall_chart(data)
        her2 = charts.her2_chart(data)
    swimmer_names = [t for t in _texts(swimmer.svg) if t.startswith("S-")]
    assert len(swimmer_names) == charts.SWIMMER_ROWS  # the longest on study only; the table has all 120
    assert not [t for t in _texts(waterfall.svg) if t.startswith("S-")]
    assert not [t for t in _texts(her2.svg) if t.startswith("S-")]
    assert len(data.swimmer) == len(data.waterfall) == 120


def test_an_empty_study_has_an_enrollment_chart_and_nothing_else_to_draw(protocol):
    data = dashboard_data(_analysis(protocol, sites=SITES), SITES, protocol, whole_study=True)
    with translation.override("en"):
        drawn = {name: charts.chart(name, data) for name in charts.CHART_NAMES}
    assert drawn["enrollment"] is not None
    assert all(chart is None for name, chart in drawn.items() if name != "enrollment")
    assert all(not charts.has_data(name, data) for name in charts.CHART_NAMES if name != "enrollment")


def test_the_captions_agree_in_number_in_french(protocol):
    from trialdesk.dashboards.presentation import screen_failures_section, waterfall_section

    first = protocol.eligibility.criteria[0]
    failed = _subject("F-1", [], enrolled_on=None, status="screen_failed", failed=(first.code,))
    data = dashboard_data(
        _analysis(protocol, failed, _blasts_80_40_3(protocol), sites=SITES), SITES, protocol, whole_study=True
    )
    with translation.override("fr"):
        assert (
            screen_failures_section(data).caption[0] == "1 patient sélectionné sur 2 a échoué à la sélection."
        )
        assert waterfall_section(data).caption[1] == (
            "1 patient sur 1 ayant un myélogramme après l'inclusion a répondu."
        )
    with translation.override("en"):
        assert screen_failures_section(data).caption[0] == "1 patient of 2 screened failed screening."
