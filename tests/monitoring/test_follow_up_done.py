"""A signed report's follow-up action marked done (issue 15): by a monitor of the site or the site
staff it is addressed to, dated at the site, audited with who did it; the signed report stays
intact; the monitor's home lists the open ones, oldest first, and marks them done too."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.monitoring import services
from trialdesk.monitoring.models import FollowUp, FollowUpCompletion, MonitoringVisit

BASE = "/studies/NCT00724360/monitoring/"
HOME = "/studies/NCT00724360/"


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def _follow_up(visit) -> FollowUp:
    return FollowUp.objects.system("tests").get(visit=visit)


def test_the_monitor_marks_a_follow_up_done_and_the_signature_stays_intact(cast, signed):
    follow_up = _follow_up(signed)
    today = signed.site.today()
    services.complete_follow_up(cast.monitor, signed, follow_up.pk, done_on=today, note="Filed in the ISF.")
    done = FollowUpCompletion.objects.system("tests").get(follow_up=follow_up)
    assert done.done_on == today and done.done_by == cast.monitor and done.note == "Filed in the ISF."
    event = AuditEvent.objects.filter(action="monitoring_follow_up_done").get()
    assert event.username == cast.monitor.username and event.role == "monitor"
    assert event.new_value["done_on"] == today.isoformat() and event.old_value == {"state": "open"}
    signed = MonitoringVisit.objects.system("tests").get(pk=signed.pk)
    assert services.signature_intact(signed)


def test_the_nantes_investigator_to_whom_it_is_addressed_marks_it_done(cast, signed):
    follow_up = _follow_up(signed)
    services.complete_follow_up(cast.investigator_nantes, signed, follow_up.pk, done_on=signed.site.today())
    event = AuditEvent.objects.filter(action="monitoring_follow_up_done").get()
    assert event.username == cast.investigator_nantes.username and event.role == "investigator"


def test_a_rennes_investigator_cannot_and_the_data_manager_may_not(cast, signed):
    follow_up = _follow_up(signed)
    with pytest.raises(Http404):
        services.complete_follow_up(
            cast.investigator_rennes, signed, follow_up.pk, done_on=signed.site.today()
        )
    with pytest.raises(PermissionDenied):
        services.complete_follow_up(cast.data_manager, signed, follow_up.pk, done_on=signed.site.today())
    assert not FollowUpCompletion.objects.system("tests").exists()


@pytest.mark.parametrize(
    "offset, refused",
    [
        (-1, "before the visit"),  # the day before the visit that asked for it
        (0, None),  # the visit's own day (the report is dated today at the site)
        (1, "after today at the site"),  # tomorrow at the site
    ],
)
def test_the_date_it_was_done_is_between_the_visit_and_the_sites_today(cast, signed, offset, refused):
    follow_up = _follow_up(signed)
    day = signed.visit_date + dt.timedelta(days=offset)
    if refused is None:
        services.complete_follow_up(cast.monitor, signed, follow_up.pk, done_on=day)
        assert FollowUpCompletion.objects.system("tests").filter(follow_up=follow_up).exists()
    else:
        with pytest.raises(services.MonitoringRefused, match=refused):
            services.complete_follow_up(cast.monitor, signed, follow_up.pk, done_on=day)
        assert not FollowUpCompletion.objects.system("tests").exists()


def test_it_refuses_to_mark_a_follow_up_done_twice(cast, signed):
    follow_up = _follow_up(signed)
    services.complete_follow_up(cast.monitor, signed, follow_up.pk, done_on=signed.visit_date)
    with pytest.raises(services.MonitoringRefused, match="already marked done"):
        services.complete_follow_up(cast.investigator_nantes, signed, follow_up.pk, done_on=signed.visit_date)
    assert AuditEvent.objects.filter(action="monitoring_follow_up_done").count() == 1


def test_a_draft_is_not_completed_this_way(cast, draft):
    from trialdesk.monitoring.services import add_follow_up

    follow_up = add_follow_up(
        cast.monitor, draft, text="Check the log.", responsible="Coordinator", due_on=None
    )
    with pytest.raises(services.MonitoringRefused, match="In a draft"):
        services.complete_follow_up(cast.monitor, draft, follow_up.pk, done_on=draft.visit_date)


def test_a_done_follow_up_is_no_longer_carried_to_the_next_report(cast, signed, nantes):
    from trialdesk.monitoring.models import MonitoringVisit as Visit

    # the follow-up was asked at a visit a week ago; the next visit is today
    Visit.objects.system("tests").filter(pk=signed.pk).update(
        visit_date=nantes.today() - dt.timedelta(days=7)
    )
    signed.refresh_from_db()
    nxt = services.create_visit(cast.monitor, nantes, visit_date=nantes.today(), kind="on_site")
    assert [f.pk for f in services.earlier_open_follow_ups(nxt)] == [_follow_up(signed).pk]
    services.complete_follow_up(cast.monitor, signed, _follow_up(signed).pk, done_on=nantes.today())
    assert services.earlier_open_follow_ups(nxt) == []


def test_the_report_page_marks_it_done_and_shows_who_and_when(client, cast, signed):
    _login(client, cast.coordinator_nantes)
    page = client.get(f"{BASE}{signed.pk}/").content.decode()
    follow_up = _follow_up(signed)
    assert f'id="done-{follow_up.pk}"' in page
    response = client.post(
        f"{BASE}{signed.pk}/follow-ups/done/",
        {"item": follow_up.pk, "done_on": signed.visit_date.isoformat(), "note": "Done with the nurse."},
    )
    assert response.status_code == 302 and response.url.endswith(f"/monitoring/{signed.pk}/#follow-ups")
    page = client.get(f"{BASE}{signed.pk}/").content.decode()
    assert f'data-done="{follow_up.pk}"' in page and "Coord.Nantes" in page and "Done with the nurse." in page
    assert f'id="done-{follow_up.pk}"' not in page


def test_a_bad_date_on_the_page_gets_a_message_and_changes_nothing(client, cast, signed):
    _login(client, cast.monitor)
    follow_up = _follow_up(signed)
    response = client.post(
        f"{BASE}{signed.pk}/follow-ups/done/", {"item": follow_up.pk, "done_on": "yesterday"}, follow=True
    )
    assert response.status_code == 200 and "is not a date" in response.content.decode()
    assert not FollowUpCompletion.objects.system("tests").exists()


def test_the_monitors_home_lists_open_follow_ups_by_age_and_marks_them_done(client, cast, signed, nantes):
    from trialdesk.monitoring.models import MonitoringVisit as Visit
    from trialdesk.monitoring.services import add_follow_up, sign_visit

    # an older report (10 days ago) with its own follow-up: listed first
    older = services.create_visit(
        cast.monitor, nantes, visit_date=nantes.today() - dt.timedelta(days=10), kind="on_site"
    )
    add_follow_up(
        cast.monitor, older, text="Archive the delegation log.", responsible="Dr Inv Nantes", due_on=None
    )
    older = sign_visit(cast.monitor, older, password=PASSWORD)
    Visit.objects.system("tests").filter(pk=older.pk).update(
        visit_date=nantes.today() - dt.timedelta(days=10)
    )
    _login(client, cast.monitor)
    page = client.get(HOME).content.decode()
    rows = re.findall(r'<tr data-follow-up="(\d+)">', page)
    assert rows == [str(_follow_up(older).pk), str(_follow_up(signed).pk)]
    assert 'data-age="10"' in page and 'data-age="0"' in page
    assert re.search(r'data-count="follow-ups-open" data-site="NTE"><a [^>]*>2<', page)

    response = client.post(
        f"{BASE}{older.pk}/follow-ups/done/",
        {"item": _follow_up(older).pk, "done_on": nantes.today().isoformat(), "next": HOME},
    )
    assert response.status_code == 302 and response.url == HOME
    rows = re.findall(r'<tr data-follow-up="(\d+)">', client.get(HOME).content.decode())
    assert rows == [str(_follow_up(signed).pk)]


def test_the_next_page_of_a_post_must_be_a_path_of_this_site(client, cast, signed):
    _login(client, cast.monitor)
    response = client.post(
        f"{BASE}{signed.pk}/follow-ups/done/",
        {"item": _follow_up(signed).pk, "done_on": signed.visit_date.isoformat(), "next": "//evil.example/"},
    )
    assert response.url.endswith(f"/monitoring/{signed.pk}/#follow-ups")
