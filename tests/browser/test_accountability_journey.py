"""Drug accountability in Chromium (issue 9, ICH E6 4.6): the research nurse records the
shipment received at Nantes, its lot then shows on the balance; a dose on a lot the site never
received is refused on the lot field, nothing saved; the monitor verifies the balance seen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

from trialdesk.crf.models import FormRecord
from trialdesk.pharmacy.models import Shipment, Verification

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/pharmacy"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"journey-{name}.png"), full_page=True)


def test_a_shipment_recorded_a_dose_on_an_unknown_lot_refused_and_the_balance_verified(
    page, browser, live_server, cast, enrolled_subject
):
    sign_in(page, "coord.nantes", PASSWORD)
    page.goto("/sites/NTE/")
    page.click("#accountability-link")
    page.click("#new-shipment")
    page.fill("#id_received_on", "2026-11-20")
    page.fill("#id_lot_number", "N4412B")
    page.fill("#id_vials", "12")
    page.fill("#id_expires_on", "2027-11-30")
    _shot(page, "1-shipment-form")
    page.click("#shipment-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator('[data-balance="N4412B"]').inner_text() == "12"
    assert Shipment.objects.system("test").get().vials == 12
    _shot(page, "2-balance")

    page.goto(f"/subjects/{enrolled_subject.pk}/logs/infusion/new/")
    assert "N4412B" in page.locator("#panel-pharmacy-lots").inner_text()
    page.fill("#id_infusion_date", "2026-11-24")
    for code, value in (
        ("weight_kg", "70"),
        ("dose_mg_per_kg", "2"),
        ("prescribed_dose_mg", "140"),
        ("administered_dose_mg", "140"),
        ("lot_number", "Z999"),
        ("vials_used", "1"),
    ):
        if page.locator(f"#id_{code}").count():
            page.fill(f"#id_{code}", value)
    page.select_option("#id_loading", "false")
    page.select_option("#id_infusion_reaction", "false")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")
    lot_field = page.locator("#field-lot_number").inner_text()
    assert "Lot Z999 was never received at this site" in lot_field
    assert (
        not FormRecord.objects.system("test").filter(subject=enrolled_subject, form_code="infusion").exists()
    )
    _shot(page, "3-unknown-lot-refused")

    monitor = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    try:
        mpage = monitor.new_page()
        sign_in(mpage, "monitor", PASSWORD)
        mpage.goto("/pharmacy/sites/NTE/")
        mpage.fill("#id_comment", "Counted in the pharmacy fridge")
        mpage.click("#verify-accountability button[type=submit]")
        mpage.wait_for_load_state("networkidle")
        assert "a balance of 12 vials" in mpage.locator("#last-verification").inner_text()
        assert "Nothing has moved since." in mpage.content()
        _shot(mpage, "4-verified")
    finally:
        monitor.close()
    assert Verification.objects.system("test").get().balance == 12
