"""Issue 11 in Chromium: the sponsor goes from the recruitment page to the analysis report, sees
the primary endpoint and its plots under the site's Content-Security-Policy, opens the safety
report, and reads the report in French; the safety officer reaches the safety report only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/report/browser"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def csp_violations(page):
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return seen


def test_the_sponsor_reads_the_analysis_and_the_safety_report_in_english_and_french(
    page, csp_violations, cast, enrolled_subject
):
    sign_in(page, cast.sponsor.username, PASSWORD)
    page.goto("/reports/recruitment/")
    page.click("#analysis-links >> text=Analysis report")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Analysis report")
    assert page.locator("#primary-endpoint").is_visible() and page.locator("#flow").is_visible()
    assert page.locator('[data-figure="enrolled"]').inner_text() == "1"
    _shot(page, "analysis_sponsor")
    page.click("text=The safety report alone")
    page.wait_for_load_state("networkidle")
    assert page.locator("#safety").is_visible() and page.locator("#primary-endpoint").count() == 0
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Rapport de tolérance")
    page.click("text=L’analyse complète")
    page.wait_for_load_state("networkidle")
    assert "Critère principal" in page.locator("#primary-endpoint h2").inner_text()
    _shot(page, "analysis_sponsor_fr")
    assert csp_violations == []


def test_the_safety_officer_reaches_the_safety_report_only(page, cast, enrolled_subject):
    sign_in(page, cast.safety_officer.username, PASSWORD)
    assert page.goto("/reports/safety/").status == 200
    assert page.locator("#safety").is_visible() and "L’analyse complète" not in page.content()
    assert page.goto("/reports/analysis/").status == 404
