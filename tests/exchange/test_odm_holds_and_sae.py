"""A subject's cardiac holds and its serious events' reporting state travel in the ODM file (an
``Annotation`` each of its ``SubjectData``, schema-valid) and in the data-cut file, and read back
as they were: export, read, export gives the same bytes."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from tests.exchange.conftest import odm_bytes

from trialdesk.exchange.odm_reader import read_odm
from trialdesk.snapshot.model import HoldSnapshot, RecordRef, SaeReportSnapshot, held
from trialdesk.snapshot.plain import subject_from, subject_plain


def _with_hold_and_sae(snapshot):
    subjects = list(snapshot.subjects())
    first = subjects[0]
    lvef = next(r for r in first.records if r.form == "lvef")
    ae = next(r for r in first.records if r.form == "adverse_event")
    hold = HoldSnapshot(
        RecordRef(lvef.form, lvef.visit, lvef.repeat),
        started_on=dt.date(2009, 3, 2),
        criterion="drop",
        explanation="hold: LVEF 45 %, a drop of 17 points from 62 % at baseline, 16 points or more",
        baseline_pct=62.0,
        value_pct=45.0,
        drop_points=17.0,
        repeat_lvef_due_on=dt.date(2009, 3, 30),
        status="lifted",
        ended_on=dt.date(2009, 3, 20),
        reason="LVEF back to 58 %",
    )
    still = replace(hold, status="active", ended_on=None, reason="", started_on=dt.date(2009, 5, 4))
    sae = SaeReportSnapshot(
        RecordRef(ae.form, ae.visit, ae.repeat),
        reported_at=dt.datetime(2009, 3, 5, 9, 30, tzinfo=dt.UTC),
        acknowledged_at=dt.datetime(2009, 3, 5, 14, 0, tzinfo=dt.UTC),
        acknowledged_by="Vera Vigil",
        aware_on=dt.date(2009, 3, 5),
        expectedness="unexpected",
        expectedness_comment="not in the brochure",
        assessed_at=dt.datetime(2009, 3, 6, 8, 0, tzinfo=dt.UTC),
    )
    unread = replace(
        sae,
        acknowledged_at=None,
        acknowledged_by="",
        aware_on=None,
        expectedness="",
        expectedness_comment="",
        assessed_at=None,
    )
    subjects[0] = replace(first, cardiac_holds=(hold, still), sae_reports=(sae, unread))
    return replace(snapshot, subject_source=held(subjects)), subjects[0]


def test_holds_and_sae_reports_are_in_the_file_valid_and_read_back_byte_identical(
    snapshot, protocol, odm_schema, tmp_path
):
    from lxml import etree

    changed, expected = _with_hold_and_sae(snapshot)
    path = tmp_path / "study.xml"
    path.write_bytes(odm_bytes(changed, protocol))
    odm_schema.assertValid(etree.parse(str(path)))
    first = next(read_odm(path, protocol, schema=odm_schema).snapshot.subjects())
    assert (first.cardiac_holds, first.sae_reports) == (expected.cardiac_holds, expected.sae_reports)
    assert odm_bytes(read_odm(path, protocol).snapshot, protocol) == path.read_bytes()


def test_a_subject_without_them_writes_no_annotation_and_no_data_cut_key(snapshot, protocol):
    assert b"trialdesk:cardiac-holds" not in odm_bytes(snapshot, protocol)
    assert b"trialdesk:sae-reports" not in odm_bytes(snapshot, protocol)
    plain = subject_plain(next(snapshot.subjects()))
    assert "cardiac_holds" not in plain and "sae_reports" not in plain


def test_the_data_cut_file_carries_them_and_an_older_file_without_them_reads_none(snapshot):
    _changed, expected = _with_hold_and_sae(snapshot)
    back = subject_from(subject_plain(expected))
    assert (back.cardiac_holds, back.sae_reports) == (expected.cardiac_holds, expected.sae_reports)
    older = subject_plain(expected)
    del older["cardiac_holds"], older["sae_reports"]
    assert subject_from(older).cardiac_holds == () and subject_from(older).sae_reports == ()
