"""The investigator's decisions on a subject's cardiac holds travel in the ODM file (a second
``Annotation`` of its ``SubjectData``) and in the data-cut file, and read back as they were:
an import needs the lift of a hold before the infusion given after it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from tests.exchange.conftest import odm_bytes

from trialdesk.exchange.odm_reader import read_odm
from trialdesk.snapshot.model import HoldDecisionSnapshot, RecordRef, held
from trialdesk.snapshot.plain import subject_from, subject_plain


def _with_a_lifted_hold(snapshot):
    subjects = list(snapshot.subjects())
    first = subjects[0]
    lvef = next(r for r in first.records if r.form == "lvef")
    decision = HoldDecisionSnapshot(
        RecordRef(lvef.form, lvef.visit, lvef.repeat),
        started_on=dt.date(2009, 3, 2),
        status="lifted",
        ended_on=dt.date(2009, 3, 20),
        reason="LVEF back to 58 % on the repeat echocardiography",
    )
    subjects[0] = replace(first, cardiac_decisions=(decision,))
    return replace(snapshot, subject_source=held(subjects)), decision


def test_a_lifted_hold_is_in_the_file_valid_and_reads_back(snapshot, protocol, odm_schema, tmp_path):
    from lxml import etree

    changed, decision = _with_a_lifted_hold(snapshot)
    path = tmp_path / "study.xml"
    path.write_bytes(odm_bytes(changed, protocol))
    odm_schema.assertValid(etree.parse(str(path)))
    read = read_odm(path, protocol, schema=odm_schema)
    first = next(read.snapshot.subjects())
    assert first.cardiac_decisions == (decision,)
    assert odm_bytes(read.snapshot, protocol) == path.read_bytes()


def test_a_subject_without_decisions_writes_no_annotation_for_them(snapshot, protocol):
    assert b"trialdesk:cardiac" not in odm_bytes(snapshot, protocol)


def test_the_data_cut_file_carries_the_decisions(snapshot):
    changed, decision = _with_a_lifted_hold(snapshot)
    first = next(changed.subjects())
    assert subject_from(subject_plain(first)).cardiac_decisions == (decision,)
    assert "cardiac_decisions" not in subject_plain(next(snapshot.subjects()))
