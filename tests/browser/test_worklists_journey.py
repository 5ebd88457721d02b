"""The worklists as their users live in them (issue 15), in Chromium: the coordinator opens what
is due this week from the home; the investigator opens one site's casebooks to sign; the monitor
marks a report's follow-up done from the home, reads it on the report, and filters the site's
audit trail. Every trail of crumbs starts at the home. Screenshots: /tmp/worklists/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/worklists")
STUDY = "/studies/NCT00724360"


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _first_crumb(page) -> str:
    return page.locator("p.crumbs a").first.inner_text()


def test_the_coordinator_opens_the_weeks_work_and_the_newest_screenings(page, cast, enrolled_subject):
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto(f"{STUDY}/")
    week = page.locator('[data-line="infusions-week"]')
    assert "today and the next 6 days" in week.inner_text()
    _shot(page, "coordinator-home")
    page.click('[data-count="infusions-week"][data-site="NTE"] a')
    page.wait_for_load_state("networkidle")
    assert page.locator("#week-bounds").is_visible()
    assert page.locator("#list-filter-kind option[selected]").inner_text() == "Infusions due this week"
    assert _first_crumb(page) == "Home"
    _shot(page, "coordinator-due-this-week")

    page.goto(f"{STUDY}/sites/NTE/screening/")
    assert "newest first" in page.locator("#screening-order").inner_text()
    _shot(page, "coordinator-screening-log")
    page.goto(f"{STUDY}/subjects/{enrolled_subject.pk}/")
    assert _first_crumb(page) == "Home"
    _shot(page, "coordinator-casebook-crumbs")


def test_the_investigator_opens_one_sites_casebooks_to_sign(page, cast, study, enrolled_subject):
    from trialdesk.studies.models import Membership, Role

    Membership.objects.create(
        user=cast.investigator_nantes, study=study, role=Role.INVESTIGATOR, site=study.sites.get(code="RNS")
    )
    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto(f"{STUDY}/")
    assert page.locator('[data-count="assessments-week"][data-site="NTE"]').count() == 1
    _shot(page, "investigator-home")
    page.click('[data-count="to-sign"][data-site="NTE"] a')
    page.wait_for_load_state("networkidle")
    assert "site=NTE" in page.url
    assert page.locator("#list-filter-site").input_value() == "NTE"
    assert page.locator(f'tr[data-subject="{enrolled_subject.pk}"]').count() == 1
    _shot(page, "investigator-to-sign-nantes")
    page.click("text=Clear the filters")
    page.wait_for_load_state("networkidle")
    assert "site=" not in page.url


def test_the_monitor_marks_a_follow_up_done_from_the_home_and_filters_the_trail(page, cast, enrolled_subject):
    from trialdesk.monitoring.services import add_follow_up, create_visit, sign_visit

    nantes = enrolled_subject.site
    report = create_visit(
        cast.monitor, nantes, visit_date=nantes.today() - dt.timedelta(days=3), kind="on_site"
    )
    add_follow_up(
        cast.monitor, report, text="File the re-consent in the ISF.", responsible="Dr Inv Nantes", due_on=None
    )
    report = sign_visit(cast.monitor, report, password=PASSWORD)

    sign_in(page, cast.monitor.username, PASSWORD)
    page.goto(f"{STUDY}/")
    row = page.locator("#open-follow-ups tbody tr")
    assert row.count() == 1 and "3 days" in row.inner_text()
    _shot(page, "monitor-home-follow-ups")
    row.locator("button", has_text="Mark done").click()
    page.wait_for_load_state("networkidle")
    assert "marked done" in page.locator(".messages").inner_text()
    assert page.locator("#open-follow-ups").count() == 0
    _shot(page, "monitor-home-follow-up-done")

    page.goto(f"{STUDY}/monitoring/{report.pk}/")
    assert "Done on" in page.locator("#follow-ups-table").inner_text()
    _shot(page, "monitor-report-follow-up-done")

    page.goto(f"{STUDY}/audit/sites/NTE/")
    page.select_option("#list-filter-user", "monitor")
    page.click("#filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "user=monitor" in page.url and "Clear the filters" in page.content()
    assert _first_crumb(page) == "Home"
    _shot(page, "monitor-audit-trail-filtered")
