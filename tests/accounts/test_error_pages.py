"""The 400/403/404/500 pages: the app's own templates, in the user's language, no detail leaked."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.accounts.probe_urls import SECRET

pytestmark = pytest.mark.urls("tests.accounts.probe_urls")

PAGES = {
    "/_probe/suspicious/": (
        400,
        "This request could not be understood",
        "Cette requête n’a pas pu être comprise",
    ),
    "/_probe/forbidden/": (403, "You are not allowed to do this", "Vous n’avez pas le droit de faire cela"),
    "/_probe/missing/": (404, "Page not found", "Page introuvable"),
    "/_probe/boom/": (500, "Something went wrong on our side", "Une erreur s’est produite de notre côté"),
}


@pytest.fixture
def browser(db):
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("url", PAGES)
def test_each_error_has_its_page_without_details(browser, url):
    status, english, _ = PAGES[url]
    response = browser.get(url)
    page = response.content.decode()
    assert response.status_code == status
    assert english in page
    assert SECRET not in page and "Traceback" not in page and url not in page


@pytest.mark.parametrize("url", PAGES)
def test_each_error_page_is_in_the_users_language(browser, url):
    status, _, french = PAGES[url]
    response = browser.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == status and french in response.content.decode()
    assert '<html lang="fr">' in response.content.decode()


def test_a_404_does_not_echo_the_address_asked_for(browser):
    response = browser.get("/sites/<b>injected</b>-RNS/nothing/")
    page = response.content.decode()
    assert response.status_code == 404 and "injected" not in page and "RNS" not in page
