"""Idle session timeout: 30 minutes by default, TRIALDESK_SESSION_IDLE_MINUTES to change it."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone
from tests.accounts.helpers import settings_module, sign_in_verified

from trialdesk.accounts.middleware import LAST_SEEN_SESSION_KEY
from trialdesk.audit.models import AuditEvent

pytestmark = pytest.mark.urls("tests.accounts.probe_urls")
PAGE = "/_probe/"


def _idle_for(client, minutes: float) -> None:
    session = client.session
    session[LAST_SEEN_SESSION_KEY] = time.time() - minutes * 60
    session.save()


@pytest.fixture
def signed_in(client, cast):
    sign_in_verified(client, cast.investigator_nantes)
    assert client.get(PAGE).status_code == 200
    return client


def test_a_session_idle_longer_than_the_limit_is_sent_back_to_login(signed_in):
    _idle_for(signed_in, 31)
    response = signed_in.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2F_probe%2F"
    assert "_auth_user_id" not in signed_in.session
    page = signed_in.get(response["Location"]).content.decode()
    assert "signed out after 30 minutes without activity" in page


def test_the_idle_sign_out_is_audited_with_its_reason(signed_in, cast):
    _idle_for(signed_in, 31)
    signed_in.get(PAGE)
    event = AuditEvent.objects.filter(action="logout").get()
    assert event.user_id == cast.investigator_nantes.pk and "idle" in event.reason


def test_a_session_used_within_the_limit_stays_signed_in(signed_in):
    _idle_for(signed_in, 29)
    assert signed_in.get(PAGE).status_code == 200
    # each request restarts the clock
    assert time.time() - signed_in.session[LAST_SEEN_SESSION_KEY] < 60


def test_the_limit_is_configurable(signed_in, settings):
    settings.TRIALDESK_SESSION_IDLE_MINUTES = 5
    _idle_for(signed_in, 6)
    assert signed_in.get(PAGE).status_code == 302


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "signed out after 1 minute without activity"),
        ("fr", "déconnecté après 1 minute sans activité"),
    ],
)
def test_a_limit_of_one_minute_says_minute_in_either_language(signed_in, settings, language, expected):
    settings.TRIALDESK_SESSION_IDLE_MINUTES = 1
    _idle_for(signed_in, 2)
    response = signed_in.get(PAGE, HTTP_ACCEPT_LANGUAGE=language)
    page = signed_in.get(response["Location"], HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert expected in page


def test_the_environment_sets_the_limit_and_the_session_cookie_age(monkeypatch):
    assert settings_module(monkeypatch)["SESSION_COOKIE_AGE"] == 30 * 60
    configured = settings_module(monkeypatch, TRIALDESK_SESSION_IDLE_MINUTES="10")
    assert configured["TRIALDESK_SESSION_IDLE_MINUTES"] == 10 and configured["SESSION_COOKIE_AGE"] == 600
    assert configured["SESSION_SAVE_EVERY_REQUEST"] is True


def test_an_expired_stored_session_is_anonymous(signed_in):
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = signed_in.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_htmx_request_after_the_timeout_reloads_the_whole_page_on_login(signed_in):
    _idle_for(signed_in, 31)
    response = signed_in.get(PAGE, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"].startswith("/accounts/login/")
