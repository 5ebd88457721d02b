"""The dose panel of the infusion form and the validation of a prescription from it: who
reaches it, at which sites, and what they see (English and French)."""

from __future__ import annotations

import pytest
from django.conf import settings
from tests.treatment.conftest import day

from trialdesk.audit.models import AuditEvent
from trialdesk.treatment.models import Prescription

pytestmark = pytest.mark.django_db


@pytest.fixture
def safety_officer(study):
    from django.contrib.auth import get_user_model
    from tests.conftest import PASSWORD

    from trialdesk.studies.models import Membership, Role

    user = get_user_model().objects.create_user("safety", password=PASSWORD)
    Membership.objects.create(user=user, study=study, role=Role.SAFETY_OFFICER)
    return user


def _as(client, cast, role, safety_officer):
    from tests.conftest import PASSWORD

    user = safety_officer if role == "safety_officer" else getattr(cast, role)
    client.login(username=user.username, password=PASSWORD)
    return client


def _new(subject) -> str:
    return f"/subjects/{subject.pk}/logs/infusion/new/"


def _validate(subject) -> str:
    return f"/subjects/{subject.pk}/prescription/validate/"


# role -> (new infusion page, validation POST)
MATRIX = {
    "investigator_nantes": (200, 302),
    "coordinator_nantes": (200, 403),
    "investigator_rennes": (404, 404),
    "monitor": (200, 403),
    "data_manager": (200, 403),
    "statistician": (200, 403),
    "sponsor": (200, 403),
    "safety_officer": (404, 404),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_access_matrix_of_the_dose_panel_and_its_validation(
    client, cast, enrolled_subject, safety_officer, role
):
    page_status, post_status = MATRIX[role]
    c = _as(client, cast, role, safety_officer)
    page = c.get(_new(enrolled_subject))
    assert page.status_code == page_status
    if page_status == 200:
        assert 'id="panel-treatment-dose"' in page.content.decode()
    before = AuditEvent.objects.count()
    response = c.post(_validate(enrolled_subject), {"on": day(0).isoformat(), "weight": "70"})
    assert response.status_code == post_status
    assert Prescription.objects.system("test").exists() is (post_status == 302)
    if post_status != 302:
        assert AuditEvent.objects.count() == before


def test_an_anonymous_visitor_is_sent_to_sign_in(client, enrolled_subject):
    response = client.post(_validate(enrolled_subject), {"on": day(0).isoformat(), "weight": "70"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_validation_refuses_a_get(client, cast, enrolled_subject, safety_officer):
    c = _as(client, cast, "investigator_nantes", safety_officer)
    assert c.get(_validate(enrolled_subject)).status_code == 405


def test_the_panel_asks_for_todays_weight_first(client, cast, enrolled_subject, safety_officer):
    c = _as(client, cast, "coordinator_nantes", safety_officer)
    page = c.get(_new(enrolled_subject)).content.decode()
    assert "data-dose-needs-weight" in page and "data-validate-dose" not in page


def test_the_panel_computes_the_dose_live_from_the_weight_typed(
    client, cast, enrolled_subject, safety_officer
):
    c = _as(client, cast, "investigator_nantes", safety_officer)
    response = c.post(
        _new(enrolled_subject),
        {"infusion_date": day(0).isoformat(), "weight_measured_kg": "70.4", "_preview": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="panel-treatment-dose"' in html and 'hx-swap-oob="true"' in html
    assert 'data-dose-proposal="loading"' in html
    assert "Loading dose, 282 mg (2 vial(s))" in html
    assert "4 mg/kg x 70.4 kg = 282 mg, 2 vial(s) of 150 mg" in html
    assert "data-validate-dose" in html


def test_a_coordinator_sees_the_dose_but_no_way_to_validate_it(
    client, cast, enrolled_subject, safety_officer
):
    c = _as(client, cast, "coordinator_nantes", safety_officer)
    html = c.post(
        _new(enrolled_subject),
        {"infusion_date": day(0).isoformat(), "weight_measured_kg": "70", "_preview": "1"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "280 mg" in html and "data-validate-dose" not in html and "data-dose-awaits" in html


def test_validating_leads_to_the_infusion_to_record_with_its_prescription(
    client, cast, enrolled_subject, safety_officer
):
    c = _as(client, cast, "investigator_nantes", safety_officer)
    response = c.post(_validate(enrolled_subject), {"on": day(0).isoformat(), "weight": "70"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0].endswith(f"/subjects/{enrolled_subject.pk}/logs/infusion/1/")
    assert "Prescription validated: Loading dose, 280 mg (2 vial(s))." in html
    assert "data-prescription" in html and 'value="280.0"' in html or 'value="280"' in html


def test_a_refused_validation_says_why_and_saves_nothing(client, cast, enrolled_subject, safety_officer):
    c = _as(client, cast, "investigator_nantes", safety_officer)
    response = c.post(_validate(enrolled_subject), {"on": day(0).isoformat(), "weight": "300"}, follow=True)
    assert "outside the protocol&#x27;s range (25 to 250 kg)" in response.content.decode()
    assert not Prescription.objects.system("test").exists()
    response = c.post(_validate(enrolled_subject), {"on": "26/11/2026", "weight": "70"}, follow=True)
    assert "Enter the date of the infusion (YYYY-MM-DD)." in response.content.decode()


def test_the_panel_and_the_reasons_read_in_french(
    client, cast, enrolled_subject, safety_officer, prescribe, give
):
    give(prescribe(enrolled_subject, day(0), 70))
    c = _as(client, cast, "investigator_nantes", safety_officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = c.post(
        _new(enrolled_subject),
        {"infusion_date": day(16).isoformat(), "weight_measured_kg": "70", "_preview": "1"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Dose de charge, 280 mg (2 flacon(s))" in html
    assert "charge : 16 jours depuis la dernière dose, plus de 14" in html
    assert "Valider cette dose comme prescription" in html


def test_the_casebook_lists_the_prescriptions(
    client, cast, enrolled_subject, safety_officer, prescribe, give
):
    give(prescribe(enrolled_subject, day(0), 70))
    c = _as(client, cast, "investigator_nantes", safety_officer)
    html = c.get(f"/subjects/{enrolled_subject.pk}/").content.decode()
    assert "data-prescriptions" in html and "Loading dose" in html and "280" in html
