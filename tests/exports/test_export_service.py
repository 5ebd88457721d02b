"""Running an export as a user: who may, which sites, pseudonymised, audited with the
content's SHA-256, nothing left half-written."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from lxml import etree
from tests.exchange.conftest import NS
from tests.exports.conftest import export_events

from trialdesk.exports.services import ExportRefused, export_role, run_export

CUTOFF = dt.date(2026, 11, 30)


def _subjects(path):
    return [s.get("SubjectKey") for s in etree.parse(str(path)).iterfind(".//odm:SubjectData", NS)]


def _annotation(path):
    comments = etree.parse(str(path)).iterfind(".//odm:SubjectData/odm:Annotation/odm:Comment", NS)
    return [json.loads(c.text.split(" ", 1)[1]) for c in comments]


def test_the_operator_exports_every_site_and_the_export_is_audited_with_the_files_sha256(trial, tmp_path):
    out = tmp_path / "study.xml"
    result = run_export(trial, "odm", out, cutoff=CUTOFF)
    assert len(_subjects(out)) == 2 and result.subjects == 2
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    (event,) = export_events()
    assert event.object_type == "export.odm" and event.role == "system"
    assert event.new_value["sha256"] == result.sha256 and event.new_value["cutoff"] == "2026-11-30"
    assert event.new_value["sites"] == sorted(trial.sites.values_list("code", flat=True))


def test_the_live_odm_export_carries_the_audit_trail_the_exporter_may_read(trial, cast, tmp_path):
    out = tmp_path / "study.xml"
    run_export(trial, "odm", out, viewer=cast.investigator_nantes, cutoff=CUTOFF)
    doc = etree.parse(str(out))
    records = doc.findall(".//odm:AuditRecords/odm:AuditRecord", NS)
    assert records
    assert {r.find("odm:LocationRef", NS).get("LocationOID") for r in records} == {"LOC.NTE"}


def test_a_statisticians_export_is_pseudonymised(trial, cast, tmp_path):
    out = tmp_path / "study.xml"
    result = run_export(trial, "odm", out, viewer=cast.statistician, cutoff=CUTOFF)
    assert result.pseudonymised
    assert {s["year_of_birth"] for s in _annotation(out)} == {None}
    (event,) = export_events()
    assert (event.username, event.role) == ("statistician", "statistician")
    assert event.new_value["pseudonymised"] is True


def test_an_investigators_export_holds_only_their_sites(trial, cast, tmp_path):
    out = tmp_path / "nantes.xml"
    run_export(trial, "odm", out, viewer=cast.investigator_nantes, cutoff=CUTOFF)
    assert [s["site"] for s in _annotation(out)] == ["NTE"]
    assert b"LOC.RNS" not in out.read_bytes()
    csv_out = tmp_path / "nantes_csv"
    run_export(trial, "csv", csv_out, viewer=cast.investigator_nantes, cutoff=CUTOFF)
    screening = (csv_out / "screening.csv").read_text(encoding="utf-8").splitlines()
    assert len(screening) == 2 and ",NTE," in screening[1]
    assert [e.role for e in export_events()] == ["investigator", "investigator"]


@pytest.mark.parametrize("role", ["coordinator_nantes", "monitor", "sponsor", "safety_officer"])
def test_it_refuses_an_export_to_a_role_that_may_not_export(trial, cast, tmp_path, role):
    with pytest.raises(ExportRefused):
        export_role(getattr(cast, role), trial)
    with pytest.raises(ExportRefused):
        run_export(trial, "odm", tmp_path / "x.xml", viewer=getattr(cast, role), cutoff=CUTOFF)
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_the_csv_export_is_a_folder_audited_with_the_hash_of_its_manifest(trial, tmp_path):
    out = tmp_path / "csv"
    result = run_export(trial, "csv", out, viewer=None, cutoff=CUTOFF)
    assert "data_dictionary.csv" in result.files and (out / "data_dictionary.csv").is_file()
    (event,) = export_events()
    assert event.new_value["sha256"] == result.sha256 and event.new_value["files"] == list(result.files)


def test_nothing_is_left_when_the_audit_cannot_be_written(trial, tmp_path, monkeypatch):
    from trialdesk.exports import services

    def failing(*args, **kwargs):
        raise RuntimeError("the trail is unavailable")

    monkeypatch.setattr(services, "record", failing)
    for kind, out in (("odm", tmp_path / "study.xml"), ("csv", tmp_path / "csv")):
        with pytest.raises(RuntimeError):
            run_export(trial, kind, out, cutoff=CUTOFF)
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_a_cutoff_before_a_screening_leaves_that_subject_out(trial, tmp_path):
    out = tmp_path / "study.xml"
    run_export(trial, "odm", out, cutoff=dt.date(2026, 11, 21))
    assert [s["site"] for s in _annotation(out)] == ["NTE"]


def test_a_statisticians_odm_holds_no_free_text_of_the_sites_neither_in_data_nor_in_the_trail(
    cast, study, tmp_path
):
    """DESIGN §5: the statistician's exports see no free text typed by the sites."""
    import datetime as dt

    from tests.conftest import ELIGIBLE_SCREENING

    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    typed = "46,XY,t(4;11) seen by Dr Typed-Text"
    subject = register_screening(
        cast.investigator_nantes,
        study.sites.get(code="NTE"),
        screened_on=dt.date(2026, 11, 20),
        sex="M",
        year_of_birth=1964,
        today=dt.date(2026, 11, 25),
    )
    data = dict(ELIGIBLE_SCREENING, karyotype_abnormal=True, karyotype=typed)
    save_form(cast.investigator_nantes, subject, "screening", data, visit=subject.visits.get())
    operator, statistician = tmp_path / "operator.xml", tmp_path / "statistician.xml"
    run_export(study, "odm", operator, cutoff=CUTOFF)
    run_export(study, "odm", statistician, viewer=cast.statistician, cutoff=CUTOFF)
    assert typed in operator.read_text(encoding="utf-8")
    text = statistician.read_text(encoding="utf-8")
    assert "Typed-Text" not in text and "<AuditRecords" in text
