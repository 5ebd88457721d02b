# ruff: noqa: F811  (the fixtures imported from test_redcap_fixtures are parameters here)
"""PyCap, REDCap's own Python client, unchanged against a live trialdesk (issue 14)."""

from __future__ import annotations

import pytest
import redcap
from tests.api.test_redcap_fixtures import redcap_world, tokens  # noqa: F401

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project_of(live_server, committed_db):
    def connect(raw_token: str) -> redcap.Project:
        return redcap.Project(f"{live_server.url}/redcap/api/", raw_token)

    yield connect
    # PyCap keeps its HTTP connections alive in one module-level session: the live server's
    # thread serving one would keep its database connection into the next test's database.
    redcap.request._session.close()


def screening_of(subject) -> FormRecord:
    return FormRecord.objects.system("test").get(subject=subject, form_code="screening")


def test_pycap_reads_the_project_and_its_metadata(project_of, redcap_world, tokens):
    project = project_of(tokens["data_manager"])
    assert str(project.export_version()) == "14.0.0"
    assert project.def_field == "record_id"
    assert project.is_longitudinal
    assert "screening_marrow_blasts_pct" in project.field_names
    assert set(project.forms) >= {"screening", "adverse_event", "lvef"}
    assert project.export_project_info()["project_title"].startswith("Trastuzumab")
    assert {"event_name": "log_forms_arm_1", "form_name": "transfusion", "custom_form_label": ""} in (
        project.export_repeating_instruments_events()
    )
    assert [arm["arm_num"] for arm in project.export_arms()] == [1]
    assert project.export_events()[0]["unique_event_name"] == "scr_arm_1"
    assert project.export_instrument_event_mappings()[0]["form"] == "screening"
    assert project.export_field_names(field="ecog")[0]["export_field_name"] == "ecog"


def test_pycap_exports_records_as_json_and_as_csv(project_of, redcap_world, tokens):
    project = project_of(tokens["data_manager"])
    nantes = redcap_world["NTE"].subject_code
    rows = project.export_records(records=[nantes], forms=["screening", "transfusion"])
    screening = next(row for row in rows if row["redcap_event_name"] == "scr_arm_1")
    assert screening["record_id"] == nantes and screening["ecog"] == "1"
    transfusion = next(row for row in rows if row["redcap_repeat_instrument"] == "transfusion")
    assert transfusion["redcap_repeat_instance"] == "1" and transfusion["units"] == "2"
    text = project.export_records(format_type="csv", fields=["ecog"], events=["scr_arm_1"])
    lines = text.splitlines()
    assert lines[0] == "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,ecog"
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(
        s.subject_code for s in redcap_world.values()
    )


def test_pycap_imports_a_corrected_value_seen_in_the_audit_trail(project_of, cast, redcap_world, tokens):
    project = project_of(tokens["investigator_nantes"])
    nantes = redcap_world["NTE"]
    answer = project.import_records(
        [{"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": 2}]
    )
    assert answer == {"count": 1}
    record = screening_of(nantes)
    assert record.data["ecog"] == 2
    change = AuditEvent.objects.filter(object_id=str(record.pk), field="ecog", action="change").latest(
        "sequence"
    )
    assert (change.old_value, change.new_value, change.username) == (1, 2, cast.investigator_nantes.username)
    assert change.reason == "Imported through the REDCap API" and change.api_token_id is not None
    assert project.export_records(records=[nantes.subject_code], fields=["ecog"])[0]["ecog"] == "2"


def test_a_rennes_token_sees_no_nantes_record(project_of, redcap_world, tokens):
    project = project_of(tokens["investigator_rennes"])
    assert {row["record_id"] for row in project.export_records()} == {redcap_world["RNS"].subject_code}
    assert project.export_records(records=[redcap_world["NTE"].subject_code]) == []
    with pytest.raises(redcap.RedcapError, match="does not exist"):
        project.import_records(
            [{"record_id": redcap_world["NTE"].subject_code, "redcap_event_name": "scr_arm_1", "ecog": 2}]
        )


def test_a_locked_record_refuses_the_import(project_of, cast, redcap_world, tokens):
    from trialdesk.locks.services import lock

    nantes = redcap_world["NTE"]
    lock(cast.data_manager, screening_of(nantes), reason="cleaned")
    project = project_of(tokens["investigator_nantes"])
    with pytest.raises(redcap.RedcapError, match="locked"):
        project.import_records(
            [{"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": 2}]
        )
    assert screening_of(nantes).data["ecog"] == 1


def test_a_bad_token_is_a_redcap_error(project_of, redcap_world):
    with pytest.raises(redcap.RedcapError, match="permissions"):
        project_of("0" * 32).export_records()
