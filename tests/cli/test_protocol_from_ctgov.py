"""`trialdesk protocol from-ctgov FILE.json --out PROTOCOL.yaml [--force] [--json]`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from trialdesk.cli import main

DATA = Path(__file__).parents[1] / "protocol" / "data"
SEED = DATA / "NCT00724360.ctgov.json"


def test_it_writes_a_skeleton_and_says_what_it_proposed(tmp_path, capsys):
    out = tmp_path / "NCT00724360.yaml"
    assert main(["protocol", "from-ctgov", str(SEED), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"Wrote {out}: the skeleton of NCT00724360, 8 criteria, 7 with a proposed rule:"
    assert "  I3   ecog <= 2" in printed
    assert printed[-1] == f"54 places to complete (`trialdesk protocol validate {out}` lists them)."
    assert out.read_text(encoding="utf-8").startswith("# Protocol skeleton of NCT00724360")
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left


def test_validate_reports_the_skeleton_as_incomplete_place_by_place(tmp_path, capsys):
    out = tmp_path / "skeleton.yaml"
    main(["protocol", "from-ctgov", str(SEED), "--out", str(out)])
    capsys.readouterr()

    assert main(["protocol", "validate", str(out)]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"INCOMPLETE: 54 places to complete in {out}:"
    assert all(line.startswith(f"{out}:") and ": incomplete: " in line for line in lines[1:])
    assert any(line.endswith("'B-ALL in relapse': no rule yet") for line in lines)
    assert any("schedule: no schedule of assessments yet" in line for line in lines)


def test_json_says_what_was_written(tmp_path, capsys):
    out = tmp_path / "skeleton.yaml"
    assert main(["protocol", "from-ctgov", str(SEED), "--out", str(out), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["nct_id"] == "NCT00724360"
    assert answer["out"] == str(out)
    assert answer["proposed"]["E2"] == "lvef_pct >= 50"
    assert len(answer["criteria"]) == 8
    assert answer["places_to_complete"] == 54 and answer["errors"] == 0


def _refused(capsys, argv: list[str], says: str) -> None:
    assert main(argv) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert says in message, message


def test_it_refuses_a_json_that_is_not_a_study(tmp_path, capsys):
    source = tmp_path / "not-a-study.json"
    source.write_text('{"resourceType": "Bundle", "entry": []}', encoding="utf-8")
    out = tmp_path / "out.yaml"
    _refused(
        capsys,
        ["protocol", "from-ctgov", str(source), "--out", str(out)],
        f"{source}: not a ClinicalTrials.gov study: no protocolSection",
    )
    assert not out.exists()


def test_it_refuses_a_study_without_eligibility_text(tmp_path, capsys):
    study = json.loads(SEED.read_text(encoding="utf-8"))
    del study["protocolSection"]["eligibilityModule"]["eligibilityCriteria"]
    source = tmp_path / "no-criteria.json"
    source.write_text(json.dumps(study), encoding="utf-8")
    out = tmp_path / "out.yaml"
    _refused(
        capsys, ["protocol", "from-ctgov", str(source), "--out", str(out)], "has no eligibility criteria text"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda d: d / "missing.json", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: (d / "latin1.json").write_bytes(b'{"x": "\xe9"}') and d / "latin1.json", "not UTF-8 text"),
        (lambda d: (d / "broken.json").write_text('{"protocolSection": ', encoding="utf-8") and d / "broken.json",
         "not JSON (line 1, column 21: Expecting value)"),
    ],
)  # fmt: skip
def test_it_refuses_an_unreadable_file(tmp_path, capsys, make, says):
    folder = tmp_path / "in"
    folder.mkdir()
    source = make(folder)
    out = tmp_path / "out.yaml"
    _refused(capsys, ["protocol", "from-ctgov", str(source), "--out", str(out)], says)
    assert not out.exists()


def test_it_refuses_to_overwrite_an_existing_file_unless_forced(tmp_path, capsys):
    out = tmp_path / "mine.yaml"
    out.write_text("my own protocol\n", encoding="utf-8")
    _refused(
        capsys,
        ["protocol", "from-ctgov", str(SEED), "--out", str(out)],
        f"--out {out}: already exists; give --force",
    )
    assert out.read_text(encoding="utf-8") == "my own protocol\n"

    assert main(["protocol", "from-ctgov", str(SEED), "--out", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8").startswith("# Protocol skeleton of NCT00724360")


def test_it_refuses_an_out_in_a_missing_folder_or_that_is_a_folder(tmp_path, capsys):
    _refused(
        capsys,
        ["protocol", "from-ctgov", str(SEED), "--out", str(tmp_path / "nowhere" / "x.yaml")],
        "does not exist",
    )
    _refused(capsys, ["protocol", "from-ctgov", str(SEED), "--out", str(tmp_path)], "is a directory")


def test_nothing_is_left_half_written_when_the_write_fails(tmp_path, capsys, monkeypatch):
    out = tmp_path / "skeleton.yaml"
    out.write_text("the previous version\n", encoding="utf-8")

    def refuse(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    _refused(
        capsys,
        ["protocol", "from-ctgov", str(SEED), "--out", str(out), "--force"],
        "cannot be written (No space left on device); nothing was written",
    )
    assert out.read_text(encoding="utf-8") == "the previous version\n"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_skeleton_cannot_be_installed_before_it_is_complete(tmp_path, capsys):
    out = tmp_path / "skeleton.yaml"
    main(["protocol", "from-ctgov", str(SEED), "--out", str(out)])
    capsys.readouterr()
    assert main(["protocol", "install", str(out)]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"INCOMPLETE: 54 places to complete in {out}:")
