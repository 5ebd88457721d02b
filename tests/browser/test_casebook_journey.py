"""Issue 15, in Chromium at 1366 px: a coordinator opens a casebook with an unacknowledged SAE,
reads its header and alert without scrolling sideways, follows the timeline, opens the audit
trail of one form from its grid cell (site staff read their own site's trail), and the
investigator downloads the PDF casebook."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.safety.conftest import SERIOUS_AE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/casebook"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_coordinator_reads_the_header_and_a_forms_audit_and_the_investigator_gets_the_pdf(
    page, cast, enrolled_subject
):
    from trialdesk.crf.services import save_form

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/")
    header = page.locator("#casebook-header")
    expect(header).to_contain_text(enrolled_subject.subject_code)
    expect(page.locator("#alert-sae")).to_contain_text("not yet acknowledged by the sponsor")
    expect(page.locator("#timeline")).to_contain_text("Febrile neutropenia")
    width, frame = page.evaluate(
        "(() => { const h = document.getElementById('casebook-header');"
        " return [h.scrollWidth, h.clientWidth]; })()"
    )
    assert width <= frame and page.evaluate("document.documentElement.scrollWidth") <= 1366
    _shot(page, "journey-casebook-header")
    page.locator("td.status a.cell-audit").first.click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_contain_text("Audit trail")
    _shot(page, "journey-casebook-record-audit")

    page.context.clear_cookies()
    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/")
    with page.expect_download() as download:
        page.click("#casebook-pdf")
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
