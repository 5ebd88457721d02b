"""Lockout after repeated failures (django-axes): 5 failures lock a username from an address
for 30 minutes, with the reason on the sign-in page and in the audit trail."""

from __future__ import annotations

import datetime as dt

from axes.models import AccessAttempt
from django.utils import timezone
from tests.accounts.helpers import post_login
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify

WRONG = "not-the-password-77"


def _fail(client, username, times, ip="10.0.0.1"):
    return [post_login(client, username, WRONG, ip=ip) for _ in range(times)]


def test_the_limit_and_cool_off_are_five_failures_and_thirty_minutes(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=30)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_four_failures_only_say_the_password_did_not_match(client, cast):
    responses = _fail(client, "inv.nantes", 4)
    assert all(r.status_code == 200 for r in responses)
    page = responses[-1].content.decode()
    assert "match. Try again" in page and "locked" not in page


def test_the_fifth_failure_locks_the_account_with_a_message_on_the_login_page(client, cast):
    locked = _fail(client, "inv.nantes", 5)[-1]
    page = locked.content.decode()
    assert locked.status_code == 429
    assert "locked on this computer for 30 minutes" in page
    assert 'name="password"' in page and 'id="locked"' in page  # the sign-in page, not a bare error
    assert locked.templates and locked.templates[0].name == "accounts/login.html"


def test_a_locked_account_refuses_even_the_right_password(client, cast):
    _fail(client, "inv.nantes", 5)
    response = post_login(client, "inv.nantes", PASSWORD)
    assert response.status_code == 429 and "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_holds_one_username_from_one_address_only(client, cast):
    _fail(client, "inv.nantes", 5, ip="10.0.0.1")
    assert post_login(client, "inv.nantes", PASSWORD, ip="10.0.0.2").status_code == 302
    client.logout()
    assert post_login(client, "coord.nantes", PASSWORD, ip="10.0.0.1").status_code == 302


def test_the_lock_ends_after_the_cool_off(client, cast):
    _fail(client, "inv.nantes", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=31))
    assert post_login(client, "inv.nantes", PASSWORD).status_code == 302


def test_an_unknown_username_is_locked_the_same_way(client, study):
    # Same answers for a name that does not exist: the page does not tell which names are real.
    responses = _fail(client, "nobody.here", 5)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]


def test_failures_and_the_lock_are_audited_in_order_without_the_password(client, cast):
    _fail(client, "inv.nantes", 5)
    post_login(client, "inv.nantes", PASSWORD)  # refused during the lockout
    events = list(AuditEvent.objects.filter(object_type="user").order_by("sequence"))
    assert [e.action for e in events] == ["login_failed"] * 5 + ["account_locked", "login_failed"]
    user = cast.investigator_nantes
    for event in events:
        assert event.object_id == str(user.pk) and event.object_label == "inv.nantes"
        assert event.new_value["username"] == "inv.nantes" and event.new_value["ip"] == "10.0.0.1"
        assert event.user_id is None
    assert events[5].new_value["locked_minutes"] == 30
    assert events[6].new_value.get("refused_while_locked") is True
    assert not any(e.new_value.get("refused_while_locked") for e in events[:5])
    stored = " ".join(str(e.new_value) + e.reason + e.object_label for e in events)
    stored += " ".join(a.post_data + a.get_data for a in AccessAttempt.objects.all())
    assert WRONG not in stored and PASSWORD not in stored
    assert verify().intact


def test_an_unknown_username_tried_is_audited_with_no_user(client, study):
    post_login(client, "<script>x</script>", WRONG)
    event = AuditEvent.objects.get(action="login_failed")
    assert event.object_id == "" and event.new_value["username"] == "<script>x</script>"


def test_a_successful_sign_in_resets_the_failure_count(client, cast):
    _fail(client, "inv.nantes", 4)
    assert post_login(client, "inv.nantes", PASSWORD).status_code == 302
    client.logout()
    assert [r.status_code for r in _fail(client, "inv.nantes", 4)] == [200] * 4


def test_the_lockout_message_is_in_the_users_language(client, cast):
    for _ in range(5):
        locked = post_login(client, "inv.nantes", WRONG, HTTP_ACCEPT_LANGUAGE="fr")
    assert locked.status_code == 429 and "verrouillé" in locked.content.decode()


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
