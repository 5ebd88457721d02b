"""Memberships (role x site): added from today, ended with a reason (never deleted), granted
again as a new period; each step audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from tests.administration.conftest import ADMIN
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Membership


def _fresh(user):
    user.__dict__.pop("_trialdesk_access", None)
    return user


def test_it_adds_a_role_at_a_site_from_today_and_audits_it(admin, cast, study):
    nurse = cast.coordinator_nantes
    response = admin.post(f"{ADMIN}/users/{nurse.pk}/memberships/", {"role": "coordinator", "site": "RNS"})
    assert response.status_code == 302
    added = Membership.objects.get(user=nurse, site__code="RNS")
    assert added.active and added.started_on == timezone.localdate() and added.ended_on is None
    event = AuditEvent.objects.get(action="role_grant", object_id=str(added.pk))
    assert (event.study_id, event.site_code, event.username, event.role) == (
        study.pk,
        "RNS",
        "sponsor",
        "sponsor_admin",
    )
    assert study_access(_fresh(nurse), study).can(Permission.ENTER_DATA, study.sites.get(code="RNS").pk)


def test_it_refuses_a_role_the_user_holds_already(admin, cast):
    nurse = cast.coordinator_nantes
    response = admin.post(
        f"{ADMIN}/users/{nurse.pk}/memberships/", {"role": "coordinator", "site": "NTE"}, follow=True
    )
    assert "holds this role at this site already" in response.content.decode()
    assert Membership.objects.filter(user=nurse).count() == 1


def test_ending_a_role_needs_a_reason(admin, cast):
    membership = Membership.objects.get(user=cast.coordinator_nantes)
    response = admin.post(f"{ADMIN}/memberships/{membership.pk}/end/", {"reason": "  "}, follow=True)
    assert "Give the reason for ending this role." in response.content.decode()
    membership.refresh_from_db()
    assert membership.active and not AuditEvent.objects.filter(action="role_end").exists()


def test_ending_a_role_keeps_the_row_with_its_end_date_and_reason(admin, cast, study):
    nurse = cast.coordinator_nantes
    membership = Membership.objects.get(user=nurse)
    response = admin.post(f"{ADMIN}/memberships/{membership.pk}/end/", {"reason": "moved to another ward"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert not membership.active and membership.ended_on == timezone.localdate()
    event = AuditEvent.objects.get(action="role_end", object_id=str(membership.pk))
    assert event.reason == "moved to another ward" and event.site_code == "NTE"
    assert not study_access(_fresh(nurse), study).roles


def test_a_role_ended_can_be_granted_again_as_a_new_period(admin, cast):
    nurse = cast.coordinator_nantes
    first = Membership.objects.get(user=nurse)
    admin.post(f"{ADMIN}/memberships/{first.pk}/end/", {"reason": "leave"})
    admin.post(f"{ADMIN}/users/{nurse.pk}/memberships/", {"role": "coordinator", "site": "NTE"})
    rows = list(Membership.objects.filter(user=nurse).order_by("pk").values_list("active", flat=True))
    assert rows == [False, True]


def test_it_refuses_to_end_a_role_twice(admin, cast):
    membership = Membership.objects.get(user=cast.coordinator_nantes)
    admin.post(f"{ADMIN}/memberships/{membership.pk}/end/", {"reason": "leave"})
    response = admin.post(f"{ADMIN}/memberships/{membership.pk}/end/", {"reason": "again"}, follow=True)
    assert "has ended already" in response.content.decode()
    assert AuditEvent.objects.filter(action="role_end").count() == 1


def test_the_administrator_cannot_end_their_own_administrator_role(admin, cast):
    own = Membership.objects.get(user=cast.sponsor)
    response = admin.post(f"{ADMIN}/memberships/{own.pk}/end/", {"reason": "oops"}, follow=True)
    own.refresh_from_db()
    assert own.active and "another administrator" in response.content.decode()


@pytest.mark.parametrize(
    "role,site,message",
    [
        ("coordinator", "", "choose the site"),
        ("statistician", "RNS", "leave the site empty"),
        ("coordinator", "ZZZ", "Select a valid choice"),
    ],
)
def test_it_refuses_a_role_at_the_wrong_kind_of_site(admin, cast, role, site, message):
    nurse = cast.coordinator_nantes
    response = admin.post(f"{ADMIN}/users/{nurse.pk}/memberships/", {"role": role, "site": site}, follow=True)
    assert message in response.content.decode()
    assert Membership.objects.filter(user=nurse).count() == 1


def test_a_monitor_may_hold_every_site(admin, cast, study):
    nurse = cast.coordinator_nantes
    admin.post(f"{ADMIN}/users/{nurse.pk}/memberships/", {"role": "monitor", "site": ""})
    assert Membership.objects.get(user=nurse, role="monitor").site is None


@pytest.mark.parametrize(
    "role,status",
    [
        ("investigator_nantes", 403),
        ("investigator_rennes", 404),
        ("coordinator_nantes", 403),
        ("data_manager", 403),
    ],
)
def test_a_non_administrator_cannot_end_a_role(client, cast, role, status):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    membership = Membership.objects.get(user=cast.investigator_nantes)
    assert client.post(f"{ADMIN}/memberships/{membership.pk}/end/", {"reason": "x"}).status_code == status
    membership.refresh_from_db()
    assert membership.active


def test_the_migration_dates_an_existing_membership_from_its_creation():
    from importlib import import_module

    from django.apps import apps

    module = import_module("trialdesk.studies.migrations.0004_membership_period")
    assert callable(module.started_when_created)
    assert apps.get_model("studies", "Membership")._meta.get_field("started_on").default is timezone.localdate
    assert dt.date.today()  # the default is the study's day, not a fixed date
