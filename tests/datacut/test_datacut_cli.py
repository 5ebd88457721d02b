"""`trialdesk datacut`: the file, its audit event, its viewer; bad input as one line, nothing written."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.cli import main


@pytest.fixture(autouse=True)
def _environment_kept(monkeypatch):
    """setup_django() sets defaults in os.environ: none of them outlives a test."""
    for name in ("TRIALDESK_DB", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)


@pytest.fixture
def trial(cast, study):
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    for site_code, investigator, day in (("NTE", cast.investigator_nantes, 20), ("RNS", cast.investigator_rennes, 22)):
        subject = register_screening(
            investigator, study.sites.get(code=site_code), screened_on=dt.date(2026, 11, day), sex="M",
            year_of_birth=1964, today=dt.date(2026, 11, 25),
        )
        save_form(investigator, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get())
    return study


def _exports():
    from trialdesk.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action="export", object_type="datacut").order_by("pk"))


def test_the_command_writes_a_datacut_that_verifies_and_audits_the_export(trial, tmp_path, capsys):
    out = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--out", str(out)]) == 0
    content = json.loads(out.read_text(encoding="utf-8"))
    assert content["cutoff"] == "2026-11-30" and not content["pseudonymised"]
    assert content["study"]["nct_id"] == trial.nct_id and content["protocol_sha256"] == trial.protocol_sha256
    assert len(content["subjects"]) == 2
    (event,) = _exports()
    assert event.new_value["sha256"] == content["sha256"]
    assert event.new_value["subjects"] == 2 and event.new_value["cutoff"] == "2026-11-30"
    assert event.role == "system" and event.study_id == trial.pk
    assert content["sha256"] in capsys.readouterr().out
    assert main(["datacut", "verify", str(out)]) == 0
    assert "OK" in capsys.readouterr().out


def test_a_cutoff_before_a_screening_leaves_that_subject_out(trial, tmp_path):
    out = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-21", "--out", str(out)]) == 0
    assert [s["site"] for s in json.loads(out.read_text())["subjects"]] == ["NTE"]


def test_the_cutoff_is_today_in_paris_by_default(trial, tmp_path):
    from trialdesk.datacut import trial_today

    out = tmp_path / "cut.json"
    assert main(["datacut", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["cutoff"] == trial_today().isoformat()


def test_as_the_statistician_the_datacut_is_pseudonymised_and_audited_as_theirs(trial, cast, tmp_path):
    out = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--as", "statistician", "--out", str(out)]) == 0
    content = json.loads(out.read_text())
    assert content["pseudonymised"] and content["viewer"] == "statistician"
    assert {s["year_of_birth"] for s in content["subjects"]} == {None}
    (event,) = _exports()
    assert (event.username, event.role) == ("statistician", "statistician")


def test_as_an_investigator_of_one_site_the_datacut_holds_only_that_site(trial, tmp_path):
    # DESIGN §1: an investigator exports their own sites (and only them)
    out = tmp_path / "cut.json"
    assert main(["datacut", "--as", "inv.nantes", "--out", str(out)]) == 0
    assert [s["site"] for s in json.loads(out.read_text())["subjects"]] == ["NTE"]
    (event,) = _exports()
    assert (event.username, event.role) == ("inv.nantes", "investigator")


def test_as_a_monitor_it_refuses_to_export(trial, tmp_path, capsys):
    out = tmp_path / "cut.json"
    assert main(["datacut", "--as", "monitor", "--out", str(out)]) == 2
    assert "may not export" in capsys.readouterr().err
    assert not out.exists() and _exports() == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--cutoff", "2026-13-01"], "is not a date"),
        (["--cutoff", "yesterday"], "is not a date"),
        (["--as", "nobody"], "no active user 'nobody'"),
        (["--study", "NCT99999999"], "no study NCT99999999"),
    ],
)
def test_it_refuses_bad_input_with_one_line_and_writes_nothing(trial, tmp_path, capsys, arguments, message):
    out = tmp_path / "cut.json"
    assert main(["datacut", *arguments, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [] and _exports() == []


def test_it_refuses_a_path_it_cannot_write(trial, tmp_path, capsys):
    for out in (tmp_path / "no-such-folder" / "cut.json", tmp_path):
        assert main(["datacut", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "cannot write" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == [] and _exports() == []


def test_verify_refuses_a_file_whose_hash_does_not_match_with_exit_3(trial, tmp_path, capsys):
    out = tmp_path / "cut.json"
    assert main(["datacut", "--cutoff", "2026-11-30", "--out", str(out)]) == 0
    out.write_text(out.read_text().replace('"NTE"', '"RNS"', 1))
    capsys.readouterr()
    assert main(["datacut", "verify", str(out)]) == 3
    err = capsys.readouterr().err
    assert "does not match its content" in err and err.count("\n") == 1


def test_verify_refuses_a_file_that_is_not_a_datacut_with_exit_3(tmp_path, capsys):
    out = tmp_path / "cut.json"
    out.write_text("{}")
    assert main(["datacut", "verify", str(out)]) == 3
    assert main(["datacut", "verify", str(tmp_path / "absent.json")]) == 3
    assert "no data-cut file" in capsys.readouterr().err
