"""Issue 12 in Chromium: the statistician opens the exports page from the menu, sees that the
export is pseudonymised and holds every site, downloads the ODM file and the CSV zip; the
investigator at Nantes is told the export holds Nantes only, in French."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.exchange.conftest import NS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/odm"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_statistician_downloads_the_odm_file_and_the_csv_zip(page, cast, enrolled_subject, tmp_path):
    from trialdesk.audit.models import AuditEvent

    sign_in(page, cast.statistician.username, PASSWORD)
    page.click("#exports-menu-link")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("main")
    assert "every site of the study" in text and "pseudonymised" in text
    _shot(page, "exports_statistician")
    with page.expect_download() as download:
        page.click("button[data-export=odm]")
    odm = tmp_path / download.value.suggested_filename
    download.value.save_as(odm)
    assert odm.suffix == ".xml"
    (subject,) = etree.parse(str(odm)).findall(".//odm:SubjectData", NS)
    assert subject.get("SubjectKey") == enrolled_subject.label
    with page.expect_download() as download:
        page.click("button[data-export=csv]")
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
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
