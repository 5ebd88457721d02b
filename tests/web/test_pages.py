"""The pages of the form engine as a browser-less user sees them."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

from trialdesk.crf.models import FormRecord


@pytest.fixture
def nantes_client(client, cast):
    client.login(username="inv.nantes", password=PASSWORD)
    return client


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, study):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_home_page_lists_only_the_users_sites(nantes_client):
    page = nantes_client.get("/", follow=True).content.decode()
    assert "NTE" in page and "RNS" not in page


def test_the_site_page_lists_its_subjects(nantes_client, screened_subject):
    page = nantes_client.get("/sites/NTE/").content.decode()
    assert screened_subject.screening_number in page


def test_a_foreign_site_is_not_found(nantes_client, study):
    assert nantes_client.get("/sites/RNS/").status_code == 404


def test_the_screening_form_renders_every_field_with_units_and_choices(nantes_client, screened_subject):
    page = nantes_client.get(f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/").content.decode()
    for code in ("age_years", "ast_uln", "her2_positive_blasts_pct", "prior_trastuzumab"):
        assert f'name="{code}"' in page
    assert "U/L" in page and 'value="b_all"' in page


def test_invalid_input_shows_field_messages_and_keeps_what_was_typed(nantes_client, screened_subject):
    url = f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/"
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    response = nantes_client.post(url, {**record.data, "marrow_blasts_pct": "140", "age_years": "sixty", "_version": "1",
                                        "_reason": "other", "_reason_detail": "typo"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Must be at most 100" in page and 'value="sixty"' in page
    assert FormRecord.objects.system("test").get(pk=record.pk).version == 1


def test_a_correction_with_a_reason_is_saved_and_returns_to_the_casebook(nantes_client, screened_subject):
    url = f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/"
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    post = {k: ("true" if v is True else "false" if v is False else v) for k, v in record.data.items()}
    response = nantes_client.post(url, {**post, "ecog": "2", "_version": "1", "_reason": "transcription_error"})
    assert response.status_code == 302
    assert FormRecord.objects.system("test").get(pk=record.pk).data["ecog"] == 2


def test_a_stale_version_is_refused_with_the_saved_values_shown(nantes_client, screened_subject):
    url = f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/"
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    post = {k: ("true" if v is True else "false" if v is False else v) for k, v in record.data.items()}
    nantes_client.post(url, {**post, "ecog": "2", "_version": "1", "_reason": "transcription_error"})
    response = nantes_client.post(url, {**post, "ecog": "0", "_version": "1", "_reason": "transcription_error"})
    page = response.content.decode()
    assert response.status_code == 409 and "Saved meanwhile by someone else" in page
    assert FormRecord.objects.system("test").get(pk=record.pk).data["ecog"] == 2


def test_a_foreign_subject_is_not_found_by_url(client, cast, screened_subject):
    client.login(username="inv.rennes", password=PASSWORD)
    assert client.get(f"/subjects/{screened_subject.pk}/").status_code == 404
    assert client.get(f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/").status_code == 404


def test_the_casebook_shows_the_visit_form_grid(nantes_client, screened_subject):
    page = nantes_client.get(f"/subjects/{screened_subject.pk}/").content.decode()
    assert 'data-form="screening"' in page and "Complete" in page


def test_answering_dead_makes_the_death_date_apply_without_saving(nantes_client, enrolled_subject):
    url = f"/subjects/{enrolled_subject.pk}/visits/FU1/forms/follow_up/"
    headers = {"HX-Request": "true"}
    dead = nantes_client.post(url, {"vital_status": "dead", "_preview": "1"}, headers=headers).content.decode()
    assert 'id="field-death_date"' in dead and 'hx-swap-oob="true"' in dead
    assert 'type="date" name="death_date"' in dead
    assert not FormRecord.objects.system("test").filter(subject=enrolled_subject, form_code="follow_up").exists()


def test_the_preview_sends_back_only_the_fields_whose_applicability_changed(nantes_client, enrolled_subject):
    """What the user typed elsewhere meanwhile is never overwritten by the re-render."""
    url = f"/subjects/{enrolled_subject.pk}/visits/FU1/forms/follow_up/"
    headers = {"HX-Request": "true"}
    # death_date already shown: answering dead again changes nothing, so nothing comes back.
    same = nantes_client.post(url, {"vital_status": "dead", "_shown": ["death_date"], "_preview": "1"}, headers=headers)
    assert 'id="field-death_date"' not in same.content.decode()
    assert 'name="vital_status"' not in same.content.decode()
    # back to alive: the death date goes (and what applies to alive comes), the answer itself is not re-sent.
    alive = nantes_client.post(url, {"vital_status": "alive", "_shown": ["death_date"], "_preview": "1"},
                               headers=headers).content.decode()
    assert 'id="field-death_date"' in alive and 'name="vital_status"' not in alive


def test_the_home_page_counts_open_queries_and_source_verification_per_site(client, cast, screened_subject):
    from trialdesk.queries.services import raise_query, verify_source

    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    raise_query(cast.monitor, record, "ecog", "ECOG differs from the clinic letter.")
    verify_source(cast.monitor, record, field_code="age_years", expected_version=record.version)
    client.login(username="inv.nantes", password=PASSWORD)
    page = client.get("/", follow=True).content.decode()
    assert 'data-open-queries="NTE"><a href="/studies/NCT00724360/queries/?site=NTE">1</a>' in page
    assert 'data-sdv="NTE">' in page and 'data-sdv="NTE">—' not in page


def test_script_typed_in_a_text_field_is_stored_as_typed_and_shown_escaped(nantes_client, enrolled_subject):
    url = f"/subjects/{enrolled_subject.pk}/logs/concomitant_medication/new/"
    payload = '<script>alert("x")</script>'
    nantes_client.post(url, {"medication": payload, "indication": "fever", "start_date": "2026-11-24", "ongoing": "true",
                             "route": "oral"})
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="concomitant_medication")
    assert record.data["medication"] == payload
    page = nantes_client.get(f"/subjects/{enrolled_subject.pk}/logs/concomitant_medication/1/").content.decode()
    assert payload not in page and "&lt;script&gt;" in page


def test_a_french_speaking_user_gets_the_casebook_and_forms_in_french(nantes_client, enrolled_subject):
    from django.conf import settings

    nantes_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    casebook = nantes_client.get(f"/subjects/{enrolled_subject.pk}/").content.decode()
    form = nantes_client.get(f"/subjects/{enrolled_subject.pk}/visits/M1/forms/marrow_assessment/").content.decode()
    assert "Visites" in casebook and "Registres" in casebook
    assert "Enregistrer" in form and "Blastes médullaires" in form


def test_validation_messages_are_in_french_for_a_french_speaking_user(nantes_client, screened_subject):
    from django.conf import settings

    nantes_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    url = f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/"
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    post = {k: ("true" if v is True else "false" if v is False else v) for k, v in record.data.items()}
    page = nantes_client.post(url, {**post, "marrow_blasts_pct": "140", "ecog": "deux", "_version": "1",
                                    "_reason": "transcription_error"}).content.decode()
    assert "Doit être au plus 100 %" in page and "Saisissez un nombre entier." in page


def test_a_forged_field_is_refused_with_a_message_and_nothing_saved(nantes_client, screened_subject):
    url = f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/"
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    post = {k: ("true" if v is True else "false" if v is False else v) for k, v in record.data.items()}
    response = nantes_client.post(url, {**post, "site_id": "2", "_version": "1", "_reason": "other"})
    assert response.status_code == 400 and "Unknown field &#x27;site_id&#x27;." in response.content.decode()
    assert FormRecord.objects.system("test").get(pk=record.pk).version == 1
