"""Each role's home in Chromium (issue 15): the coordinator finds the day's work and opens a
count; the monitor narrows the home to one site with the site filter. At 1366 px wide the
homes need no sideways scrolling."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/role-homes")


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_coordinator_opens_the_queries_waiting_for_the_site_from_the_home(page, cast, enrolled_subject):
    from trialdesk.queries.services import raise_query

    record = enrolled_subject.form_records.get(form_code="screening")
    query = raise_query(cast.monitor, record, "ecog", "Please confirm ECOG against the source.")
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto("/studies/NCT00724360/")
    assert page.locator('[data-section="today"] h3').inner_text() == "Today at the site"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    _shot(page, "coordinator-home")
    page.click('[data-count="open-queries"][data-site="NTE"] a')
    page.wait_for_load_state("networkidle")
    assert page.locator(f'tr[data-query="{query.pk}"]').count() == 1


def test_the_monitor_narrows_the_home_to_one_site(page, cast, enrolled_subject):
    sign_in(page, cast.monitor.username, PASSWORD)
    page.goto("/studies/NCT00724360/")
    assert page.locator('[data-count="changed-forms"][data-site="NTE"]').inner_text() == "1"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.select_option("#site-filter select[name=site]", "RNS")
    page.wait_for_load_state("networkidle")
    assert "site=RNS" in page.url
    assert page.locator('[data-count="changed-forms"][data-site="NTE"]').count() == 0
    assert page.locator('[data-count="changed-forms"][data-site="RNS"]').inner_text() == "0"
    _shot(page, "monitor-home-one-site")
