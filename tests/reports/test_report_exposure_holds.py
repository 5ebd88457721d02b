"""The report's exposure section counts the subjects with a cardiac hold, the doses given during
a hold and the protocol deviations by rule, as the clinical rules find them on the snapshot."""

from __future__ import annotations

from django.utils import translation
from tests.datacut.test_snapshot_cardiac_holds import NOW, dosed_during_hold  # noqa: F401 - fixture

from trialdesk.analysis import analyse
from trialdesk.datacut import build_snapshot
from trialdesk.reports.analysis_report import render_report


def _exposure(study, lang: str) -> str:
    analysis = analyse(build_snapshot(study, cutoff=NOW.date()), study.protocol)
    with translation.override(lang):
        html = render_report(analysis, study.protocol)
    return html.split('<section id="exposure">')[1].split("</section>")[0]


def test_the_exposure_section_shows_the_hold_and_the_two_doses_given_during_it(study, dosed_during_hold):  # noqa: F811
    section = _exposure(study, "en")
    label = dosed_during_hold.label
    assert f'data-n="1">1 — {label}<' in section
    assert 'id="exposure-doses-during-hold">2<' in section
    rows = section.split('id="deviations-by-rule"')[1]
    assert f'<td>Dose given during a cardiac hold</td><td class="num">2</td><td>{label}</td>' in rows


def test_the_exposure_section_speaks_french(study, dosed_during_hold):  # noqa: F811
    section = _exposure(study, "fr")
    assert "Patients ayant eu une suspension cardiaque" in section
    assert "Dose administrée pendant une suspension cardiaque" in section
    assert "Dose given during" not in section


def test_a_study_without_a_hold_says_none_and_no_deviation(cast, study, enrolled_subject):
    section = _exposure(study, "en")
    assert 'data-n="0">0<' in section and 'id="exposure-doses-during-hold">0<' in section
    assert "No protocol deviation." in section
