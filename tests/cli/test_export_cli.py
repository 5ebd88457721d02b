"""`trialdesk export KIND`: the files, the viewer, the audit event; bad input as one line
naming the argument, exit 3, nothing written."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from lxml import etree
from tests.exchange.conftest import NS
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


def test_the_command_writes_an_odm_file_and_audits_it_with_its_sha256(trial, tmp_path, capsys):
    out = tmp_path / "study.xml"
    assert main(["export", "odm", "--cutoff", "2026-11-30", "--out", str(out)]) == 0
    sha = hashlib.sha256(out.read_bytes()).hexdigest()
    assert sha in capsys.readouterr().out
    assert len(etree.parse(str(out)).findall(".//odm:SubjectData", NS)) == 2
    (event,) = export_events()
    assert event.new_value["sha256"] == sha and event.role == "system"


def test_as_the_statistician_the_csv_export_is_pseudonymised_and_answers_in_json(trial, tmp_path, capsys):
    out = tmp_path / "csv"
    assert (
        main(["export", "csv", "--as", "statistician", "--cutoff", "2026-11-30", "--out", str(out), "--json"])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["pseudonymised"] is True and answer["as"] == "statistician" and answer["subjects"] == 2
    assert "data_dictionary.csv" in answer["files"] and (out / "screening.csv").is_file()
    (event,) = export_events()
    assert (event.username, event.new_value["sha256"]) == ("statistician", answer["sha256"])


def test_as_an_investigator_the_export_holds_their_site_only(trial, tmp_path, capsys):
    out = tmp_path / "nte.xml"
    assert main(["export", "odm", "--as", "inv.nantes", "--out", str(out)]) == 0
    keys = [
        s.find("odm:SiteRef", NS).get("LocationOID")
        for s in etree.parse(str(out)).iterfind(".//odm:SubjectData", NS)
    ]
    assert keys == ["LOC.NTE"]


def test_a_datacut_file_is_exported_as_it_was_cut_and_audited_with_its_hash(trial, tmp_path, capsys):
    cut = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-21", "--out", str(cut)]) == 0
    cut_sha = json.loads(cut.read_text())["sha256"]
    out = tmp_path / "cut.xml"
    assert main(["export", "odm", "--datacut", str(cut), "--out", str(out)]) == 0
    assert len(etree.parse(str(out)).findall(".//odm:SubjectData", NS)) == 1
    (event,) = export_events()
    assert event.new_value["datacut_sha256"] == cut_sha


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--cutoff", "30/11/2026"], "--cutoff"),
        (["--as", "nobody"], "--as nobody"),
        (["--as", "coord.nantes"], "--as coord.nantes"),
        (["--as", "monitor"], "--as monitor"),
        (["--study", "NCT99999999"], "NCT99999999"),
    ],
)
def test_it_refuses_bad_input_naming_the_argument_and_writes_nothing(
    trial, tmp_path, capsys, arguments, named
):
    out = tmp_path / "study.xml"
    assert main(["export", "odm", *arguments, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert named in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_it_refuses_a_datacut_whose_sha256_does_not_match_its_content(trial, tmp_path, capsys):
    cut = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--out", str(cut)]) == 0
    cut.write_text(cut.read_text().replace('"NTE"', '"RNS"', 1))
    out = tmp_path / "cut.xml"
    assert main(["export", "odm", "--datacut", str(cut), "--out", str(out)]) == 3
    assert "--datacut" in capsys.readouterr().err and not out.exists() and export_events() == []


def test_it_refuses_an_out_it_cannot_use(trial, tmp_path, capsys):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.csv").write_text("x")
    for kind, out in (("odm", tmp_path), ("csv", tmp_path / "full"), ("odm", tmp_path / "no" / "x.xml")):
        assert main(["export", kind, "--out", str(out)]) == 3
        assert "--out" in capsys.readouterr().err
    assert main(["export", "odm"]) == 3
    assert "--out" in capsys.readouterr().err
    assert export_events() == []


def test_both_cutoff_and_datacut_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "odm", "--cutoff", "2026-11-30", "--datacut", "x.json", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2


def test_the_command_knows_the_kinds_of_the_export_service():
    from trialdesk.cli.export import FOLDER_KINDS, KINDS
    from trialdesk.exports.services import EXPORT_KINDS

    assert KINDS == tuple(EXPORT_KINDS)
    assert FOLDER_KINDS == tuple(name for name, kind in EXPORT_KINDS.items() if kind.folder)
