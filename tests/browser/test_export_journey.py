"""Issue 12 in Chromium: the statistician opens the exports page from the menu, sees that the
export is pseudonymised and holds every site, asks for the ODM file and the CSV zip (background
jobs, run here in the test process as a worker would: test_background_export_journey.py has a
real worker) and downloads them from the list once ready; the investigator at Nantes is told
the export holds Nantes only, in French."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.exchange.conftest import NS
from tests.jobs.conftest import run_queued_jobs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/odm"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _asked_and_downloaded(page, kind: str, folder: Path) -> Path:
    page.click(f"button[data-export={kind}]")
    page.wait_for_selector("tr[data-job-state=queued]")
    (job,) = run_queued_jobs()
    page.wait_for_selector(f'button[data-download-job="{job.pk}"]')  # the list polls every 2 s
    with page.expect_download() as download:
        page.click(f'button[data-download-job="{job.pk}"]')
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    return saved


def test_the_statistician_downloads_the_odm_file_and_the_csv_zip(page, cast, enrolled_subject, tmp_path):
    from trialdesk.audit.models import AuditEvent

    sign_in(page, cast.statistician.username, PASSWORD)
    page.click("#exports-menu-link")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("main")
    assert "every site of the study" in text and "pseudonymised" in text
    _shot(page, "exports_statistician")
    odm = _asked_and_downloaded(page, "odm", tmp_path)
    assert odm.suffix == ".xml"
    (subject,) = etree.parse(str(odm)).findall(".//odm:SubjectData", NS)
    assert subject.get("SubjectKey") == enrolled_subject.label
    archive = _asked_and_downloaded(page, "csv", tmp_path)
    names = {name.rsplit("/", 1)[1] for name in zipfile.ZipFile(archive).namelist()}
    assert {"data_dictionary.csv", "screening.csv"} <= names
    assert AuditEvent.objects.filter(action="export", username="statistician").count() == 2


def test_the_investigator_is_told_in_french_that_the_export_holds_their_site_only(
    browser, live_server, cast, enrolled_subject
):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto("/exports/")
    text = page.inner_text("main")
    assert "ne contient que vos centres" in text and "NTE" in text and "RNS" not in text
    _shot(page, "exports_investigator_fr")
    context.close()
