"""`trialdesk export ctgov-results --out FILE.json`: the study's results section in the
ClinicalTrials.gov API v2 structure, from the analysis of the data the user may see (every
site for the operator, pseudonymised for the statistician, their own sites for an
investigator), audited with its SHA-256; bad input exits 3 naming the argument, nothing written."""

from __future__ import annotations

import hashlib
import json
import os

import jsonschema
import pytest
from tests.exchange.ctgov_api_v2 import STUDY
from tests.exports.conftest import export_events, screen_one_subject_per_site

from trialdesk.cli import main


@pytest.fixture
def trial(cast, study, enrolled_subject):
    """Three screened at Nantes and Rennes, one of Nantes enrolled."""
    return screen_one_subject_per_site(cast, study)


@pytest.fixture(autouse=True)
def _environment_kept(monkeypatch):
    """setup_django() sets defaults in os.environ: none of them outlives a test."""
    for name in ("TRIALDESK_DB", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)


def _flow(record):
    (period,) = record["resultsSection"]["participantFlowModule"]["periods"]
    return {m["type"]: int(m["achievements"][0]["numSubjects"]) for m in period["milestones"]}


def test_the_operator_exports_the_results_section_audited_with_its_sha256(trial, tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main(["export", "ctgov-results", "--cutoff", "2026-11-30", "--out", str(out)]) == 0
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert sha in capsys.readouterr().out
    record = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(record, STUDY)
    assert record["protocolSection"]["identificationModule"]["nctId"] == "NCT00724360"
    assert _flow(record)["STARTED"] == 1
    recruitment = record["resultsSection"]["participantFlowModule"]["recruitmentDetails"]
    assert recruitment.startswith("3 participants screened at 2 site(s)")
    (event,) = export_events()
    assert (event.object_type, event.new_value["sha256"], event.new_value["cutoff"]) == (
        "export.ctgov-results",
        sha,
        "2026-11-30",
    )


def test_as_the_statistician_the_results_say_they_are_pseudonymised(trial, tmp_path, capsys):
    out = tmp_path / "stat.json"
    assert main(["export", "ctgov-results", "--as", "statistician", "--out", str(out), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["pseudonymised"] is True and answer["as"] == "statistician" and answer["subjects"] == 3
    record = json.loads(out.read_text(encoding="utf-8"))
    assert (
        "Pseudonymised data."
        in record["resultsSection"]["moreInfoModule"]["limitationsAndCaveats"]["description"]
    )
    (event,) = export_events()
    assert event.username == "statistician" and event.new_value["pseudonymised"] is True


@pytest.mark.parametrize(
    ("username", "site_code", "screened", "started"),
    [("inv.nantes", "NTE", 2, 1), ("inv.rennes", "RNS", 1, 0)],
)
def test_as_an_investigator_the_results_count_their_site_only(
    trial, tmp_path, username, site_code, screened, started
):
    out = tmp_path / f"{site_code}.json"
    assert main(["export", "ctgov-results", "--as", username, "--out", str(out)]) == 0
    record = json.loads(out.read_text(encoding="utf-8"))
    section = record["resultsSection"]
    assert section["participantFlowModule"]["recruitmentDetails"].startswith(
        f"{screened} participants screened at 1 site(s)"
    )
    assert _flow(record)["STARTED"] == started
    assert (
        f"Participants of the sites {site_code} only."
        in section["moreInfoModule"]["limitationsAndCaveats"]["description"]
    )


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--as", "coord.nantes"], "--as coord.nantes"),
        (["--as", "sponsor"], "--as sponsor"),
        (["--cutoff", "yesterday"], "--cutoff"),
        (["--study", "NCT99999999"], "NCT99999999"),
    ],
)
def test_it_refuses_bad_input_naming_the_argument_and_writes_nothing(
    trial, tmp_path, capsys, arguments, named
):
    out = tmp_path / "results.json"
    assert main(["export", "ctgov-results", *arguments, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_without_out_it_says_where_to_write(trial, capsys):
    assert main(["export", "ctgov-results"]) == 3
    assert "--out FILE" in capsys.readouterr().err and export_events() == []
