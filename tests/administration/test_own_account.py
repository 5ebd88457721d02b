"""Every user's own account: their password (old one checked, validators, audited), their
two-step sign-in device (re-enrolled after their password), their language, their API tokens."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.administration.conftest import ADMIN
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent

ACCOUNT = f"{ADMIN}/account/"
NEW = "quiet-harbour-violin-58"


@pytest.fixture
def nurse(client, cast):
    client.login(username=cast.coordinator_nantes.username, password=PASSWORD)
    return cast.coordinator_nantes


def test_it_changes_the_password_and_keeps_the_user_signed_in(client, nurse, client_factory):
    response = client.post(
        ACCOUNT, {"action": "password", "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302
    assert client.get(ACCOUNT).status_code == 200  # the session survives its own password change
    assert client_factory().login(username=nurse.username, password=NEW)
    assert AuditEvent.objects.filter(action="password_changed", object_id=str(nurse.pk)).exists()


def test_it_refuses_a_wrong_old_password_and_changes_nothing(client, nurse):
    response = client.post(
        ACCOUNT,
        {"action": "password", "old_password": "wrong-one-1234", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 400 and "incorrectly" in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="password_changed").exists()


def test_it_refuses_a_password_the_validators_refuse(client, nurse):
    response = client.post(
        ACCOUNT,
        {"action": "password", "old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert response.status_code == 400 and "too short" in response.content.decode()


def test_re_enrolling_two_factor_needs_the_password_then_shows_a_new_qr_code(client, nurse):
    from tests.accounts.helpers import enrolled_device

    old = enrolled_device(nurse)
    wrong = client.post(ACCOUNT, {"action": "device", "device-password": "not-mine-12345"})
    assert wrong.status_code == 400 and TOTPDevice.objects.filter(pk=old.pk).exists()
    response = client.post(ACCOUNT, {"action": "device", "device-password": PASSWORD})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/setup/")
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
    setup = client.get(response["Location"]).content.decode()
    assert 'id="totp-qr"' in setup and "otpauth://totp/" in setup
    assert AuditEvent.objects.filter(action="two_factor_reset", user_id=nurse.pk).exists()


def test_it_saves_the_language_for_the_next_pages(client, nurse):
    response = client.post(ACCOUNT, {"action": "language", "language": "fr"})
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert '<html lang="fr">' in client.get(ACCOUNT).content.decode()


def test_it_refuses_a_language_it_does_not_have(client, nurse):
    response = client.post(ACCOUNT, {"action": "language", "language": "xx"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_the_page_links_to_the_api_tokens_and_is_linked_from_the_users_name(client, nurse):
    from django.urls import reverse

    page = client.get(ACCOUNT).content.decode()
    assert f'href="{reverse("api-tokens")}"' in page
    assert 'id="account-link"' in page and f'href="{ACCOUNT}"' in page


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get(ACCOUNT)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
