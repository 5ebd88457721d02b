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


def test_the_statistician_downloads_the_report(page, csp_violations, cast, enrolled_subject, settings, tmp_path):
    # issue 15's journey: the report's files are written by a background job (run here as a
    # worker would run it) and downloaded from the page's job list
    from tests.jobs.conftest import run_queued_jobs

    settings.TRIALDESK_JOB_FILES = tmp_path / "job-files"
    sign_in(page, cast.statistician.username, PASSWORD)
    page.goto("/reports/analysis/")
    page.click('[data-report-download="analysis-report"]')
    page.wait_for_load_state("networkidle")
    (job,) = run_queued_jobs()
    page.reload()
    with page.expect_download() as download:
        page.click(f'[data-download-job="{job.pk}"]')
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.endswith("_report.zip") and saved.stat().st_size > 1000
    _shot(page, "analysis_statistician_download")
    assert csp_violations == []
