"""Issue 15, the journeys in a real browser that had none yet, each from login, each saving a
screenshot as a test artifact: a monitor raises a query and the site answers it; an
investigator signs a casebook with their password and the signature shows; a Rennes user
cannot open a Nantes subject by URL; a signed-in user switches to French and the page is in
French."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/journeys"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"journey-{name}.png"), full_page=True)


def test_a_monitor_raises_a_query_on_a_field_and_the_site_answers_it(page, cast, enrolled_subject):
    from trialdesk.queries.models import Query

    sign_in(page, cast.monitor.username, PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/visits/SCR/forms/screening/")
    page.click('[data-raise="ecog"]')
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("Raise a query")
    page.fill("#id_text", "The source letter gives ECOG 2, please check.")
    page.click("#raise-query button.primary")
    page.wait_for_load_state("networkidle")
    query = Query.objects.system("test").get(field_code="ecog")
    expect(page.locator(".messages")).to_contain_text(f"Query #{query.pk} raised.")
    _shot(page, "query-raised")

    page.context.clear_cookies()
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto("/studies/NCT00724360/queries/")
    page.locator(f'a[href$="/queries/{query.pk}/"]').first.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("ol.thread")).to_contain_text("The source letter gives ECOG 2, please check.")
    page.fill("#query-action #id_text", "Checked with the source: ECOG 1 is right, the letter is older.")
    page.click('#query-action button[value="answer"]')
    page.wait_for_load_state("networkidle")
    expect(page.locator("ol.thread")).to_contain_text("ECOG 1 is right")
    query.refresh_from_db()
    assert query.status == "answered"
    _shot(page, "query-answered")


def test_an_investigator_signs_the_casebook_with_their_password_and_the_signature_shows(
    page, cast, enrolled_subject
):
    from trialdesk.signatures.models import Signature

    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/")
    page.click("text=Sign…")
    page.wait_for_load_state("networkidle")
    if page.locator("#id_reviewed").count():
        page.check("#id_reviewed")
    page.fill("#id_password", "not-my-password")
    page.click("form button.primary:has-text('Sign')")
    page.wait_for_load_state("networkidle")
    assert (
        Signature.objects.system("test").filter(subject=enrolled_subject).count() == 0
    )  # a wrong password signs nothing
    if page.locator("#id_reviewed").count():
        page.check("#id_reviewed")
    page.fill("#id_password", PASSWORD)
    page.click("form button.primary:has-text('Sign')")
    page.wait_for_load_state("networkidle")
    assert Signature.objects.system("test").filter(subject=enrolled_subject).count() == 1
    page.goto(f"/subjects/{enrolled_subject.pk}/")
    signature = Signature.objects.system("test").get(subject=enrolled_subject)
    row = page.locator(f'#signatures tr[data-signature="{signature.pk}"]')
    expect(row).to_contain_text(signature.printed_name)
    expect(row).to_contain_text("Casebook")
    assert row.get_attribute("data-status") == "valid"
    _shot(page, "casebook-signed")


def test_a_rennes_user_cannot_open_a_nantes_subject_by_its_address(page, cast, enrolled_subject):
    sign_in(page, cast.investigator_rennes.username, PASSWORD)
    for path in (
        f"/subjects/{enrolled_subject.pk}/",
        f"/subjects/{enrolled_subject.pk}/visits/SCR/forms/screening/",
    ):
        response = page.goto(path)
        assert response.status == 404
        assert enrolled_subject.subject_code not in page.content()
    _shot(page, "foreign-subject-not-found")


def test_a_signed_in_user_switches_to_french_and_the_page_is_in_french(page, cast, enrolled_subject):
    from django.utils import translation
    from django.utils.translation import gettext

    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto("/studies/NCT00724360/")
    expect(page.locator("nav.menu")).to_contain_text("Queries")
    page.select_option("select[name=language]", "fr")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.url.endswith("/studies/NCT00724360/")  # the same page, in French
    with translation.override("fr"):
        queries, home = gettext("Queries"), gettext("Home")
    assert (queries, home) != ("Queries", "Home")  # the French catalogue has them
    expect(page.locator("nav.menu")).to_contain_text(queries)
    expect(page.locator("nav.menu")).to_contain_text(home)
    expect(page.locator("nav.menu")).not_to_contain_text("Queries")
    _shot(page, "home-in-french")
