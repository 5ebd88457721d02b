"""The site staff's homes count what is due in the site's week (issue 15): its date and the 6 days
after it, in the site's time zone, from the treatment calendar; each count opens its list."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.workspace.conftest import FIRST_DOSE_DAY, count, home, link

#: tests.conftest: the subject is enrolled on 2026-11-24 and its day-0 infusion is planned that day
DAY_0 = FIRST_DOSE_DAY.date()


def test_the_coordinator_counts_the_infusion_due_later_this_week(as_user, at, cast, enrolled_subject):
    at(FIRST_DOSE_DAY - dt.timedelta(days=3))
    page = home(as_user("coordinator_nantes"))
    assert count(page, "infusions-due") == "0"
    assert count(page, "infusions-week") == "1"
    assert "today and the next 6 days" in page


@pytest.mark.parametrize(
    "moment, counted",
    [
        # 2026-11-17 22:30 UTC is 23:30 at Nantes (Europe/Paris, UTC+1): its week ends on 11-23
        (dt.datetime(2026, 11, 17, 22, 30, tzinfo=dt.UTC), "0"),
        # 23:30 UTC is already 2026-11-18 at Nantes: its week (11-18 … 11-24) holds day 0
        (dt.datetime(2026, 11, 17, 23, 30, tzinfo=dt.UTC), "1"),
    ],
)
def test_the_week_is_the_sites_date_and_the_six_days_after_it(
    as_user, at, cast, enrolled_subject, moment, counted
):
    at(moment)
    assert count(home(as_user("coordinator_nantes")), "infusions-week") == counted


def test_an_infusion_due_today_is_due_this_week_and_a_late_one_is_not(as_user, at, cast, enrolled_subject):
    client = as_user("coordinator_nantes")
    at(FIRST_DOSE_DAY)
    assert count(home(client), "infusions-week") == "1"
    at(FIRST_DOSE_DAY + dt.timedelta(days=1))
    page = home(client)
    assert count(page, "infusions-late") == "1" and count(page, "infusions-week") == "0"


def test_the_week_count_opens_the_list_of_that_kind_at_that_site(as_user, at, cast, enrolled_subject):
    at(FIRST_DOSE_DAY - dt.timedelta(days=2))
    client = as_user("investigator_nantes")
    page = home(client)
    url = link(page, "infusions-week")
    assert url is not None and "kind=infusions" in url
    listing = client.get(url).content.decode()
    assert f'data-subject="{enrolled_subject.label}" data-kind="infusions"' in listing
    assert 'data-kind="assessments"' not in listing
    # the week is stated with its dates at the site
    assert 'data-week="NTE">NTE 2026-11-22 – 2026-11-28<' in listing
    assert f"/subjects/{enrolled_subject.pk}/logs/infusion/new/" in listing


def test_the_week_list_refuses_a_site_outside_the_users_scope(as_user, at, cast, enrolled_subject):
    at(FIRST_DOSE_DAY - dt.timedelta(days=2))
    listing = as_user("investigator_rennes").get("/studies/NCT00724360/work/due-this-week/", {"site": "NTE"})
    page = listing.content.decode()
    assert listing.status_code == 200 and enrolled_subject.label not in page


def test_the_assessments_and_calls_of_the_week_are_counted_too(as_user, at, cast, enrolled_subject):
    at(FIRST_DOSE_DAY)
    page = home(as_user("coordinator_nantes"))
    assert count(page, "assessments-week") is not None and count(page, "calls-week") is not None
