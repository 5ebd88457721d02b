"""Sign-in and sign-out are audit events of the user (object_type ``user``), in the clinical
chain, as that person in no clinical role; failed sign-ins are kept out of it."""

from __future__ import annotations

from tests.accounts.helpers import code_for, enrolled_device, post_login

from trialdesk.accounts.models import LoginFailure
from trialdesk.accounts.services import verify_login_failures
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import verify


def test_a_sign_in_is_audited_as_a_login_of_the_user_in_no_clinical_role(client, cast):
    post_login(client, "coord.nantes", ip="192.0.2.7")
    event = AuditEvent.objects.get(action="login")
    user = cast.coordinator_nantes
    assert (event.object_type, event.object_id, event.object_label) == ("user", str(user.pk), "coord.nantes")
    assert (event.user_id, event.username, event.role) == (user.pk, "coord.nantes", "")
    assert event.new_value == {"ip": "192.0.2.7", "second_factor": "required"}


def test_a_sign_in_with_two_factor_switched_off_does_not_say_it_is_required(client, cast, settings):
    settings.TRIALDESK_REQUIRE_2FA = False
    post_login(client, "inv.nantes")
    assert "second_factor" not in AuditEvent.objects.get(action="login").new_value


def test_a_sign_out_is_audited(client, cast):
    post_login(client, "coord.nantes")
    client.post("/accounts/logout/")
    event = AuditEvent.objects.get(action="logout")
    assert event.user_id == cast.coordinator_nantes.pk and event.object_type == "user" and event.role == ""


def test_sign_out_needs_a_post(client, cast):
    post_login(client, "coord.nantes")
    assert client.get("/accounts/logout/").status_code == 405
    assert not AuditEvent.objects.filter(action="logout").exists()


def test_a_full_two_factor_sign_in_leaves_an_intact_chain(client, cast):
    device = enrolled_device(cast.monitor)
    post_login(client, "monitor", "wrong-password-123")
    post_login(client, "monitor")
    client.post("/accounts/two-factor/verify/", {"token": code_for(device)})
    client.post("/accounts/logout/")
    actions = list(
        AuditEvent.objects.filter(object_type="user").order_by("sequence").values_list("action", flat=True)
    )
    assert actions == ["login", "two_factor_verified", "logout"]
    assert all(event.role == "" for event in AuditEvent.objects.filter(object_type="user"))
    assert LoginFailure.objects.get().username == "monitor"
    assert verify().intact and verify_login_failures().intact


def test_sign_in_events_belong_to_no_study_or_site(client, cast):
    post_login(client, "coord.nantes", "wrong-password-123")
    post_login(client, "coord.nantes")
    event = AuditEvent.objects.get(object_type="user")
    assert event.action == "login" and event.study_id is None and event.site_id is None
