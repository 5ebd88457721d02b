"""Issue 15 in Chromium: the sponsor administrator invites a coordinator from the Users page; the
invitee opens the link of the e-mail (the live server runs in this process: its mail is in
``mail.outbox``), chooses a password, signs in, enrols two-step sign-in from the QR code and
lands on their home."""

from __future__ import annotations

import os
import re
from base64 import b32decode
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import segno
from django.core import mail
from django_otp.oath import totp
from tests.accounts.helpers import code_for, enrolled_device
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401  (the journeys' one Chromium)
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/administration"))
INVITEE_PASSWORD = "amber-meadow-kettle-61"
EMAIL = "camille.martin@chu-nantes.example"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _two_factor_on(_login_hardening_off, settings):
    """Two-step sign-in on, as in production (tests/conftest.py turns it off elsewhere)."""
    settings.TRIALDESK_REQUIRE_2FA = True


def _sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _secret_from_qr_page(page) -> str:
    """What a phone scanning the QR code reads: the otpauth URI the page's QR code encodes (the
    SVG of the page is the QR code of exactly that URI), and the TOTP secret in it."""
    uri = page.locator("#totp-uri").input_value()
    svg = page.locator("#totp-qr svg").evaluate("node => node.outerHTML")
    shown = re.findall(r'\sd="([^"]+)"', svg)
    # the dark modules' path (the last one; the first is the light background)
    expected = re.findall(r'\sd="([^"]+)"', segno.make(uri, error="m").svg_inline(scale=4, border=4))
    assert shown and shown[-1] == expected[-1], "the QR code on the page is not the code of its otpauth URI"
    assert uri.startswith("otpauth://totp/")
    return parse_qs(urlparse(uri).query)["secret"][0]


def test_an_invited_user_chooses_a_password_signs_in_and_enrols_from_the_qr_code(
    page, browser, live_server, cast, study
):
    device = enrolled_device(cast.sponsor)
    _sign_in(page, cast.sponsor.username, PASSWORD)
    assert "/accounts/two-factor/verify/" in page.url
    page.fill("#id_token", code_for(device))
    page.click("button.primary")
    page.wait_for_load_state("networkidle")

    page.click("#administration-menu-link")
    page.wait_for_load_state("networkidle")
    _shot(page, "users_page")
    page.click("#invite-link")
    page.fill("#id_email", EMAIL)
    page.fill("#id_first_name", "Camille")
    page.fill("#id_last_name", "Martin")
    page.select_option("#id_role", "coordinator")
    page.select_option("#id_site", "NTE")
    _shot(page, "invite_form")
    page.click("#invite-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#state-invited").is_visible()
    _shot(page, "invited_user_page")

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    link = re.search(r"https?://\S+/administration/invitation/\?t=\S+", mail.outbox[0].body).group(0)
    assert link.startswith(live_server.url)

    invitee = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    invitee.set_default_timeout(15_000)
    newcomer = invitee.new_page()
    try:
        newcomer.goto(link)
        assert newcomer.locator("h1").inner_text() == "Choose your password"
        newcomer.fill("#id_new_password1", INVITEE_PASSWORD)
        newcomer.fill("#id_new_password2", INVITEE_PASSWORD)
        _shot(newcomer, "invitation_password")
        newcomer.click("#invitation-form button[type=submit]")
        newcomer.wait_for_load_state("networkidle")
        assert "/accounts/login/" in newcomer.url

        _sign_in(newcomer, EMAIL, INVITEE_PASSWORD)
        assert "/accounts/two-factor/setup/" in newcomer.url
        _shot(newcomer, "two_factor_setup_qr")
        secret = _secret_from_qr_page(newcomer)
        key = b32decode(secret + "=" * (-len(secret) % 8))
        newcomer.fill("#id_token", f"{totp(key):06d}")
        newcomer.click("button.primary")
        newcomer.wait_for_load_state("networkidle")

        assert "/accounts/" not in newcomer.url
        assert newcomer.url.rstrip("/").endswith(f"/studies/{study.nct_id}")
        assert "Camille Martin" in newcomer.locator("#account-link").inner_text()
        _shot(newcomer, "invitee_home")
        newcomer.click("#account-link")
        newcomer.wait_for_load_state("networkidle")
        assert "Your authenticator app is set up." in newcomer.content()
        _shot(newcomer, "invitee_account")

        # the link worked once: in another browser it no longer opens
        other = browser.new_context(base_url=live_server.url, locale="en-GB")
        again = other.new_page()
        again.goto(link)
        assert again.locator("#invitation-invalid").is_visible()
        other.close()
    finally:
        invitee.close()

    page.goto(f"/studies/{study.nct_id}/administration/access-history/")
    assert page.locator(f'#access-history tr[data-username="{EMAIL}"]').count() == 1
    _shot(page, "access_history")
