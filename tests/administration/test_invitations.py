"""An invitation: an account without a password, its first role, a one-time link that expires."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from tests.administration.conftest import ADMIN

from trialdesk.audit.models import AuditEvent
from trialdesk.studies.models import Membership

NEW_PASSWORD = "plum-orchard-lantern-93"


def _user():
    return get_user_model().objects.get(email="camille.martin@chu-nantes.example")


def test_it_invites_a_user_by_mail_with_their_first_role(invited, mailoutbox, study):
    user = _user()
    assert not user.has_usable_password() and user.username == "camille.martin@chu-nantes.example"
    membership = Membership.objects.get(user=user, study=study)
    assert (membership.role, membership.site.code, membership.active) == ("coordinator", "NTE", True)
    assert mailoutbox[-1].to == ["camille.martin@chu-nantes.example"]
    assert "/administration/invitation/?t=" in invited and "/studies/" not in invited
    actions = set(
        AuditEvent.objects.filter(study_id=study.pk, object_type__in=["user", "membership"]).values_list(
            "action", flat=True
        )
    )
    assert {"user_invited", "role_grant"} <= actions


def test_the_link_sets_a_password_that_signs_in(invited):
    visitor = Client()
    assert visitor.get(invited).status_code == 200
    response = visitor.post(invited, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"].endswith("/accounts/login/")
    assert visitor.login(username=_user().username, password=NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="invitation_accepted", object_id=str(_user().pk)).exists()


def test_it_refuses_a_link_used_once_already(invited):
    visitor = Client()
    visitor.post(invited, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    again = Client().get(invited)
    assert again.status_code == 404
    assert "does not work" in again.content.decode()
    second = Client().post(
        invited, {"new_password1": "another-long-phrase-77", "new_password2": "another-long-phrase-77"}
    )
    assert second.status_code == 404
    assert Client().login(username=_user().username, password=NEW_PASSWORD)


def test_it_refuses_an_expired_link(invited, settings, monkeypatch):
    settings.TRIALDESK_INVITATION_DAYS = 7
    now = time.time()
    # one second past the seven days
    monkeypatch.setattr("django.core.signing.time.time", lambda: now + 7 * 86400 + 1)
    response = Client().get(invited)
    assert response.status_code == 404 and "expired" in response.content.decode()
    assert not _user().has_usable_password()


def test_a_link_still_works_on_its_last_day(invited, settings, monkeypatch):
    settings.TRIALDESK_INVITATION_DAYS = 7
    now = time.time()
    monkeypatch.setattr("django.core.signing.time.time", lambda: now + 7 * 86400 - 60)
    assert Client().get(invited).status_code == 200


def test_it_refuses_a_tampered_link(invited):
    assert Client().get(invited[:-3] + "abc").status_code == 404
    assert Client().get(f"{ADMIN}/invitation/").status_code == 404


def test_a_new_invitation_voids_the_earlier_link(
    admin, invited, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"{ADMIN}/users/{_user().pk}/resend-invitation/")
    assert len(mailoutbox) == 2
    assert Client().get(invited).status_code == 404
    from tests.administration.conftest import invitation_link

    assert Client().get(invitation_link(mailoutbox)).status_code == 200


def test_it_refuses_a_password_the_validators_refuse_and_keeps_the_link(invited):
    visitor = Client()
    response = visitor.post(invited, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "too short" in page or "too common" in page
    assert not _user().has_usable_password()
    assert visitor.get(invited).status_code == 200


def test_the_password_page_is_in_french_for_a_french_browser(invited):
    response = Client(HTTP_ACCEPT_LANGUAGE="fr").post(
        invited, {"new_password1": "abc", "new_password2": "abd"}
    )
    assert "Choisissez votre mot de passe" in response.content.decode()


def test_it_refuses_to_invite_an_address_that_has_an_account(admin, cast, mailoutbox):
    cast.investigator_nantes.email = "inv@chu-nantes.example"
    cast.investigator_nantes.save()
    response = admin.post(
        f"{ADMIN}/users/invite/",
        {
            "email": "INV@chu-nantes.example",
            "first_name": "A",
            "last_name": "B",
            "role": "coordinator",
            "site": "NTE",
        },
    )
    assert response.status_code == 400 and "exists already" in response.content.decode()
    assert not mailoutbox


@pytest.mark.parametrize(
    "role,site,message",
    [
        ("investigator", "", "choose the site"),
        ("data_manager", "NTE", "leave the site empty"),
        ("", "NTE", "This field is required"),
    ],
)
def test_it_refuses_a_role_at_the_wrong_kind_of_site(admin, mailoutbox, role, site, message):
    response = admin.post(
        f"{ADMIN}/users/invite/",
        {
            "email": "x@example.org",
            "first_name": "A",
            "last_name": "B",
            "role": role,
            "site": site,
        },
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not get_user_model().objects.filter(email="x@example.org").exists() and not mailoutbox


def test_a_signed_in_user_opening_a_link_is_asked_to_sign_out_first(admin, invited):
    response = admin.get(invited)
    assert response.status_code == 302
    assert not _user().has_usable_password()


@pytest.mark.parametrize(
    "role",
    [
        "investigator_nantes",
        "coordinator_nantes",
        "monitor",
        "data_manager",
        "statistician",
        "safety_officer",
    ],
)
def test_only_the_sponsor_administrator_invites(client, cast, role, mailoutbox):
    from tests.conftest import PASSWORD

    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert client.get(f"{ADMIN}/users/").status_code == 403
    response = client.post(
        f"{ADMIN}/users/invite/",
        {
            "email": "x@example.org",
            "first_name": "A",
            "last_name": "B",
            "role": "coordinator",
            "site": "NTE",
        },
    )
    assert response.status_code == 403 and not mailoutbox


def test_a_mail_server_that_refuses_keeps_the_account_and_says_so(
    admin, study, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("trialdesk.administration.services.send_mail", refuse)
    from trialdesk.administration import services
    from trialdesk.studies.access import study_access

    sponsor = get_user_model().objects.get(username="sponsor")
    with django_capture_on_commit_callbacks(execute=True):
        user, _membership = services.invite_user(
            sponsor,
            study_access(sponsor, study),
            study,
            email="n@example.org",
            first_name="N",
            last_name="M",
            role="statistician",
            site=None,
            page_url="http://testserver/administration/invitation/",
        )
    assert user.invitation_mailed is False
    assert get_user_model().objects.filter(email="n@example.org").exists()
