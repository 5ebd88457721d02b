"""The report's files: one self-contained HTML, and for a study of more than 200 subjects the
per-subject listings and the swimmer plot apart (appendix.html, appendix.csv)."""

from __future__ import annotations

import csv
import re

import pytest

from trialdesk.analysis import analyse
from trialdesk.protocol import load_default_protocol
from trialdesk.reports.analysis_report import LARGE_STUDY, write_report
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _analysis(protocol, n_treated: int):
    return analyse(
        snapshot_from_simulation(simulate_cohort(protocol, seed=7, n_treated=n_treated), protocol), protocol
    )


def test_a_large_study_puts_its_listings_and_swimmer_plot_in_a_separate_appendix(protocol, tmp_path):
    analysis = _analysis(protocol, LARGE_STUDY + 10)
    assert len(analysis.subjects) > LARGE_STUDY
    written = write_report(analysis, protocol, tmp_path, pdf=False)
    assert [p.name for p in written] == ["report.html", "appendix.html", "appendix.csv"]
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    appendix = (tmp_path / "appendix.html").read_text(encoding="utf-8")
    assert (
        'id="appendix-apart"' in report
        and 'id="response-listing"' not in report
        and 'id="swimmer"' not in report
    )
    assert 'id="response-listing"' in appendix and appendix.count("<img") == 1  # the swimmer plot
    assert 'id="primary-endpoint"' in report and 'id="ae-table"' in report  # the tables and plots stay
    # the report keeps the counts, the appendix names the subjects behind them
    (responder, *_) = analysis.response.responders
    assert responder not in report and responder in appendix
    # where a small study's report names subjects, a large one's says where they are: never a
    # dash or parentheses with nothing after or inside them
    text = re.sub(r"<[^>]+>", " ", report)
    assert "listed in the appendix" in text
    assert not re.search(r"\s—\s*(?:</(?:p|td|li)>|\.)", report) and not re.search(r"\(\s*\)", text)
    with (tmp_path / "appendix.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == analysis.response.population.n
    assert (
        sum(1 for row in rows if row["label"] in analysis.response.responders) == analysis.response.estimate.x
    )


def test_a_small_study_keeps_everything_in_one_file(protocol, tmp_path):
    analysis = _analysis(protocol, 15)
    assert [p.name for p in write_report(analysis, protocol, tmp_path, pdf=False)] == ["report.html"]
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="response-listing"' in report and 'id="swimmer"' in report
    assert report.count('data-subject="') == analysis.response.population.n
