"""The user-access history an inspector reads: who held which role at which site, from when to
when, who granted and ended it and why; printable, and as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from tests.administration.conftest import ADMIN
from tests.conftest import PASSWORD

from trialdesk.studies.models import Membership

HISTORY = f"{ADMIN}/access-history/"


@pytest.fixture
def ended_and_regranted(admin, cast):
    """The Nantes nurse's role ended on 2026-03-31 (for leave) and granted again on 2026-06-01;
    the dates moved back as if it had happened then."""
    nurse = cast.coordinator_nantes
    first = Membership.objects.get(user=nurse)
    admin.post(f"{ADMIN}/memberships/{first.pk}/end/", {"reason": "parental leave"})
    admin.post(f"{ADMIN}/users/{nurse.pk}/memberships/", {"role": "coordinator", "site": "NTE"})
    Membership.objects.filter(pk=first.pk).update(
        started_on=dt.date(2025, 9, 1), ended_on=dt.date(2026, 3, 31)
    )
    second = Membership.objects.get(user=nurse, active=True)
    Membership.objects.filter(pk=second.pk).update(started_on=dt.date(2026, 6, 1))
    return first, second


def _rows(page: str, username: str) -> list[str]:
    import re

    return re.findall(rf'<tr class="[^"]*" data-username="{re.escape(username)}"[^>]*>(.*?)</tr>', page, re.S)


def test_it_lists_each_period_with_who_granted_and_ended_it(admin, cast, ended_and_regranted):
    page = admin.get(HISTORY).content.decode()
    rows = _rows(page, cast.coordinator_nantes.username)
    assert len(rows) == 2
    ended = next(r for r in rows if "parental leave" in r)
    assert "Sept. 1, 2025" in ended and "March 31, 2026" in ended
    assert "sponsor" in ended
    ongoing = next(r for r in rows if "parental leave" not in r)
    assert "still held" in ongoing


def test_the_csv_has_one_line_per_period_with_iso_dates(admin, cast, ended_and_regranted):
    response = admin.get(f"{ADMIN}/access-history.csv")
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0][:6] == ["Name", "Username", "Role", "Site", "From", "To"]
    nurse = [line for line in lines[1:] if line[1] == cast.coordinator_nantes.username]
    assert sorted((line[4], line[5], line[8]) for line in nurse) == [
        ("2025-09-01", "2026-03-31", "parental leave"),
        ("2026-06-01", "still held", ""),
    ]
    assert [line for line in lines if line[1] == "sponsor"][0][3] == "Every site"


def test_a_monitor_sees_the_periods_of_their_sites_and_the_study_wide_ones(client, cast, study):
    from django.contrib.auth import get_user_model

    from trialdesk.studies.models import Role

    cfd = get_user_model().objects.create_user("inv.cfd", password=PASSWORD)
    Membership.objects.create(user=cfd, study=study, role=Role.INVESTIGATOR, site=study.sites.get(code="CFD"))
    client.login(username=cast.monitor.username, password=PASSWORD)
    page = client.get(HISTORY).content.decode()
    assert _rows(page, "inv.nantes") and _rows(page, "datamanager")
    assert not _rows(page, "inv.cfd")
    lines = client.get(f"{ADMIN}/access-history.csv").content.decode()
    assert "inv.cfd" not in lines and "inv.nantes" in lines


@pytest.mark.parametrize("role", ["sponsor", "monitor", "data_manager", "statistician"])
def test_the_sponsor_and_the_audit_viewing_roles_read_it(client, cast, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert client.get(HISTORY).status_code == 200
    assert client.get(f"{ADMIN}/access-history.csv").status_code == 200


@pytest.mark.parametrize("role", ["investigator_nantes", "coordinator_nantes", "safety_officer"])
def test_the_other_roles_do_not(client, cast, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert client.get(HISTORY).status_code == 403
    assert client.get(f"{ADMIN}/access-history.csv").status_code == 403


def test_the_page_prints_without_its_menu(admin):
    page = admin.get(HISTORY).content.decode()
    assert "administration/print.css" in page
    from django.contrib.staticfiles import finders

    css = open(finders.find("administration/print.css"), encoding="utf-8").read()
    assert "@media print" in css and ".topbar" in css


def test_it_reads_the_trail_in_a_constant_number_of_queries(
    admin, cast, study, django_assert_max_num_queries
):
    from trialdesk.administration.services import access_history
    from trialdesk.studies.access import study_access

    access = study_access(cast.sponsor, study)
    with django_assert_max_num_queries(2):
        few = access_history(study, access)
    for number in range(10):
        user = cast.sponsor.__class__.objects.create_user(f"extra{number}")
        Membership.objects.create(user=user, study=study, role="statistician")
    with django_assert_max_num_queries(2):
        assert len(access_history(study, access)) == len(few) + 10
