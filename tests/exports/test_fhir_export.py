"""`trialdesk export fhir --out FILE.json`: the FHIR R5 Bundle of the study as the user may see
it (every site for the operator, pseudonymised for the statistician, their own sites for an
investigator), audited with its SHA-256; bad input exits 3 naming the argument, nothing written."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from fhir.resources.bundle import Bundle
from tests.exports.conftest import export_events, screen_one_subject_per_site

from trialdesk.cli import main


@pytest.fixture
def trial(cast, study):
    return screen_one_subject_per_site(cast, study)


@pytest.fixture(autouse=True)
def _environment_kept(monkeypatch):
    """setup_django() sets defaults in os.environ: none of them outlives a test."""
    for name in ("TRIALDESK_DB", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)


def _resources(path, kind):
    bundle = json.loads(path.read_text(encoding="utf-8"))
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_operator_exports_every_site_as_an_r5_bundle_audited_with_its_sha256(trial, tmp_path, capsys):
    out = tmp_path / "study.json"
    assert main(["export", "fhir", "--out", str(out)]) == 0
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert sha in capsys.readouterr().out
    Bundle.model_validate_json(out.read_bytes())
    assert sorted(r["identifier"][0]["value"] for r in _resources(out, "ResearchSubject")) == [
        "NTE-S01",
        "RNS-S01",
    ]
    (study,) = _resources(out, "ResearchStudy")
    assert study["identifier"][0]["value"] == "NCT00724360"
    (event,) = export_events()
    assert (event.object_type, event.new_value["sha256"], event.new_value["kind"]) == (
        "export.fhir",
        sha,
        "fhir",
    )


def test_as_the_statistician_the_bundle_is_pseudonymised(trial, tmp_path, capsys):
    out = tmp_path / "stat.json"
    assert main(["export", "fhir", "--as", "statistician", "--out", str(out), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["pseudonymised"] is True and answer["subjects"] == 2
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["meta"]["security"][0]["code"] == "PSEUDED"
    patients = _resources(out, "Patient")
    assert len(patients) == 2 and all("birthDate" not in p for p in patients)
    (event,) = export_events()
    assert event.username == "statistician" and event.new_value["pseudonymised"] is True


def test_as_an_investigator_the_bundle_holds_their_site_only(trial, tmp_path):
    out = tmp_path / "nte.json"
    assert main(["export", "fhir", "--as", "inv.nantes", "--out", str(out)]) == 0
    assert [loc["identifier"][0]["value"] for loc in _resources(out, "Location")] == ["NTE"]
    assert [r["identifier"][0]["value"] for r in _resources(out, "ResearchSubject")] == ["NTE-S01"]
    assert [p["birthDate"] for p in _resources(out, "Patient")] == ["1964"]
    (study,) = _resources(out, "ResearchStudy")
    assert len(study["site"]) == 1


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--as", "monitor"], "--as monitor"),
        (["--as", "safety.officer"], "--as safety.officer"),
        (["--as", "nobody"], "--as nobody"),
        (["--cutoff", "2026-13-01"], "--cutoff"),
    ],
)
def test_it_refuses_bad_input_naming_the_argument_and_writes_nothing(
    trial, tmp_path, capsys, arguments, named
):
    out = tmp_path / "study.json"
    assert main(["export", "fhir", *arguments, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_it_refuses_a_folder_as_out_for_the_one_file_it_writes(trial, tmp_path, capsys):
    assert main(["export", "fhir", "--out", str(tmp_path)]) == 3
    assert "--out" in capsys.readouterr().err and export_events() == []


def test_a_datacut_file_is_exported_as_it_was_cut(trial, tmp_path):
    cut = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-21", "--as", "statistician", "--out", str(cut)]) == 0
    out = tmp_path / "cut-fhir.json"
    assert main(["export", "fhir", "--datacut", str(cut), "--out", str(out)]) == 0
    # the Rennes subject was screened on 2026-11-22, after the cut-off; the cut is the statistician's
    assert [r["identifier"][0]["value"] for r in _resources(out, "ResearchSubject")] == ["NTE-S01"]
    assert json.loads(out.read_text(encoding="utf-8"))["meta"]["security"][0]["code"] == "PSEUDED"
    (event,) = export_events()
    assert event.new_value["datacut_sha256"] == json.loads(cut.read_text())["sha256"]
