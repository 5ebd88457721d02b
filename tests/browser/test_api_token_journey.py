"""Issue 14 in Chromium: the data manager makes a token on their account's token page (from
the link beside their name), a script uses it against the live server, and the API's docs
page renders from its local assets; the page in French."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/rest-api"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _get(url: str, token: str | None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_token_made_on_the_page_works_for_a_script_until_it_is_revoked(
    page, live_server, cast, enrolled_subject
):
    sign_in(page, cast.data_manager.username, PASSWORD)
    page.click("#api-tokens-link")
    page.wait_for_load_state("networkidle")
    page.fill("#id_name", "nightly export")
    page.fill("#id_expires_days", "30")
    page.click("#token-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    raw = page.inner_text("#new-token-value").strip()
    assert len(raw) == 32
    _shot(page, "token_page_new_token")

    url = f"{live_server.url}/studies/{enrolled_subject.study.nct_id}/api/subjects"
    status, body = _get(url, raw)
    assert status == 200 and body["items"][0]["subject_code"] == enrolled_subject.subject_code

    page.reload()
    assert raw not in page.content()
    page.click("#token-list button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "revoked" in page.inner_text("#token-list")
    _shot(page, "token_page_revoked")
    status, body = _get(url, raw)
    assert status == 401 and body["status"] == 401


def test_the_docs_page_renders_every_route_from_local_assets(page, live_server, study):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    assert page.locator(".opblock").count() >= 14
    assert all(url.startswith(live_server.url) for url in requested), [
        u for u in requested if not u.startswith(live_server.url)
    ]
    _shot(page, "api_docs")


def test_the_token_page_in_french(browser, live_server, cast, study):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 900}
    )
    french = context.new_page()
    sign_in(french, cast.monitor.username, PASSWORD)
    french.goto(f"/studies/{study.nct_id}/account/api-tokens/")
    french.wait_for_load_state("networkidle")
    text = french.inner_text("main")
    assert "Jetons d’API" in text and "Créer un jeton" in text
    _shot(french, "token_page_fr")
    context.close()
