"""The REST API: what a script sees and may do, and the errors it gets (problem+json)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trialdesk.api.models import ApiToken
from trialdesk.api.tokens import create_token, revoke_token
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify
from trialdesk.crf.models import FormRecord
from trialdesk.queries.models import Query

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def _screening(subject) -> FormRecord:
    return FormRecord.objects.system("test").get(subject=subject, form_code="screening")


def _transfusion(study, day: dt.date) -> dict:
    form = study.protocol.form("transfusion")
    product = next(f for f in form.fields if f.code == "product").choices[0].value
    return {"transfusion_date": day.isoformat(), "product": product, "units": 2}


# --------------------------------------------------------------------------- tokens


def test_it_answers_401_without_a_token_and_says_nothing_else(api_as, screened_subject):
    response = api_as(None).get("/subjects")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"] == "Bearer"
    assert "NTE" not in response.content.decode()


def test_it_answers_401_for_a_revoked_or_expired_token(client, cast, study, screened_subject):
    revoked = create_token(cast.data_manager, study)
    revoke_token(revoked.token)
    expired = create_token(cast.data_manager, study, expires_days=1)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    for raw in (revoked.raw, expired.raw, "0" * 32):
        response = client.get(f"/studies/{study.nct_id}/api/subjects", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert response.status_code == 401


def test_a_token_works_only_under_its_own_study(client, cast, study, screened_subject):
    made = create_token(cast.data_manager, study)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {made.raw}"}
    assert client.get(f"/studies/{study.nct_id}/api/subjects", **headers).status_code == 200
    assert client.get("/studies/NCT99999999/api/subjects", **headers).status_code == 404
    assert client.get("/api/subjects", **headers).status_code == 404


def test_the_openapi_document_is_3_1_and_describes_every_route(client):
    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"][0]["url"] == "/studies/{nct_id}"
    paths = document["paths"]
    for path in ("/api/sites", "/api/subjects", "/api/records", "/api/queries", "/api/audit-events"):
        assert path in paths
    errors = paths["/api/subjects"]["get"]["responses"]["401"]["content"]
    assert list(errors) == [PROBLEM]


def test_the_docs_page_loads_its_assets_locally(client):
    page = client.get("/api/docs").content.decode()
    assert "swagger" in page.lower()
    assert "cdn." not in page and "unpkg" not in page and "jsdelivr" not in page


# --------------------------------------------------------------------------- reads


def test_lists_are_paginated_with_their_count(api_as, cast, study, enrolled_subject):
    response = api_as("data_manager").get("/records", limit=1, offset=0)
    body = response.json()
    assert body["count"] == FormRecord.objects.system("test").count()
    assert len(body["items"]) == 1 and body["limit"] == 1
    assert api_as("data_manager").get("/records", limit=0).status_code == 422
    assert api_as("data_manager").get("/records", limit=501).status_code == 422


def test_records_filter_by_form_subject_site_and_date(api_as, enrolled_subject):
    client = api_as("monitor")
    assert client.get("/records", form="screening").json()["count"] == 1
    assert client.get("/records", form="lvef").json()["count"] == 0
    assert client.get("/records", subject=enrolled_subject.pk).json()["count"] == 1
    assert client.get("/records", site="NTE").json()["count"] == 1
    assert client.get("/records", site="RNS").json()["count"] == 0
    today = timezone.localdate()
    assert client.get("/records", date_from=today.isoformat()).json()["count"] == 1
    assert client.get("/records", date_to=(today - dt.timedelta(days=1)).isoformat()).json()["count"] == 0
    bad = client.get(
        "/records", date_from=today.isoformat(), date_to=(today - dt.timedelta(days=1)).isoformat()
    )
    assert bad.status_code == 200 and bad.json()["count"] == 0  # no day lies between them
    assert client.get("/records", date_to="9999-12-31").json()["count"] == 1
    assert client.get("/records", date_from="0").status_code == 422  # a date is YYYY-MM-DD, not a timestamp


def test_a_site_filter_naming_a_foreign_site_is_404(api_as, enrolled_subject):
    assert api_as("investigator_rennes").get("/subjects", site="NTE").status_code == 404


def test_a_pseudonymised_role_sees_no_year_of_birth(api_as, enrolled_subject):
    subject = api_as("statistician").get(f"/subjects/{enrolled_subject.pk}").json()
    assert subject["year_of_birth"] is None
    assert api_as("data_manager").get(f"/subjects/{enrolled_subject.pk}").json()["year_of_birth"] == 1964


def test_eligibility_is_the_screening_page_verdict(api_as, enrolled_subject):
    body = api_as("investigator_nantes").get(f"/subjects/{enrolled_subject.pk}/eligibility").json()
    assert body["verdict"] == "eligible"
    assert body["as_of"] == enrolled_subject.enrolled_on.isoformat()
    assert all(c["status"] == "met" for c in body["criteria"])


# --------------------------------------------------------------------------- writes


def test_an_update_with_the_expected_version_and_a_reason_is_saved_and_audited_with_the_token(
    api_as, api_tokens, cast, study, screened_subject
):
    record = _screening(screened_subject)
    data = {**record.data, "ecog": 2}
    response = api_as("investigator_nantes").put(
        f"/records/{record.pk}",
        {"data": data, "expected_version": record.version, "reason": "transcription_error"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["version"] == record.version + 1
    assert response.json()["data"]["ecog"] == 2
    token = ApiToken.objects.get(user=cast.investigator_nantes)
    change = AuditEvent.objects.filter(
        object_type="form_record", object_id=str(record.pk), field="ecog"
    ).last()
    assert change.new_value == 2
    assert change.api_token_id == token.pk
    assert change.username == "inv.nantes"
    assert verify().intact


def test_a_stale_version_is_409_saying_what_changed(api_as, screened_subject):
    record = _screening(screened_subject)
    first = {**record.data, "ecog": 2}
    second = {**record.data, "ecog": 0}
    client = api_as("investigator_nantes")
    body = {"expected_version": record.version, "reason": "transcription_error"}
    assert client.put(f"/records/{record.pk}", {**body, "data": first}).status_code == 200
    stale = client.put(f"/records/{record.pk}", {**body, "data": second})
    assert stale.status_code == 409
    assert stale["Content-Type"] == PROBLEM
    problem = stale.json()
    assert problem["current_version"] == record.version + 1
    assert problem["changes"]["ecog"] == {"yours": 0, "stored": 2}
    assert _screening(screened_subject).data["ecog"] == 2


def test_a_change_to_a_complete_record_without_a_reason_is_refused(api_as, screened_subject):
    record = _screening(screened_subject)
    response = api_as("investigator_nantes").put(
        f"/records/{record.pk}", {"data": {**record.data, "ecog": 2}, "expected_version": record.version}
    )
    assert response.status_code == 422
    assert "reason" in response.json()["errors"]
    assert _screening(screened_subject).version == record.version


def test_a_value_outside_its_range_is_refused_on_its_field_and_nothing_is_written(api_as, screened_subject):
    record = _screening(screened_subject)
    before = AuditEvent.objects.count()
    response = api_as("investigator_nantes").put(
        f"/records/{record.pk}",
        {
            "data": {**record.data, "age_years": 121},
            "expected_version": record.version,
            "reason": "other",
            "reason_detail": "typo",
        },
    )
    assert response.status_code == 422
    assert "age_years" in response.json()["errors"]
    assert AuditEvent.objects.count() == before


def test_malformed_json_is_a_422_problem(client, api_tokens, study, screened_subject):
    record = _screening(screened_subject)
    response = client.put(
        f"/studies/{study.nct_id}/api/records/{record.pk}",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_tokens['investigator_nantes']}",
    )
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == PROBLEM


def test_a_log_entry_is_created_as_the_form_page_creates_it(api_as, study, enrolled_subject):
    payload = {
        "subject": enrolled_subject.pk,
        "form": "transfusion",
        "data": _transfusion(study, dt.date(2026, 11, 26)),
    }
    response = api_as("coordinator_nantes").post("/records", payload)
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["form"] == "transfusion" and created["visit"] is None and created["version"] == 1
    again = api_as("coordinator_nantes").post("/records", payload)
    assert again.status_code == 201 and again.json()["repeat"] == created["repeat"] + 1


def test_it_refuses_a_visit_form_without_a_visit_and_an_unknown_form(api_as, enrolled_subject):
    client = api_as("investigator_nantes")
    no_visit = client.post("/records", {"subject": enrolled_subject.pk, "form": "lvef", "data": {}})
    assert no_visit.status_code == 422 and "visit" in no_visit.json()["errors"]
    unknown = client.post("/records", {"subject": enrolled_subject.pk, "form": "nothing", "data": {}})
    assert unknown.status_code == 422 and "form" in unknown.json()["errors"]


def test_a_role_that_may_not_enter_data_gets_403_and_a_foreign_site_404(api_as, screened_subject):
    record = _screening(screened_subject)
    body = {"data": record.data, "expected_version": record.version, "reason": "other", "reason_detail": "x"}
    assert api_as("monitor").put(f"/records/{record.pk}", body).status_code == 403
    assert api_as("investigator_rennes").put(f"/records/{record.pk}", body).status_code == 404


def test_a_query_is_raised_answered_and_closed_each_step_audited_with_its_token(
    api_as, cast, study, screened_subject
):
    record = _screening(screened_subject)
    raised = api_as("monitor").post(
        "/queries", {"record": record.pk, "field": "ecog", "text": "Please check ECOG."}
    )
    assert raised.status_code == 201, raised.content
    query_id = raised.json()["id"]
    assert raised.json()["status"] == "open"
    assert api_as("monitor").post(f"/queries/{query_id}/answer", {"text": "x"}).status_code == 403
    answered = api_as("investigator_nantes").post(
        f"/queries/{query_id}/answer", {"text": "Checked: correct."}
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    again = api_as("investigator_nantes").post(f"/queries/{query_id}/answer", {"text": "again"})
    assert again.status_code == 409 and again["Content-Type"] == PROBLEM
    closed = api_as("monitor").post(f"/queries/{query_id}/close", {"text": ""})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    events = AuditEvent.objects.filter(object_type="query", object_id=str(query_id))
    assert events.count() >= 3 and all(e.api_token_id is not None for e in events)
    assert Query.objects.system("test").get(pk=query_id).status == "closed"


def test_a_query_on_a_field_the_form_does_not_have_is_refused(api_as, screened_subject):
    record = _screening(screened_subject)
    response = api_as("monitor").post("/queries", {"record": record.pk, "field": "nothing", "text": "?"})
    assert response.status_code == 409
    assert not Query.objects.system("test").exists()


def test_the_audit_trail_through_the_api_shows_the_token_of_a_write(api_as, cast, screened_subject):
    record = _screening(screened_subject)
    api_as("investigator_nantes").put(
        f"/records/{record.pk}",
        {
            "data": {**record.data, "ecog": 2},
            "expected_version": record.version,
            "reason": "transcription_error",
        },
    )
    events = (
        api_as("monitor").get("/audit-events", subject=screened_subject.pk, form="screening").json()["items"]
    )
    through_api = [e for e in events if e["field"] == "ecog" and e["new_value"] == 2]
    typed_in_the_page = [e for e in events if e["field"] == "ecog" and e["new_value"] == 1]
    assert through_api and all(e["api_token_id"] is not None for e in through_api)
    assert typed_in_the_page and all(e["api_token_id"] is None for e in typed_in_the_page)
    assert api_as("investigator_nantes").get("/audit-events").status_code == 403


def test_a_list_costs_the_same_number_of_queries_for_one_record_or_many(api_as, study, enrolled_subject):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_as("data_manager")

    def queries_of_a_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/records", limit=500).status_code == 200
        return len(captured)

    queries_of_a_page()  # the token's first use of the minute also writes its last use
    few = queries_of_a_page()
    for day in range(1, 8):
        api_as("coordinator_nantes").post(
            "/records",
            {
                "subject": enrolled_subject.pk,
                "form": "transfusion",
                "data": _transfusion(study, dt.date(2026, 11, day)),
            },
        )
    assert queries_of_a_page() == few


def test_a_pseudonymised_role_reads_free_text_masked(api_as, cast, screened_subject):
    from trialdesk.queries.services import raise_query

    raise_query(cast.monitor, _screening(screened_subject), "ecog", "Mr Durand says ECOG 2")
    seen_by_statistician = api_as("statistician").get("/queries").json()["items"][0]["summary"]
    assert "Durand" not in seen_by_statistician
    assert "Durand" in api_as("data_manager").get("/queries").json()["items"][0]["summary"]


def test_a_parameter_the_route_does_not_take_is_refused_not_ignored(api_as, enrolled_subject):
    client = api_as("monitor")
    typo = client.get("/records", sit="RNS")
    assert typo.status_code == 422 and "sit" in typo.json()["errors"]
    assert client.get("/records", site="RNS", limit=5).status_code == 200
    assert client.get(f"/subjects/{enrolled_subject.pk}", site="NTE").status_code == 422


def test_errors_are_in_the_language_the_client_asks_for(client, study, screened_subject):
    response = client.get(f"/studies/{study.nct_id}/api/subjects", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 401
    assert response.json()["detail"] == "Un jeton d’API valide est nécessaire."


def test_the_endpoints_are_the_analysis_pseudonymised_for_the_statistician(api_as, enrolled_subject):
    from trialdesk.analysis import analyse
    from trialdesk.analysis.document import endpoints_document
    from trialdesk.datacut import build_snapshot

    cutoff = dt.date(2026, 12, 1)
    for_dm = api_as("data_manager").get("/endpoints", cutoff=cutoff.isoformat()).json()
    for_statistician = api_as("statistician").get("/endpoints", cutoff=cutoff.isoformat()).json()
    assert (for_dm["pseudonymised"], for_statistician["pseudonymised"]) == (False, True)
    assert for_dm["cutoff"] == "2026-12-01" and for_dm["counts"]["enrolled"] == 1
    study = enrolled_subject.study
    direct = endpoints_document(analyse(build_snapshot(study, cutoff=cutoff).materialise(), study.protocol))
    assert for_dm["flow"] == direct["flow"] and for_dm["response"] == direct["response"]
    # the subject code is the pseudonym: the statistician's document is the same analysis, marked
    assert for_statistician["flow"] == for_dm["flow"]


def test_an_endpoints_cutoff_that_is_not_a_date_is_a_422_problem(api_as, study):
    response = api_as("data_manager").get("/endpoints", cutoff="next week")
    assert response.status_code == 422 and response["Content-Type"] == "application/problem+json"
