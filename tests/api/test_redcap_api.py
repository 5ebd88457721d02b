# ruff: noqa: F811  (the fixtures imported from test_redcap_fixtures are parameters here)
"""The REDCap-compatible API at /redcap/api/ (issue 14), through Django's test client:
tokens, every metadata content, record export (scope, filters, labels, audit) and record
import (the form engine's validation, locks, site scope, all or nothing)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from tests.api.test_redcap_fixtures import TRANSFUSION, redcap_world, tokens  # noqa: F401

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.exchange.redcap import METADATA_COLUMNS

pytestmark = pytest.mark.django_db
URL = "/redcap/api/"


def call(client, token, content, **params):
    return client.post(URL, {"token": token, "content": content, "format": "json", **params})


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def exported(client, token, **params) -> list[dict]:
    response = call(client, token, "record", **params)
    assert response.status_code == 200, body(response)
    return json.loads(body(response))


def screening_of(subject) -> FormRecord:
    return FormRecord.objects.system("test").get(subject=subject, form_code="screening")


def import_rows(client, token, rows, **params):
    return call(client, token, "record", data=json.dumps(rows), returnFormat="json", **params)


# ------------------------------------------------------------------ tokens and errors


@pytest.mark.parametrize("token", ["", "0" * 32, "not-a-token"])
def test_it_refuses_a_missing_or_unknown_token_with_403_and_a_json_error(client, redcap_world, token):
    response = call(client, token, "metadata")
    assert response.status_code == 403
    assert set(response.json()) == {"error"}


def test_it_refuses_a_revoked_token(client, cast, study, redcap_world):
    from trialdesk.api.tokens import create_token, revoke_token

    made = create_token(cast.data_manager, study)
    revoke_token(made.token)
    assert call(client, made.raw, "metadata").status_code == 403


def test_a_bad_token_in_csv_gets_the_error_as_csv_text(client, redcap_world):
    response = client.post(URL, {"token": "0" * 32, "content": "metadata", "format": "csv"})
    assert response.status_code == 403
    assert response.content.decode().startswith("ERROR: ")


def test_it_says_plainly_that_a_content_is_not_supported(client, redcap_world, tokens):
    response = call(client, tokens["data_manager"], "fileRepository")
    assert response.status_code == 400
    assert "fileRepository" in response.json()["error"] and "not supported" in response.json()["error"]


def test_it_refuses_xml_plainly(client, redcap_world, tokens):
    response = client.post(URL, {"token": tokens["data_manager"], "content": "metadata", "format": "xml"})
    assert response.status_code == 400
    assert "xml" in response.json()["error"]


def test_a_get_is_not_the_api(client, redcap_world):
    assert client.get(URL).status_code == 405


def test_the_error_is_in_the_users_language(client, redcap_world):
    response = client.post(
        URL, {"token": "0" * 32, "content": "metadata", "format": "json"}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert response.json()["error"] == "Vous n’avez pas le droit d’utiliser l’API."


# ------------------------------------------------------------------ metadata


def test_the_metadata_has_the_18_columns_and_record_id_first(client, redcap_world, tokens):
    rows = call(client, tokens["statistician"], "metadata").json()
    assert all(tuple(row) == METADATA_COLUMNS for row in rows)
    assert len(METADATA_COLUMNS) == 18
    assert rows[0]["field_name"] == "record_id" and rows[0]["form_name"] == "screening"
    identifiers = {row["field_name"] for row in rows if row["identifier"] == "y"}
    assert "karyotype" in identifiers  # free text: masked for pseudonymised readers
    assert "ecog" not in identifiers


def test_a_field_code_used_by_several_forms_is_prefixed_by_its_form(client, redcap_world, tokens):
    names = [row["field_name"] for row in call(client, tokens["data_manager"], "metadata").json()]
    assert len(names) == len(set(names))
    assert "screening_marrow_blasts_pct" in names and "marrow_assessment_marrow_blasts_pct" in names
    assert "marrow_blasts_pct" not in names
    assert "ecog" in names  # used by one form only: unprefixed


def test_the_metadata_of_one_form_as_csv(client, redcap_world, tokens):
    response = client.post(
        URL,
        {"token": tokens["data_manager"], "content": "metadata", "format": "csv", "forms[0]": "transfusion"},
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["field_name"] for row in rows] == ["transfusion_date", "product", "units"]
    assert rows[1]["field_type"] == "radio" and rows[1]["select_choices_or_calculations"].startswith(
        "red_cells, "
    )


def test_an_unknown_field_in_the_metadata_request_is_named(client, redcap_world, tokens):
    response = call(client, tokens["data_manager"], "metadata", **{"fields[0]": "no_such_field"})
    assert response.status_code == 400 and "no_such_field" in response.json()["error"]


def test_visits_are_events_and_log_forms_repeat_in_their_own_event(client, redcap_world, tokens):
    token = tokens["data_manager"]
    events = [row["unique_event_name"] for row in call(client, token, "event").json()]
    assert events[0] == "scr_arm_1" and "m12_arm_1" in events and events[-1] == "log_forms_arm_1"
    mapping = call(client, token, "formEventMapping").json()
    assert {"arm_num": 1, "unique_event_name": "scr_arm_1", "form": "screening"} in mapping
    repeating = call(client, token, "repeatingFormsEvents").json()
    assert {
        "event_name": "log_forms_arm_1",
        "form_name": "adverse_event",
        "custom_form_label": "",
    } in repeating
    assert call(client, token, "arm").json() == [{"arm_num": 1, "name": "Trastuzumab"}]
    instruments = [row["instrument_name"] for row in call(client, token, "instrument").json()]
    assert instruments[0] == "screening"
    names = call(client, token, "exportFieldNames", field="ecog").json()
    assert names == [{"original_field_name": "ecog", "choice_value": "", "export_field_name": "ecog"}]
    project = call(client, token, "project").json()
    assert project["is_longitudinal"] == 1 and project["has_repeating_instruments_or_events"] == 1


# ------------------------------------------------------------------ record export


def test_an_export_has_one_row_per_event_and_one_per_log_entry(client, redcap_world, tokens):
    rows = exported(client, tokens["data_manager"])
    nantes = [row for row in rows if row["record_id"] == redcap_world["NTE"].subject_code]
    screening = next(row for row in nantes if row["redcap_event_name"] == "scr_arm_1")
    assert screening["ecog"] == "1" and screening["prior_trastuzumab"] == "0" and screening["sex"] == "male"
    assert screening["screening_complete"] == "2" and screening["redcap_repeat_instrument"] == ""
    log = next(row for row in nantes if row["redcap_repeat_instrument"] == "transfusion")
    assert log["redcap_event_name"] == "log_forms_arm_1" and log["redcap_repeat_instance"] == "1"
    assert log["units"] == "2" and log["ecog"] == ""


def test_a_rennes_investigator_exports_no_nantes_record(client, redcap_world, tokens):
    ids = {row["record_id"] for row in exported(client, tokens["investigator_rennes"])}
    assert ids == {redcap_world["RNS"].subject_code}


def test_a_role_without_the_export_permission_is_refused_with_403(client, redcap_world, tokens):
    for role in ("monitor", "coordinator_nantes", "sponsor", "safety_officer"):
        response = call(client, tokens[role], "record")
        assert response.status_code == 403, role
        assert "error" in response.json()


def test_the_export_is_audited_as_an_export(client, cast, redcap_world, tokens):
    exported(client, tokens["data_manager"], **{"forms[0]": "screening"})
    event = AuditEvent.objects.filter(action="export", object_type="redcap_records").get()
    assert event.username == cast.data_manager.username and event.role == "data_manager"
    assert event.new_value["forms"] == ["screening"] and event.new_value["subjects_in_scope"] == 2
    assert event.api_token_id is not None


def test_records_fields_and_events_filter_the_export(client, redcap_world, tokens):
    nantes = redcap_world["NTE"].subject_code
    rows = exported(
        client,
        tokens["data_manager"],
        **{"records[0]": nantes, "fields[0]": "ecog", "events[0]": "scr_arm_1"},
    )
    assert rows == [
        {
            "record_id": nantes,
            "redcap_event_name": "scr_arm_1",
            "redcap_repeat_instrument": "",
            "redcap_repeat_instance": "",
            "ecog": "1",
        }
    ]


def test_labels_instead_of_codes_when_asked(client, redcap_world, tokens):
    rows = exported(client, tokens["data_manager"], rawOrLabel="label", **{"forms[0]": "screening"})
    assert rows[0]["sex"] == "Male" and rows[0]["prior_trastuzumab"] == "No"
    assert rows[0]["screening_complete"] == "Complete"


def test_the_export_as_csv(client, redcap_world, tokens):
    response = client.post(
        URL,
        {"token": tokens["data_manager"], "content": "record", "format": "csv", "forms[0]": "transfusion"},
    )
    rows = list(csv.DictReader(io.StringIO(body(response).decode())))
    assert [(row["record_id"], row["units"]) for row in rows] == [(redcap_world["NTE"].subject_code, "2")]


def test_the_statistician_exports_pseudonymised(client, redcap_world, tokens):
    nantes = redcap_world["NTE"].subject_code
    typed = {
        "record_id": nantes,
        "redcap_event_name": "scr_arm_1",
        "karyotype_abnormal": "1",
        "karyotype": "46,XY,t(9;22)",
    }
    assert import_rows(client, tokens["investigator_nantes"], [typed]).status_code == 200
    rows = exported(client, tokens["statistician"], **{"forms[0]": "screening"})
    assert {row["record_id"] for row in rows} == {s.subject_code for s in redcap_world.values()}
    seen = next(row for row in rows if row["record_id"] == nantes)
    assert seen["karyotype"] == "[pseudonymised]" and seen["ecog"] == "1"
    own = exported(client, tokens["investigator_nantes"], **{"forms[0]": "screening"})
    assert own[0]["karyotype"] == "46,XY,t(9;22)"


# ------------------------------------------------------------------ record import


def test_an_import_corrects_a_value_with_the_api_import_reason(client, cast, redcap_world, tokens):
    nantes = redcap_world["NTE"]
    response = import_rows(
        client,
        tokens["investigator_nantes"],
        [{"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": "2"}],
    )
    assert response.status_code == 200 and response.json() == {"count": 1}
    record = screening_of(nantes)
    assert record.data["ecog"] == 2 and record.version == 2
    change = AuditEvent.objects.filter(action="change", field="ecog", object_id=str(record.pk)).latest(
        "sequence"
    )
    assert (change.old_value, change.new_value) == (1, 2)
    assert change.reason == "Imported through the REDCap API" and change.api_token_id is not None
    assert change.username == cast.investigator_nantes.username


def test_returncontent_ids_lists_the_records(client, redcap_world, tokens):
    nantes = redcap_world["NTE"].subject_code
    response = import_rows(
        client,
        tokens["investigator_nantes"],
        [{"record_id": nantes, "redcap_event_name": "scr_arm_1", "ecog": "2"}],
        returnContent="ids",
    )
    assert response.json() == [nantes]


def test_a_value_out_of_range_is_refused_naming_record_field_and_value(client, redcap_world, tokens):
    nantes = redcap_world["NTE"]
    response = import_rows(
        client,
        tokens["investigator_nantes"],
        [{"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": "9"}],
    )
    assert response.status_code == 400
    assert f'"{nantes.subject_code}","ecog","9"' in response.json()["error"]
    assert screening_of(nantes).data["ecog"] == 1


def test_an_import_of_many_records_is_one_transaction(client, cast, redcap_world, tokens):
    nantes = redcap_world["NTE"]
    before = AuditEvent.objects.count()
    response = import_rows(
        client,
        tokens["investigator_nantes"],
        [
            {"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": "2"},
            {
                "record_id": nantes.subject_code,
                "redcap_event_name": "log_forms_arm_1",
                "redcap_repeat_instrument": "transfusion",
                "redcap_repeat_instance": "1",
                "units": "-3",
            },
        ],
    )
    assert response.status_code == 400 and '"units","-3"' in response.json()["error"]
    assert screening_of(nantes).data["ecog"] == 1  # the valid first row was not kept
    assert AuditEvent.objects.count() == before


def test_an_unknown_field_is_refused_before_anything(client, redcap_world, tokens):
    nantes = redcap_world["NTE"].subject_code
    response = import_rows(
        client,
        tokens["investigator_nantes"],
        [{"record_id": nantes, "redcap_event_name": "scr_arm_1", "ecog": "2", "ecog_score": "2"}],
    )
    assert response.status_code == 400 and "ecog_score" in response.json()["error"]
    assert screening_of(redcap_world["NTE"]).data["ecog"] == 1


def test_malformed_json_is_refused(client, redcap_world, tokens):
    response = call(client, tokens["investigator_nantes"], "record", data="[{", returnFormat="json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]


def test_a_rennes_token_cannot_import_into_a_nantes_record(client, redcap_world, tokens):
    nantes = redcap_world["NTE"]
    response = import_rows(
        client,
        tokens["investigator_rennes"],
        [{"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": "2"}],
    )
    assert response.status_code == 400 and "does not exist" in response.json()["error"]
    assert screening_of(nantes).data["ecog"] == 1


def test_a_role_that_cannot_enter_data_cannot_import(client, redcap_world, tokens):
    nantes = redcap_world["NTE"].subject_code
    for role in ("monitor", "data_manager", "statistician"):
        response = import_rows(
            client, tokens[role], [{"record_id": nantes, "redcap_event_name": "scr_arm_1", "ecog": "2"}]
        )
        assert response.status_code == 403, role


def test_a_locked_record_refuses_the_import(client, cast, redcap_world, tokens):
    from trialdesk.locks.services import lock

    nantes = redcap_world["NTE"]
    lock(cast.data_manager, screening_of(nantes), reason="cleaned")
    response = import_rows(
        client,
        tokens["investigator_nantes"],
        [{"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": "2"}],
    )
    assert response.status_code == 400 and "locked" in response.json()["error"]
    assert screening_of(nantes).data["ecog"] == 1


def test_a_blank_leaves_the_value_unless_overwrite_is_asked(client, redcap_world, tokens):
    nantes = redcap_world["NTE"]
    row = {"record_id": nantes.subject_code, "redcap_event_name": "scr_arm_1", "ecog": "", "ast": "41"}
    assert import_rows(client, tokens["investigator_nantes"], [row]).status_code == 200
    assert screening_of(nantes).data["ecog"] == 1 and screening_of(nantes).data["ast"] == 41
    assert (
        import_rows(client, tokens["investigator_nantes"], [row], overwriteBehavior="overwrite").status_code
        == 200
    )
    record = screening_of(nantes)
    assert record.data.get("ecog") is None and record.status == "incomplete"


def test_a_new_log_entry_takes_the_next_instance_only(client, redcap_world, tokens):
    nantes = redcap_world["NTE"]
    row = {
        "record_id": nantes.subject_code,
        "redcap_event_name": "log_forms_arm_1",
        "redcap_repeat_instrument": "transfusion",
        **{k: str(v) for k, v in TRANSFUSION.items()},
    }
    refused = import_rows(client, tokens["investigator_nantes"], [{**row, "redcap_repeat_instance": "3"}])
    assert refused.status_code == 400 and "number 2" in refused.json()["error"]
    assert (
        import_rows(
            client, tokens["investigator_nantes"], [{**row, "redcap_repeat_instance": "2"}]
        ).status_code
        == 200
    )
    assert (
        import_rows(
            client, tokens["investigator_nantes"], [{**row, "redcap_repeat_instance": "new"}]
        ).status_code
        == 200
    )
    repeats = (
        FormRecord.objects.system("test")
        .filter(subject=nantes, form_code="transfusion")
        .values_list("repeat", flat=True)
    )
    assert sorted(repeats) == [1, 2, 3]


def test_an_import_as_csv(client, redcap_world, tokens):
    nantes = redcap_world["NTE"].subject_code
    data = f"record_id,redcap_event_name,ecog\n{nantes},scr_arm_1,3\n"
    response = client.post(
        URL,
        {
            "token": tokens["investigator_nantes"],
            "content": "record",
            "format": "csv",
            "returnFormat": "csv",
            "data": data,
        },
    )
    assert response.status_code == 200 and response.content.decode() == "count\n1\n"
    assert screening_of(redcap_world["NTE"]).data["ecog"] == 3


def test_a_screened_patient_is_its_screening_number_and_has_no_treatment_event_yet(
    client, cast, site, redcap_world, tokens
):
    import datetime as dt

    from trialdesk.subjects.services import register_screening

    screened = register_screening(
        cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    row = {"record_id": screened.screening_number, "redcap_event_name": "scr_arm_1", "ecog": "1"}
    assert import_rows(client, tokens["investigator_nantes"], [row]).status_code == 200
    assert screening_of(screened).data == {"ecog": 1}
    later = {
        "record_id": screened.screening_number,
        "redcap_event_name": "d1_arm_1",
        "baseline_weight_kg": "70",
    }
    response = import_rows(client, tokens["investigator_nantes"], [later])
    assert response.status_code == 400 and "d1_arm_1" in response.json()["error"]


def test_the_export_reads_in_as_many_queries_for_more_subjects(
    client, cast, site, redcap_world, tokens, monkeypatch
):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from tests.conftest import ELIGIBLE_SCREENING

    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    # the token's last use is written at most once per resolution: not during this test
    monkeypatch.setattr("trialdesk.api.tokens.LAST_USED_RESOLUTION", dt.timedelta(days=1))

    def queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            rows = exported(client, tokens["data_manager"])
        return len(captured), len(rows)

    queries()
    few, rows_before = queries()
    for _ in range(3):
        subject = register_screening(
            cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
        )
        save_form(
            cast.investigator_nantes,
            subject,
            "screening",
            dict(ELIGIBLE_SCREENING),
            visit=subject.visits.get(),
        )
    more, rows_after = queries()
    assert rows_after == rows_before + 3
    assert more == few


def test_the_api_import_reason_is_not_offered_on_a_form_page(client, cast, study, redcap_world):
    from tests.conftest import PASSWORD

    nantes = redcap_world["NTE"]
    client.login(username=cast.investigator_nantes.username, password=PASSWORD)
    page = client.get(
        f"/studies/{study.nct_id}/subjects/{nantes.pk}/visits/SCR/forms/screening/"
    ).content.decode()
    assert 'name="_reason"' in page and 'value="transcription_error"' in page
    assert 'value="api_import"' not in page


def test_the_site_is_the_data_access_group_when_asked(client, redcap_world, tokens):
    rows = exported(client, tokens["data_manager"], exportDataAccessGroups="true", **{"fields[0]": "ecog"})
    assert list(rows[0])[:5] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    groups = {row["record_id"]: row["redcap_data_access_group"] for row in rows}
    assert groups == {redcap_world["NTE"].subject_code: "nte", redcap_world["RNS"].subject_code: "rns"}
    assert (
        "redcap_data_access_group" not in exported(client, tokens["data_manager"], **{"fields[0]": "ecog"})[0]
    )
    # an exported row imports back as it is (its group column is read-only)
    nantes = next(row for row in rows if row["record_id"] == redcap_world["NTE"].subject_code)
    assert import_rows(client, tokens["investigator_nantes"], [{**nantes, "ecog": "3"}]).status_code == 200
    assert screening_of(redcap_world["NTE"]).data["ecog"] == 3
