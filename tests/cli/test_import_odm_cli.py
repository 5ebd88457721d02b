"""`trialdesk import odm FILE.xml [--protocol FILE] [--json]`: the study back into an empty
database; bad input as one line naming the place, exit 3, nothing imported."""

from __future__ import annotations

import json
import os

import pytest
from tests.cli.processes import trialdesk
from tests.exports.odm_import_study import source_file  # noqa: F401 (a fixture)

from trialdesk.cli import main


@pytest.fixture(autouse=True)
def _environment_kept(monkeypatch):
    """setup_django() sets defaults in os.environ: none of them outlives a test."""
    for name in ("TRIALDESK_DB", "DJANGO_SETTINGS_MODULE"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)


def test_the_command_imports_the_file_and_says_what_it_imported(db, source_file, capsys):  # noqa: F811
    from trialdesk.subjects.models import Subject

    assert main(["import", "odm", str(source_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Imported {source_file.name} into NCT00724360: 8 sites,")
    assert "2 subjects" in out and "1 signatures" in out
    assert Subject.objects.system("test").count() == 2


def test_it_answers_in_json(db, source_file, capsys):  # noqa: F811
    assert main(["import", "odm", str(source_file), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["study"], answer["subjects"], answer["supply"], answer["signatures"]) == (
        "NCT00724360",
        2,
        2,
        1,
    )
    assert answer["audit_records"] > 50 and len(answer["sha256"]) == 64


def test_a_file_that_is_not_odm_is_one_line_exit_3_and_nothing_imported(db, tmp_path, capsys):
    from trialdesk.exports.importing import database_contents

    path = tmp_path / "bundle.xml"
    path.write_text('<?xml version="1.0"?><Bundle xmlns="http://hl7.org/fhir"/>', encoding="utf-8")
    assert main(["import", "odm", str(path)]) == 3
    err = capsys.readouterr().err
    assert err == (
        "trialdesk: import refused, nothing imported: bundle.xml: not a CDISC ODM 1.3 file: its root element "
        "is <Bundle> in http://hl7.org/fhir.\n"
    )
    assert set(database_contents().values()) == {0}


def test_a_missing_file_or_protocol_is_named(tmp_path, capsys):
    assert main(["import", "odm", str(tmp_path / "none.xml")]) == 3
    assert capsys.readouterr().err == f"trialdesk: {tmp_path / 'none.xml'}: no such file.\n"
    path = tmp_path / "x.xml"
    path.write_text("<x/>", encoding="utf-8")
    assert main(["import", "odm", str(path), "--protocol", str(tmp_path / "p.yaml")]) == 3
    assert capsys.readouterr().err == f"trialdesk: --protocol {tmp_path / 'p.yaml'}: no such file.\n"


def test_into_a_database_that_is_not_empty_it_is_refused_with_exit_3(db, source_file, capsys):  # noqa: F811
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("already.here")
    assert main(["import", "odm", str(source_file)]) == 3
    assert capsys.readouterr().err == (
        "trialdesk: import refused, nothing imported: the database is not empty (1 users): an ODM file is "
        "imported into an empty database only.\n"
    )


def test_into_a_new_folder_it_makes_the_database_whose_trail_verifies(source_file, tmp_path):  # noqa: F811
    keys = {"TRIALDESK_SECRET_KEY": "s" * 50, "TRIALDESK_AUDIT_KEY": "a" * 40}
    imported = trialdesk("import", "odm", str(source_file), cwd=tmp_path, env=keys)
    assert imported.returncode == 0, imported.stderr
    assert (tmp_path / "trialdesk.sqlite3").is_file() and "2 subjects" in imported.stdout
    verified = trialdesk("audit", "verify", cwd=tmp_path, env=keys)
    assert verified.returncode == 0 and "the chain is intact" in verified.stdout
