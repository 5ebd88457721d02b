"""`trialdesk export sdtm` and the export service's sdtm kind: the folder of datasets, the
viewer's scope and pseudonymisation, the audit event; bad input as one line, nothing written."""

from __future__ import annotations

import json
import os

import pyreadstat
import pytest
from tests.exports.conftest import export_events, screen_one_subject_per_site

from trialdesk.cli import main
from trialdesk.exchange.tidy import manifest_sha256


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


def _dm(folder):
    document = json.loads((folder / "dm.json").read_text(encoding="utf-8"))
    columns = [c["name"] for c in document["columns"]]
    return [dict(zip(columns, row, strict=True)) for row in document["rows"]]


def test_the_service_writes_the_sdtm_folder_and_audits_it_with_the_hash_of_its_manifest(trial, tmp_path):
    import hashlib

    from trialdesk.exports.services import run_export

    out = tmp_path / "sdtm"
    result = run_export(trial, "sdtm", out)
    assert {"dm.json", "dm.xpt", "ts.json", "ts.xpt", "define.json"} <= set(result.files)
    files = tuple((name, hashlib.sha256((out / name).read_bytes()).hexdigest()) for name in result.files)
    assert result.sha256 == manifest_sha256(files)
    (event,) = export_events()
    assert event.object_type == "export.sdtm" and event.new_value["sha256"] == result.sha256
    assert sorted(event.new_value["files"]) == sorted(p.name for p in out.iterdir())
    assert {row["SITEID"] for row in _dm(out)} == {"NTE", "RNS"}


def test_the_command_writes_only_the_format_asked_for(trial, tmp_path, capsys):
    out = tmp_path / "xpt"
    assert (
        main(["export", "sdtm", "--format", "xpt", "--cutoff", "2026-11-30", "--out", str(out), "--json"])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["kind"] == "sdtm" and answer["subjects"] == 2
    names = {p.name for p in out.iterdir()}
    assert names == set(answer["files"]) and "define.json" in names
    assert not any(name.endswith(".json") and name != "define.json" for name in names)
    frame, _ = pyreadstat.read_xport(str(out / "dm.xpt"))
    assert len(frame) == 2


def test_by_default_both_formats_are_written(trial, tmp_path):
    out = tmp_path / "both"
    assert main(["export", "sdtm", "--out", str(out)]) == 0
    assert (out / "ae.json").is_file() and (out / "ae.xpt").is_file()


def test_a_statisticians_export_carries_the_subject_codes_only_and_no_birth_year(trial, tmp_path, capsys):
    out = tmp_path / "stat"
    assert (
        main(["export", "sdtm", "--as", "statistician", "--format", "json", "--out", str(out), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["pseudonymised"] is True
    rows = _dm(out)
    assert [row["BRTHDTC"] for row in rows] == [None, None]
    assert all(row["USUBJID"] == f"{trial.nct_id}-{row['SUBJID']}" for row in rows)
    assert json.loads((out / "define.json").read_text())["pseudonymised"] is True


def test_an_investigators_export_holds_their_site_only(trial, tmp_path):
    out = tmp_path / "nte"
    assert main(["export", "sdtm", "--as", "inv.nantes", "--format", "json", "--out", str(out)]) == 0
    assert {row["SITEID"] for row in _dm(out)} == {"NTE"}


@pytest.mark.parametrize("username", ["monitor", "coord.nantes", "nobody"])
def test_it_refuses_a_user_who_may_not_export_with_exit_3_and_writes_nothing(
    trial, tmp_path, capsys, username
):
    out = tmp_path / "sdtm"
    assert main(["export", "sdtm", "--as", username, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert f"--as {username}" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_it_refuses_a_folder_it_may_not_write_into_with_exit_3_and_writes_nothing(
    trial, tmp_path, capsys, monkeypatch
):
    import tempfile

    def refused(*args, **kwargs):  # the folder's permissions (a root test process would bypass chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", refused)
    assert main(["export", "sdtm", "--out", str(tmp_path / "sdtm")]) == 3
    err = capsys.readouterr().err
    assert "--out" in err and "Permission denied" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_it_refuses_a_folder_that_is_not_empty_or_a_file(trial, tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.txt").write_text("x")
    (tmp_path / "file").write_text("x")
    for out in (full, tmp_path / "file", tmp_path / "no" / "sdtm"):
        assert main(["export", "sdtm", "--out", str(out)]) == 3
        assert "--out" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "full"] and list(full.iterdir()) == [
        full / "x.txt"
    ]
    assert export_events() == []


def test_nothing_is_left_when_the_writer_fails_half_way(trial, tmp_path, monkeypatch):
    from trialdesk.exchange.sdtm import writer
    from trialdesk.exports.services import run_export

    def failing(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "_write_xpt", failing)
    with pytest.raises(OSError):
        run_export(trial, "sdtm", tmp_path / "sdtm")
    assert list(tmp_path.iterdir()) == [] and export_events() == []


def test_format_is_refused_for_the_other_kinds_with_a_clear_message(trial, tmp_path, capsys):
    assert main(["export", "odm", "--format", "xpt", "--out", str(tmp_path / "x.xml")]) == 2
    err = capsys.readouterr().err
    assert "--format" in err and "sdtm" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["export", "sdtm", "--format", "sas7bdat", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2
