"""TOTP two-factor (django-otp): every user, whatever their role, enrols a device and gives a
code before any other page, and sees no menu until then; switchable off
(TRIALDESK_REQUIRE_2FA=0, the demo)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.accounts.helpers import code_for, enrolled_device, post_login, settings_module
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.studies.models import Membership

pytestmark = pytest.mark.urls("tests.accounts.probe_urls")

PAGE = "/_probe/"
SETUP = "/accounts/two-factor/setup/"
VERIFY = "/accounts/two-factor/verify/"

EVERY_ROLE = ["inv.nantes", "coord.nantes", "monitor", "datamanager", "statistician", "sponsor"]


def _user(username):
    return get_user_model().objects.get(username=username)


@pytest.mark.parametrize("username", EVERY_ROLE)
def test_a_user_of_any_role_is_sent_to_enrol_before_any_page(client, cast, username):
    assert post_login(client, username).status_code == 302
    for url in (PAGE, "/sites/NTE/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == SETUP + "?next=" + url.replace("/", "%2F")


def test_a_user_without_any_role_is_asked_too(client, cast):
    Membership.objects.filter(user=cast.investigator_nantes).update(active=False)
    post_login(client, "inv.nantes")
    assert client.get(PAGE)["Location"].startswith(SETUP)
    get_user_model().objects.create_user("no.role", password=PASSWORD)
    client.post("/accounts/logout/")
    post_login(client, "no.role")
    assert client.get(PAGE)["Location"].startswith(SETUP)


def test_two_factor_can_be_switched_off(client, cast, settings):
    settings.TRIALDESK_REQUIRE_2FA = False
    post_login(client, "inv.nantes")
    assert client.get(PAGE).status_code == 200


def test_the_setup_page_shows_the_secret_and_the_otpauth_uri_without_any_network(client, cast):
    post_login(client, "inv.nantes")
    page = client.get(SETUP).content.decode()
    device = TOTPDevice.objects.get(user=cast.investigator_nantes)
    assert not device.confirmed
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert "otpauth://totp/trialdesk%3Ainv.nantes?secret=" + secret in page.replace("&amp;", "&")
    assert "http://" not in page.split("<main>")[1] and "https://" not in page  # no remote QR service


def test_reloading_the_setup_page_keeps_the_same_secret(client, cast):
    post_login(client, "inv.nantes")
    client.get(SETUP)
    client.get(SETUP)
    assert TOTPDevice.objects.filter(user=cast.investigator_nantes).count() == 1


def test_a_valid_first_code_enrols_the_device_opens_the_pages_and_is_audited(client, cast):
    post_login(client, "inv.nantes")
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=cast.investigator_nantes)
    response = client.post(SETUP, {"token": code_for(device), "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert client.get(PAGE).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    event = AuditEvent.objects.get(action="two_factor_enrolled")
    assert event.object_type == "user" and event.user_id == cast.investigator_nantes.pk


def test_a_wrong_code_is_refused_and_audited(client, cast):
    post_login(client, "inv.nantes")
    client.get(SETUP)
    response = client.post(SETUP, {"token": "000000"})
    assert response.status_code == 400 and "This code is not valid" in response.content.decode()
    assert not TOTPDevice.objects.get(user=cast.investigator_nantes).confirmed
    assert client.get(PAGE).status_code == 302
    assert (
        AuditEvent.objects.filter(action="two_factor_failed", user_id=cast.investigator_nantes.pk).count()
        == 1
    )


def test_an_enrolled_user_gives_a_code_at_each_sign_in(client, cast):
    device = enrolled_device(cast.monitor)
    post_login(client, "monitor")
    response = client.get(PAGE)
    assert response["Location"] == VERIFY + "?next=%2F_probe%2F"
    response = client.post(VERIFY, {"token": code_for(device), "next": PAGE})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert client.get(PAGE).status_code == 200
    assert AuditEvent.objects.filter(action="two_factor_verified", user_id=cast.monitor.pk).exists()


def test_an_enrolled_user_cannot_enrol_another_device_with_the_password_alone(client, cast):
    enrolled_device(cast.monitor)
    post_login(client, "monitor")
    response = client.get(SETUP)
    assert response.status_code == 302 and response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=cast.monitor).count() == 1


def test_a_code_cannot_be_used_twice(client, cast):
    device = enrolled_device(cast.monitor)
    post_login(client, "monitor")
    code = code_for(device)
    assert client.post(VERIFY, {"token": code}).status_code == 302
    client.post("/accounts/logout/")
    post_login(client, "monitor")
    response = client.post(VERIFY, {"token": code})
    assert response.status_code == 400
    assert client.get(PAGE).status_code == 302


def test_repeated_wrong_codes_make_the_user_wait(client, cast):
    device = enrolled_device(cast.monitor)
    post_login(client, "monitor")
    for _ in range(4):
        client.post(VERIFY, {"token": "000000"})
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=5)
    response = client.post(VERIFY, {"token": code_for(device)})
    page = response.content.decode()
    assert response.status_code == 400 and "Too many wrong codes. Wait" in page
    assert client.get(PAGE).status_code == 302


def test_an_unverified_user_may_still_sign_out_and_change_language(client, cast):
    post_login(client, "inv.nantes")
    assert client.post("/i18n/setlang/", {"language": "fr", "next": PAGE}).status_code == 302
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and "_auth_user_id" not in client.session


def test_an_htmx_request_of_an_unverified_user_gets_a_whole_page_redirect(client, cast):
    post_login(client, "inv.nantes")
    response = client.get(PAGE, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"].startswith(SETUP)


def test_a_next_address_on_another_site_is_ignored(client, cast):
    device = enrolled_device(cast.monitor)
    post_login(client, "monitor")
    response = client.post(VERIFY, {"token": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_setting_defaults_to_on_and_zero_turns_it_off(monkeypatch):
    assert settings_module(monkeypatch)["TRIALDESK_REQUIRE_2FA"] is True
    assert settings_module(monkeypatch, TRIALDESK_REQUIRE_2FA="0")["TRIALDESK_REQUIRE_2FA"] is False


def test_the_demo_turns_two_factor_off_and_says_so_in_its_help(monkeypatch, tmp_path, capsys):
    from trialdesk.cli import app

    class Stop(Exception):
        pass

    seen = {}

    def fake_setup_django(**kwargs):
        import os

        seen["REQUIRE_2FA"] = os.environ.get("TRIALDESK_REQUIRE_2FA")
        raise Stop

    monkeypatch.setenv("TRIALDESK_REQUIRE_2FA", "placeholder")
    monkeypatch.delenv("TRIALDESK_REQUIRE_2FA")  # restored to absent afterwards
    monkeypatch.setenv("TRIALDESK_DB", str(tmp_path / "demo.sqlite3"))
    monkeypatch.setattr(app, "setup_django", fake_setup_django)
    parser = _cli_parser()
    args = parser.parse_args(["demo", "--no-serve"])
    with pytest.raises(Stop):
        args.handler(args)
    assert seen["REQUIRE_2FA"] == "0"

    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--help"])
    assert "TRIALDESK_REQUIRE_2FA" in capsys.readouterr().out


def test_the_demo_keeps_two_factor_on_when_asked(monkeypatch, tmp_path):
    from trialdesk.cli import app

    class Stop(Exception):
        pass

    seen = {}

    def fake_setup_django(**kwargs):
        import os

        seen["REQUIRE_2FA"] = os.environ.get("TRIALDESK_REQUIRE_2FA")
        raise Stop

    monkeypatch.setenv("TRIALDESK_REQUIRE_2FA", "1")
    monkeypatch.setenv("TRIALDESK_DB", str(tmp_path / "demo.sqlite3"))
    monkeypatch.setattr(app, "setup_django", fake_setup_django)
    args = _cli_parser().parse_args(["demo", "--no-serve"])
    with pytest.raises(Stop):
        args.handler(args)
    assert seen["REQUIRE_2FA"] == "1"


def _cli_parser():
    from trialdesk.cli import build_parser

    return build_parser()


def test_an_administrator_reset_makes_the_user_enrol_again_and_is_audited(client, cast):
    from django.core.management import call_command

    enrolled_device(cast.monitor)
    call_command("reset_two_factor", "monitor", reason="lost phone")
    assert not TOTPDevice.objects.filter(user=cast.monitor).exists()
    post_login(client, "monitor")
    assert client.get(PAGE)["Location"].startswith(SETUP)
    event = AuditEvent.objects.get(action="two_factor_reset")
    assert event.object_id == str(cast.monitor.pk) and event.reason == "lost phone"


def test_the_setup_page_shows_a_qr_code_of_the_setup_link_made_on_the_server(client, cast):
    import segno

    post_login(client, "inv.nantes")
    response = client.get(SETUP)
    page = response.content.decode()
    device = TOTPDevice.objects.get(user=cast.investigator_nantes)
    figure = page.split('id="totp-qr"')[1].split("</figure>")[0]
    assert "<svg" in figure and "<path" in figure and "<img" not in figure
    # The very QR code of the otpauth URI the page also gives as text.
    expected = segno.make(device.config_url, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None
    )
    assert expected in figure
    assert " style=" not in figure and "<script" not in figure  # nothing the CSP would refuse
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_no_menu_before_the_second_factor_only_the_setup_page_and_sign_out(client, cast):
    post_login(client, "inv.nantes")
    page = client.get(SETUP).content.decode()
    assert 'class="menu"' not in page and "/queries/" not in page
    assert 'action="/accounts/logout/"' in page
    assert SETUP in client.get("/", follow=True).redirect_chain[-1][0]


def test_no_menu_on_the_verify_page_of_an_enrolled_user(client, cast):
    enrolled_device(cast.data_manager)
    post_login(client, "datamanager")
    page = client.get(VERIFY).content.decode()
    assert 'class="menu"' not in page and 'action="/accounts/logout/"' in page


def test_the_menu_shows_once_the_second_factor_is_given(client, cast):
    device = enrolled_device(cast.data_manager)
    post_login(client, "datamanager")
    client.post(VERIFY, {"token": code_for(device)})
    assert 'class="menu"' in client.get("/", follow=True).content.decode()


def test_with_two_factor_switched_off_the_menu_shows_at_once(client, cast, settings):
    settings.TRIALDESK_REQUIRE_2FA = False
    post_login(client, "datamanager")
    assert 'class="menu"' in client.get("/", follow=True).content.decode()


@pytest.mark.parametrize(
    ("failures", "language", "expected"),
    [
        (1, "en", "Wait 1 second, then try again."),
        (3, "en", "Wait 4 seconds, then try again."),
        (1, "fr", "Attendez 1 seconde, puis réessayez."),
        (3, "fr", "Attendez 4 secondes, puis réessayez."),
    ],
)
def test_the_wait_after_wrong_codes_is_said_with_the_right_plural(client, cast, failures, language, expected):
    from django.utils import timezone

    device = enrolled_device(cast.monitor)
    post_login(client, "monitor")
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=failures, throttling_failure_timestamp=timezone.now()
    )
    response = client.post(VERIFY, {"token": code_for(device)}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400 and expected in response.content.decode()
