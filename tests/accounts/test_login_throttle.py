"""Failed sign-ins from one address are slowed down, never locked: beyond 10 failures in 15
minutes the address waits 1, 2, 4… seconds (at most 60) before a password is checked again,
and is told how long; other addresses and, once the wait is over, everyone behind it sign in."""

from __future__ import annotations

import datetime as dt
import types

import pytest
from django.utils import timezone
from tests.accounts.helpers import post_login, settings_module
from tests.conftest import PASSWORD

from trialdesk.accounts import failures
from trialdesk.accounts.models import LoginFailure, LoginThrottle
from trialdesk.accounts.services import verify_login_failures
from trialdesk.audit.models import AuditEvent

WRONG = "not-the-password-77"
HOSPITAL = "10.20.30.40"


def _fail_as_many_users(client, times, ip=HOSPITAL, start=0):
    """Failures of distinct names (none reaches its own username lock)."""
    return [post_login(client, f"someone{n}", WRONG, ip=ip).status_code for n in range(start, start + times)]


def _wait_over():
    LoginThrottle.objects.update(blocked_until=timezone.now() - dt.timedelta(seconds=1))


def test_the_defaults_are_ten_failures_in_fifteen_minutes_and_at_most_a_minute(settings, monkeypatch):
    assert failures.policy() == failures.ThrottlePolicy(10, dt.timedelta(minutes=15), 60)
    values = settings_module(
        monkeypatch,
        TRIALDESK_LOGIN_IP_FAILURES="3",
        TRIALDESK_LOGIN_IP_WINDOW_MINUTES="5",
        TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS="9",
    )
    assert (values["TRIALDESK_LOGIN_IP_FAILURES"], values["TRIALDESK_LOGIN_IP_WINDOW_MINUTES"]) == (3, 5)
    assert values["TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS"] == 9


def test_the_delay_doubles_beyond_the_allowance_up_to_the_maximum():
    rules = failures.ThrottlePolicy(10, dt.timedelta(minutes=15), 60)
    assert [rules.delay_after(n) for n in (1, 9, 10, 11, 12, 13, 16, 17, 18, 10_000)] == [
        0, 0, 0, 1, 2, 4, 32, 60, 60, 60
    ]


def test_ten_failures_from_one_address_are_not_slowed_down(client, study):
    assert _fail_as_many_users(client, 10) == [200] * 10
    assert failures.throttle_wait(HOSPITAL) == 0
    assert post_login(client, "someone99", WRONG, ip=HOSPITAL).status_code == 200  # still checked


def test_the_eleventh_failure_makes_the_address_wait_a_second_before_any_password_is_checked(client, cast):
    assert _fail_as_many_users(client, 11) == [200] * 11
    response = post_login(client, "coord.nantes", PASSWORD, ip=HOSPITAL)  # even the right password
    assert response.status_code == 429 and response["Retry-After"] == "1"
    page = response.content.decode()
    assert 'id="throttled"' in page and "Wait 1 second, then sign in again." in page
    assert 'name="password"' in page  # the sign-in page, not a bare error
    assert "_auth_user_id" not in client.session
    assert not AuditEvent.objects.filter(action="login").exists()


def test_each_further_failure_doubles_the_wait_up_to_the_maximum(client, study, settings):
    settings.TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS = 8
    _fail_as_many_users(client, 10)
    waits = []
    for n in range(6):
        _wait_over()
        assert post_login(client, f"late{n}", WRONG, ip=HOSPITAL).status_code == 200
        waits.append(post_login(client, "anyone", WRONG, ip=HOSPITAL)["Retry-After"])
    assert waits == ["1", "2", "4", "8", "8", "8"]
    assert "Wait 8 seconds, then sign in again." in post_login(client, "x", WRONG, ip=HOSPITAL).content.decode()


def test_other_addresses_are_not_slowed_down(client, cast):
    _fail_as_many_users(client, 15)
    assert post_login(client, "coord.nantes", PASSWORD, ip="10.20.30.41").status_code == 302


def test_a_slowed_down_hospital_is_never_locked_out_once_the_wait_is_over(client, cast):
    _fail_as_many_users(client, 20)
    assert post_login(client, "coord.nantes", PASSWORD, ip=HOSPITAL).status_code == 429
    _wait_over()
    for username in ("coord.nantes", "inv.nantes", "monitor"):
        assert post_login(client, username, PASSWORD, ip=HOSPITAL).status_code == 302
        client.logout()


def test_failures_older_than_the_window_no_longer_count(client, study, monkeypatch):
    _fail_as_many_users(client, 10)
    later = timezone.now() + dt.timedelta(minutes=16)
    monkeypatch.setattr(failures, "timezone", types.SimpleNamespace(now=lambda: later))
    assert post_login(client, "fresh", WRONG, ip=HOSPITAL).status_code == 200
    assert failures.throttle_wait(HOSPITAL) == 0


def test_a_refused_attempt_does_not_count_against_the_username(client, cast):
    _fail_as_many_users(client, 11)
    for _ in range(6):  # refused before the password is checked: no username lock
        assert post_login(client, "coord.nantes", WRONG, ip=HOSPITAL).status_code == 429
    _wait_over()
    assert post_login(client, "coord.nantes", PASSWORD, ip=HOSPITAL).status_code == 302


def test_refused_attempts_are_counted_but_leave_few_rows(client, study):
    _fail_as_many_users(client, 11)
    LoginThrottle.objects.update(blocked_until=timezone.now() + dt.timedelta(minutes=5))
    before = LoginFailure.objects.count()
    for _ in range(120):
        assert post_login(client, "flood", WRONG, ip=HOSPITAL).status_code == 429
    assert LoginThrottle.objects.get(ip=HOSPITAL).refusals == 120
    rows = list(LoginFailure.objects.filter(sequence__gt=before).values_list("reason", "refusals"))
    assert rows == [("throttled", 1), ("throttled", 10), ("throttled", 100)]
    assert verify_login_failures().intact


def test_no_failure_or_refusal_writes_to_the_clinical_trail(client, study):
    before = AuditEvent.objects.count()
    _fail_as_many_users(client, 30)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("language", "one", "many"),
    [
        ("en", "Wait 1 second, then sign in again.", "Wait 2 seconds, then sign in again."),
        ("fr", "Attendez 1 seconde, puis reconnectez-vous.", "Attendez 2 secondes, puis reconnectez-vous."),
    ],
)
def test_the_wait_is_said_in_the_users_language_with_the_right_plural(client, study, language, one, many):
    _fail_as_many_users(client, 11)
    assert one in post_login(client, "x", WRONG, ip=HOSPITAL, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    _wait_over()
    post_login(client, "y", WRONG, ip=HOSPITAL)
    assert many in post_login(client, "z", WRONG, ip=HOSPITAL, HTTP_ACCEPT_LANGUAGE=language).content.decode()

