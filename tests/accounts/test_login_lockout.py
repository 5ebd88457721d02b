"""Lockout after repeated failures (django-axes): 5 failures lock a username, from whatever
address they come, for 30 minutes, with the reason on the sign-in page. The address is
never locked: a whole hospital signs in from one address."""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.utils import timezone
from tests.accounts.helpers import post_login
from tests.conftest import PASSWORD

from trialdesk.accounts.models import LoginFailure
from trialdesk.accounts.services import verify_login_failures
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify

WRONG = "not-the-password-77"


def _fail(client, username, times, ip="10.0.0.1"):
    return [post_login(client, username, WRONG, ip=ip) for _ in range(times)]


def test_the_limit_and_cool_off_are_five_failures_and_thirty_minutes_per_username(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=30)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]


def test_four_failures_only_say_the_password_did_not_match(client, cast):
    responses = _fail(client, "inv.nantes", 4)
    assert all(r.status_code == 200 for r in responses)
    page = responses[-1].content.decode()
    assert "match. Try again" in page and "locked" not in page


def test_the_fifth_failure_locks_the_account_with_a_message_on_the_login_page(client, cast):
    locked = _fail(client, "inv.nantes", 5)[-1]
    page = locked.content.decode()
    assert locked.status_code == 429
    assert "this account is locked for 30 minutes" in page
    assert 'name="password"' in page and 'id="locked"' in page  # the sign-in page, not a bare error
    assert locked.templates and locked.templates[0].name == "accounts/login.html"


def test_a_lock_of_one_minute_says_minute(client, cast, settings):
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=1)
    page = _fail(client, "inv.nantes", 5)[-1].content.decode()
    assert "locked for 1 minute." in page


def test_a_locked_account_refuses_even_the_right_password(client, cast):
    _fail(client, "inv.nantes", 5)
    response = post_login(client, "inv.nantes", PASSWORD)
    assert response.status_code == 429 and "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_locks_one_username_not_the_whole_hospital(client, cast):
    _fail(client, "inv.nantes", 5, ip="10.0.0.1")
    # Colleagues behind the same hospital address sign in as usual.
    for username in ("coord.nantes", "monitor", "datamanager"):
        assert post_login(client, username, PASSWORD, ip="10.0.0.1").status_code == 302
        client.logout()
    # The locked username is refused from every address.
    assert post_login(client, "inv.nantes", PASSWORD, ip="10.0.0.2").status_code == 429


def test_many_users_mistyping_behind_one_address_are_not_locked_out(client, study, settings):
    settings.TRIALDESK_LOGIN_IP_FAILURES = 1000  # the address's slow-down: test_login_throttle
    users = [get_user_model().objects.create_user(f"nurse{n}", password=PASSWORD) for n in range(8)]
    for user in users:  # each one mistypes four times: under the limit of their own username
        assert [r.status_code for r in _fail(client, user.username, 4, ip="10.9.9.9")] == [200] * 4
    for user in users:
        assert post_login(client, user.username, PASSWORD, ip="10.9.9.9").status_code == 302
        client.logout()


def test_one_username_is_locked_after_five_failures_from_five_addresses(client, cast):
    statuses = [post_login(client, "inv.nantes", WRONG, ip=f"198.51.100.{n}").status_code for n in range(1, 6)]
    assert statuses == [200, 200, 200, 200, 429]
    assert post_login(client, "inv.nantes", PASSWORD, ip="198.51.100.77").status_code == 429


def test_the_lock_ends_after_the_cool_off(client, cast):
    _fail(client, "inv.nantes", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=31))
    assert post_login(client, "inv.nantes", PASSWORD).status_code == 302


def test_an_unknown_username_is_locked_the_same_way(client, study):
    # Same answers for a name that does not exist: the page does not tell which names are real.
    responses = _fail(client, "nobody.here", 5)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]


def test_failures_are_kept_out_of_the_clinical_trail_and_the_lock_is_an_event_of_the_user(client, cast):
    _fail(client, "inv.nantes", 5)
    post_login(client, "inv.nantes", PASSWORD)  # refused during the lockout
    user = cast.investigator_nantes
    event = AuditEvent.objects.get(object_type="user")
    assert event.action == "account_locked"
    assert (event.user_id, event.username, event.role) == (user.pk, "inv.nantes", "")
    assert event.object_id == str(user.pk) and event.new_value["ip"] == "10.0.0.1"
    assert event.new_value["locked_minutes"] == 30
    failures = list(LoginFailure.objects.values_list("username", "ip", "reason"))
    assert failures == [("inv.nantes", "10.0.0.1", "credentials")] * 5 + [("inv.nantes", "10.0.0.1", "locked")]
    stored = " ".join(str(event.new_value) + event.reason + event.object_label for event in AuditEvent.objects.all())
    stored += " ".join(f.username for f in LoginFailure.objects.all())
    stored += " ".join(a.post_data + a.get_data for a in AccessAttempt.objects.all())
    assert WRONG not in stored and PASSWORD not in stored
    assert verify().intact and verify_login_failures().intact


def test_an_unknown_username_tried_is_recorded_but_never_in_the_clinical_trail(client, study):
    before = AuditEvent.objects.count()
    _fail(client, "<script>x</script>", 5)
    assert AuditEvent.objects.count() == before  # not even its lock: no such account
    assert set(LoginFailure.objects.values_list("username", flat=True)) == {"<script>x</script>"}


def test_a_successful_sign_in_resets_the_failure_count(client, cast):
    _fail(client, "inv.nantes", 4)
    assert post_login(client, "inv.nantes", PASSWORD).status_code == 302
    client.logout()
    assert [r.status_code for r in _fail(client, "inv.nantes", 4)] == [200] * 4


@pytest.mark.parametrize(("language", "expected"), [("en", "this account is locked"), ("fr", "verrouillé")])
def test_the_lockout_message_is_in_the_users_language(client, cast, language, expected):
    for _ in range(5):
        locked = post_login(client, "inv.nantes", WRONG, HTTP_ACCEPT_LANGUAGE=language)
    assert locked.status_code == 429 and expected in locked.content.decode()


def test_an_administrator_can_lift_a_lockout_with_a_reason_that_is_audited(client, cast):
    from django.core.management import call_command

    _fail(client, "inv.nantes", 5)
    call_command("unlock_account", "inv.nantes", reason="called the helpdesk, identity checked")
    assert post_login(client, "inv.nantes", PASSWORD).status_code == 302
    event = AuditEvent.objects.get(action="account_unlocked")
    assert event.object_id == str(cast.investigator_nantes.pk) and "helpdesk" in event.reason


def test_a_username_with_a_null_byte_gets_the_sign_in_message(client, study):
    response = post_login(client, "inv\x00nantes", WRONG)
    assert response.status_code == 200 and "match. Try again" in response.content.decode()
