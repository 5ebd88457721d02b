"""The sponsor administrator deactivates and reactivates an account, resets its two-step
sign-in and clears its lockout; each change is in the study's trail."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.administration.conftest import ADMIN
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent

WRONG = "not-the-password-77"


def _events(study, action):
    return AuditEvent.objects.filter(study_id=study.pk, action=action)


def test_a_deactivated_user_cannot_sign_in(admin, cast, study, client_factory):
    nurse = cast.coordinator_nantes
    response = admin.post(f"{ADMIN}/users/{nurse.pk}/deactivate/", {"reason": "left the hospital"})
    assert response.status_code == 302
    nurse.refresh_from_db()
    assert not nurse.is_active
    assert not client_factory().login(username=nurse.username, password=PASSWORD)
    event = _events(study, "user_deactivated").get()
    assert (event.object_id, event.reason, event.role) == (
        str(nurse.pk),
        "left the hospital",
        "sponsor_admin",
    )


def test_a_deactivated_users_open_session_ends(admin, cast, client_factory):
    nurse = cast.coordinator_nantes
    session = client_factory()
    session.login(username=nurse.username, password=PASSWORD)
    assert session.get(f"{ADMIN}/account/").status_code == 200
    admin.post(f"{ADMIN}/users/{nurse.pk}/deactivate/")
    response = session.get(f"{ADMIN}/account/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_reactivated_user_signs_in_again(admin, cast, study, client_factory):
    nurse = cast.coordinator_nantes
    admin.post(f"{ADMIN}/users/{nurse.pk}/deactivate/")
    admin.post(f"{ADMIN}/users/{nurse.pk}/reactivate/", {"reason": "back from leave"})
    assert client_factory().login(username=nurse.username, password=PASSWORD)
    assert _events(study, "user_reactivated").get().reason == "back from leave"


def test_it_refuses_to_deactivate_the_administrators_own_account(admin, cast):
    response = admin.post(f"{ADMIN}/users/{cast.sponsor.pk}/deactivate/", follow=True)
    cast.sponsor.refresh_from_db()
    assert cast.sponsor.is_active
    assert "your own account" in response.content.decode()


def test_reset_two_factor_makes_the_user_enrol_again_at_their_next_sign_in(
    admin, cast, study, settings, client_factory
):
    from tests.accounts.helpers import enrolled_device, post_login

    nurse = cast.coordinator_nantes
    enrolled_device(nurse)
    response = admin.post(f"{ADMIN}/users/{nurse.pk}/reset-two-factor/", {"reason": "lost phone"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=nurse).exists()
    assert _events(study, "two_factor_reset").get().reason == "lost phone"
    settings.TRIALDESK_REQUIRE_2FA = True
    visitor = client_factory()
    post_login(visitor, nurse.username)
    page = visitor.get(f"{ADMIN}/account/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/two-factor/setup/")


def test_unlock_clears_the_lockout(admin, cast, study, settings, client_factory):
    from tests.accounts.helpers import post_login

    settings.AXES_ENABLED = True
    nurse = cast.coordinator_nantes
    visitor = client_factory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(visitor, nurse.username, WRONG)
    assert post_login(visitor, nurse.username).status_code == 429  # locked, even with the right password
    page = admin.get(f"{ADMIN}/users/{nurse.pk}/").content.decode()
    assert 'id="state-locked"' in page and 'id="unlock-form"' in page
    response = admin.post(f"{ADMIN}/users/{nurse.pk}/unlock/", {"reason": "called the help desk"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=nurse.username).exists()
    assert post_login(client_factory(), nurse.username).status_code == 302
    assert _events(study, "account_unlocked").get().reason == "called the help desk"


def test_a_user_below_the_failure_limit_is_not_shown_locked(admin, cast, settings, client_factory):
    from tests.accounts.helpers import post_login

    settings.AXES_ENABLED = True
    post_login(client_factory(), cast.coordinator_nantes.username, WRONG)
    page = admin.get(f"{ADMIN}/users/{cast.coordinator_nantes.pk}/").content.decode()
    assert 'id="state-locked"' not in page


def test_the_users_page_lists_every_user_of_the_study_with_their_roles(admin, cast):
    page = admin.get(f"{ADMIN}/users/").content.decode()
    for user in (cast.investigator_nantes, cast.monitor, cast.safety_officer):
        assert f'data-username="{user.username}"' in page
    assert "Monitor (CRA) · NTE" in page and "Monitor (CRA) · RNS" in page


@pytest.mark.parametrize(
    "role,status",
    [
        ("investigator_nantes", 403),  # the nurse of their own site: forbidden, no detail
        ("investigator_rennes", 404),  # a Nantes nurse does not exist for Rennes
        ("monitor", 403),
        ("data_manager", 403),
        ("safety_officer", 403),
    ],
)
def test_a_non_administrator_cannot_act_on_an_account(client, cast, study, role, status):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    nurse = cast.coordinator_nantes
    before = AuditEvent.objects.count()
    assert client.get(f"{ADMIN}/users/{nurse.pk}/").status_code == status
    for action in ("deactivate", "reactivate", "reset-two-factor", "unlock", "resend-invitation"):
        assert client.post(f"{ADMIN}/users/{nurse.pk}/{action}/").status_code == status
    nurse.refresh_from_db()
    assert nurse.is_active and AuditEvent.objects.count() == before


def test_a_user_of_no_role_in_the_study_is_not_found(admin, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", password=PASSWORD)
    assert admin.get(f"{ADMIN}/users/{stranger.pk}/").status_code == 404
    assert admin.post(f"{ADMIN}/users/{stranger.pk}/deactivate/").status_code == 404


def test_the_users_page_lists_the_changes_to_their_account_with_the_reasons(admin, cast):
    nurse = cast.coordinator_nantes
    admin.post(f"{ADMIN}/users/{nurse.pk}/deactivate/", {"reason": "left the hospital"})
    admin.post(f"{ADMIN}/users/{nurse.pk}/reactivate/", {"reason": "came back"})
    page = admin.get(f"{ADMIN}/users/{nurse.pk}/").content.decode()
    table = page[page.index('id="account-events"') :]
    assert table.index("Account reactivated") < table.index("Account deactivated")  # newest first
    assert "left the hospital" in table and "came back" in table
    assert "user_deactivated" not in table
