"""Issue 15 in Chromium: the monitor writes the report of a visit to Nantes from the menu — what
they verified is listed from their SDV marks, they add a finding and a follow-up, a wrong password
signs nothing, the right one signs —; the Nantes investigator then reads the signed report and its
PDF. Every page fits a 1366-pixel laptop and runs under the Content-Security-Policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

from trialdesk.queries.services import verify_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/monitoring"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366


def test_the_monitor_writes_signs_and_the_site_reads_the_visit_report(
    page, browser, live_server, cast, enrolled_subject
):
    record = enrolled_subject.form_records.get(form_code="screening")
    verify_source(cast.monitor, record, "ecog")
    verify_source(cast.monitor, record, "marrow_blasts_pct")
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    sign_in(page, cast.monitor.username, PASSWORD)
    page.click("#monitoring-menu-link")
    page.wait_for_load_state("networkidle")
    _fits(page)
    page.select_option("#id_site", "NTE")
    page.select_option("#id_kind", "on_site")
    page.fill("#id_attendees", "Dr Nantes, investigator\nResearch nurse")
    page.click("#new-visit button[type=submit]")
    page.wait_for_load_state("networkidle")
    verified = page.inner_text("#verified-forms")
    assert enrolled_subject.label in verified and "ECOG performance status" in verified

    page.select_option("#add-finding select[name=category]", "consent")
    page.select_option("#add-finding select[name=severity]", "major")
    page.fill("#add-finding textarea[name=text]", "Consent version 2 signed after the screening marrow.")
    page.click("#add-finding button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("#add-follow-up textarea[name=text]", "File the re-consent in the investigator site file.")
    page.fill("#add-follow-up input[name=responsible]", "Dr Nantes")
    page.click("#add-follow-up button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Informed consent" in page.inner_text("#findings-table")
    _fits(page)
    _shot(page, "visit_draft")

    page.fill("#id_password", "not-my-password")
    page.click("#sign-report button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "The password is not correct" in page.inner_text(".messages")
    assert page.locator("#sign-report").count() == 1
    page.fill("#id_password", PASSWORD)
    page.click("#sign-report button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Signed by" in page.inner_text("#signature")
    assert page.locator("#add-finding").count() == 0
    _fits(page)
    _shot(page, "visit_signed")
    assert not violations, violations

    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 900}
    )
    site_page = context.new_page()
    sign_in(site_page, cast.investigator_nantes.username, PASSWORD)
    site_page.click("#monitoring-menu-link")
    site_page.wait_for_load_state("networkidle")
    assert "Signé" in site_page.inner_text("#monitoring-visits")
    site_page.click("#monitoring-visits tbody a >> nth=0")
    site_page.wait_for_load_state("networkidle")
    assert "Consentement éclairé" in site_page.inner_text("#findings-table")
    assert "File the re-consent" in site_page.inner_text("#follow-ups-table")
    _fits(site_page)
    _shot(site_page, "visit_read_by_site_fr")
    pdf = site_page.request.get(site_page.url + "report.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    (SHOTS / "visit_report.pdf").write_bytes(pdf.body())
    context.close()
