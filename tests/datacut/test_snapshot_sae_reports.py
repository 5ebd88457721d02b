"""The snapshot carries each serious event's reporting state (the sponsor's acknowledgement, the
safety officer's expectedness), masked as the viewer may see it; the analysis's tolerance reads
it, and the data-cut file keeps it."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.deviations.test_deviation_listing import infusion
from tests.safety.conftest import SERIOUS_AE, report_of, save_ae  # noqa: F401 - fixture

from trialdesk.analysis.endpoints import analyse
from trialdesk.crf.services import save_form
from trialdesk.datacut import build_snapshot
from trialdesk.safety import services
from trialdesk.snapshot.datacut import read_datacut, write_datacut


@pytest.fixture
def assessed(cast, enrolled_subject, save_ae):  # noqa: F811
    """A serious, possibly related event (hospitalisation, ICH E2A) after a first dose, acknowledged
    and assessed unexpected by the safety officer: a SUSAR."""
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "infusion",
        infusion(dt.date(2026, 11, 25), loading=True, given=280),
    )
    report = report_of(save_ae())
    report = services.acknowledge(cast.safety_officer, report)
    return services.assess_expectedness(
        cast.safety_officer, report, "unexpected", "Not in the investigator's brochure, section 6"
    )


def test_the_snapshot_carries_the_acknowledgement_and_the_expectedness(cast, study, assessed):
    (subject,) = build_snapshot(study, viewer=cast.data_manager).subjects()
    (report,) = subject.sae_reports
    assert report.record.form == "adverse_event" and report.acknowledged
    assert report.acknowledged_at == assessed.acknowledged_at and report.aware_on == assessed.aware_on
    officer = cast.safety_officer
    assert report.acknowledged_by == (officer.get_full_name() or officer.username) and report.acknowledged_by
    assert (report.expectedness, report.expected) == ("unexpected", False)
    assert report.expectedness_comment == "Not in the investigator's brochure, section 6"


def test_a_pseudonymised_viewer_sees_the_state_without_who_nor_the_comment(cast, study, assessed):
    (subject,) = build_snapshot(study, viewer=cast.statistician).subjects()
    (report,) = subject.sae_reports
    assert report.acknowledged and report.expectedness == "unexpected"
    assert report.acknowledged_by == ""
    assert "brochure" not in report.expectedness_comment


def test_an_investigator_of_another_site_sees_no_report(cast, study, assessed):
    assert list(build_snapshot(study, viewer=cast.investigator_rennes).subjects()) == []


def test_an_unacknowledged_sae_reads_not_acknowledged_nor_assessed(cast, study, enrolled_subject, save_ae):  # noqa: F811
    save_ae()
    (subject,) = build_snapshot(study).subjects()
    (report,) = subject.sae_reports
    assert not report.acknowledged and report.acknowledged_at is None and report.expectedness == ""
    assert report.expected is None


def test_the_tolerance_lists_the_serious_event_as_an_acknowledged_susar(cast, study, assessed):
    snapshot = build_snapshot(study)
    t = analyse(snapshot, study.protocol).tolerance
    ((key, state),) = t.serious_reporting.items()
    assert key[0] == assessed.record.subject.label
    assert state.acknowledged and state.expectedness == "unexpected" and state.related is True
    assert state.susar and t.susars == (key,) and t.serious_not_acknowledged == ()


def test_the_tolerance_counts_an_unacknowledged_serious_event(cast, study, enrolled_subject, save_ae):  # noqa: F811
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "infusion",
        infusion(dt.date(2026, 11, 25), loading=True, given=280),
    )
    save_ae()
    t = analyse(build_snapshot(study), study.protocol).tolerance
    assert len(t.serious_not_acknowledged) == 1 and t.susars == ()  # not assessed: not a SUSAR


def test_the_data_cut_file_keeps_the_reporting_state(cast, study, assessed, tmp_path):
    snapshot = build_snapshot(study).materialise()
    (subject,) = snapshot.subjects()
    path = tmp_path / "cut.json"
    write_datacut(snapshot, path)
    (read,) = read_datacut(path).subjects()
    assert read.sae_reports == subject.sae_reports and subject.sae_reports
