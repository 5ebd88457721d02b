"""The marrow form shows the derived response and its reason, live as values are typed,
beside the investigator's own assessment (criteria: BBMT 2010;16:1187, Table 4a)."""

from __future__ import annotations

import pytest
from tests.assessments.conftest import CYTOLYTIC_MARROW, login

pytestmark = pytest.mark.django_db


def _url(subject, visit="M1"):
    return f"/subjects/{subject.pk}/visits/{visit}/forms/marrow_assessment/"


def _typed(**change):
    values = {**CYTOLYTIC_MARROW, **change}
    return {k: ("true" if v is True else "false" if v is False else v) for k, v in values.items()}


def test_the_form_has_the_panel_and_its_fields_refresh_it(client, cast, marrow_subject):
    html = login(client, cast.coordinator_nantes).get(_url(marrow_subject)).content.decode()
    assert 'id="panel-derived-response"' in html
    blasts = html[html.index('name="marrow_blasts_pct"') - 20 : html.index('name="marrow_blasts_pct"') + 400]
    assert "hx-post" in blasts
    assert "Enter the date and the marrow blasts" in html


def test_the_panel_derives_a_partial_response_from_the_values_as_typed(client, cast, marrow_subject):
    response = login(client, cast.coordinator_nantes).post(
        _url(marrow_subject), {**_typed(platelets=120), "_preview": "1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Partial response (PR)" in html
    assert "marrow blasts 20 %, a 66.7 % decrease from 60 % at baseline" in html
    assert "differs" not in html


def test_the_panel_flags_a_discordance_with_the_investigators_assessment(client, cast, marrow_subject):
    response = login(client, cast.coordinator_nantes).post(
        _url(marrow_subject), {**_typed(), "_preview": "1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "No response" in html and "platelets 40 (below 100)" in html
    assert "Partial response (PR)" in html  # the investigator's assessment, as its choice reads
    assert "differs from the derived response" in html
    assert "Confirm my assessment" not in html  # a coordinator cannot confirm, and nothing is saved yet


def test_the_baseline_marrow_is_shown_as_the_baseline(client, cast, marrow_subject):
    html = login(client, cast.coordinator_nantes).get(_url(marrow_subject, "SCR")).content.decode()
    assert "Baseline marrow" in html


def test_a_french_page_shows_the_derived_response_in_french(client, cast, marrow_subject):
    response = login(client, cast.coordinator_nantes).post(
        _url(marrow_subject),
        {**_typed(platelets=120), "_preview": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    html = response.content.decode()
    assert "Réponse partielle (RP)" in html
    assert "blastes médullaires 20 %, une baisse de 66,7 % par rapport à 60 % à l&#x27;inclusion" in html
