"""Issue 15 in Chromium: the sponsor opens the dashboards from the menu; every chart is an SVG
image the browser draws under the site's Content-Security-Policy, with its text alternative;
the page fits a 1366-pixel laptop; in French the chart speaks French."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/dashboards"))
DRAWN = "Array.from(document.querySelectorAll('.dash-chart img')).map(i => [i.alt, i.complete && i.naturalWidth > 0])"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_sponsor_reads_the_enrollment_chart_and_its_numbers(page, cast, enrolled_subject):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, cast.sponsor.username, PASSWORD)
    page.click("#dashboards-menu-link")
    page.wait_for_load_state("networkidle")
    images = page.evaluate(DRAWN)
    assert images and all(drawn for _alt, drawn in images), images
    assert all(alt for alt, _drawn in images)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.click("#chart-enrollment details summary")
    table = page.inner_text("#chart-enrollment table")
    assert "NTE" in table and "Nantes" in table
    assert not violations, violations
    _shot(page, "dashboard_sponsor")


def test_the_investigator_reads_the_dashboard_in_french(browser, live_server, cast, enrolled_subject):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto("/dashboards/")
    page.wait_for_load_state("networkidle")
    assert "Tableaux de bord" in page.inner_text("h1")
    images = page.evaluate(DRAWN)
    assert images and all(drawn for _alt, drawn in images), images
    assert "patient inclus" in images[0][0]
    _shot(page, "dashboard_investigator_fr")
    context.close()
