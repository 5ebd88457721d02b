"""In Chromium, with the Content-Security-Policy on: two-step enrolment from the secret shown
on the page, the language switch without inline script, and no CSP violation on the way."""

from __future__ import annotations

from base64 import b32decode

import pytest
from django_otp.oath import totp
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _login_hardening_on(_login_hardening_off, settings):
    """Lockout and two factors on, as in production (tests/conftest.py turns them off elsewhere)."""
    settings.AXES_ENABLED = True
    settings.TRIALDESK_REQUIRE_2FA = True


@pytest.fixture
def csp_violations(page):
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return seen


def _sign_in(page, username):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_an_investigator_enrols_with_the_key_on_the_page_then_works(page, csp_violations, cast):
    _sign_in(page, "inv.nantes")
    assert "/accounts/two-factor/setup/" in page.url
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    key = b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_token", f"{totp(key):06d}")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    assert "/accounts/two-factor/" not in page.url
    assert page.locator("a", has_text="NTE").count() >= 1
    assert csp_violations == []


def test_the_language_switch_works_under_the_csp(page, csp_violations, cast):
    page.goto("/accounts/login/")
    page.select_option("select[name=language]", "fr")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Connexion"
    assert csp_violations == []
