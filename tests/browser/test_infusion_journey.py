"""At the bedside (issue 9): after a missed dose the infusion page proposes a reload computed
from the weight typed; the investigator validates it as the prescription; the nurse records
what was given against it, the prescribed values read-only.

Numbers: the trastuzumab label as the protocol states it — more than 14 days after the last
dose, a new 4 mg/kg loading dose; 150 mg vials (operational): 4 mg/kg x 70 kg = 280 mg, 2 vials.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.treatment.models import Prescription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAST_DOSE = dt.date(2026, 11, 25)
MISSED_AFTER = dt.date(2026, 12, 11)  # 16 days later: more than 14
LOT = "T2001"
SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/treatment"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def last_dose_16_days_ago(cast, enrolled_subject):
    from trialdesk.crf.services import save_form
    from trialdesk.pharmacy.services import record_shipment
    from trialdesk.treatment.services import validate_prescription

    # the lot the nurse gives from: received at Nantes, good until mid-2027
    record_shipment(
        cast.coordinator_nantes,
        enrolled_subject.site,
        lot_number=LOT,
        vials=20,
        expires_on=dt.date(2027, 6, 30),
        received_on=dt.date(2026, 11, 1),
    )
    p = validate_prescription(cast.investigator_nantes, enrolled_subject, on=LAST_DOSE, weight_kg=70)
    rec = p.record
    save_form(
        cast.coordinator_nantes,
        enrolled_subject,
        rec.form_code,
        {**rec.data, "administered_dose_mg": p.dose_mg, "infusion_reaction": False},
        repeat=rec.repeat,
        expected_version=rec.version,
    )
    return enrolled_subject


def test_an_investigator_validates_a_reload_and_a_nurse_records_the_infusion(
    page, browser, live_server, cast, last_dose_16_days_ago
):
    subject = last_dose_16_days_ago
    sign_in(page, "inv.nantes", PASSWORD)
    page.goto(f"/subjects/{subject.pk}/logs/infusion/new/")
    panel = page.locator("#panel-treatment-dose")
    assert "Enter today's weight" in panel.inner_text()
    page.fill("#id_infusion_date", MISSED_AFTER.isoformat())
    page.fill("#id_weight_measured_kg", "70")
    page.locator("#id_weight_measured_kg").dispatch_event("change")
    page.wait_for_selector('#panel-treatment-dose [data-dose-proposal="loading"]')
    text = panel.inner_text()
    assert "Loading dose, 280 mg (2 vial(s))" in text
    assert "loading: 16 days since the last dose, more than 14" in text
    assert "4 mg/kg x 70 kg = 280 mg, 2 vial(s) of 150 mg" in text
    _shot(page, "1-reload-proposed")

    page.click("[data-validate-dose] button")
    # the validation is a form post: wait for the page it lands on, not for the one it left
    expect(page.locator("main")).to_contain_text("Prescription validated: Loading dose, 280 mg (2 vial(s)).")
    prescription = Prescription.objects.system("test").get(subject=subject, dose_on=MISSED_AFTER)
    assert (prescription.kind, prescription.dose_mg, prescription.vials) == ("loading", 280, 2)
    assert prescription.validated_by == cast.investigator_nantes
    _shot(page, "2-prescription-validated")

    nurse_context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1366, "height": 900}
    )
    nurse = nurse_context.new_page()
    try:
        sign_in(nurse, "coord.nantes", PASSWORD)
        nurse.goto(f"/subjects/{subject.pk}/logs/infusion/{prescription.record.repeat}/")
        assert (
            "Prescription: Loading dose, 280 mg (2 vial(s))."
            in nurse.locator("[data-prescription]").inner_text()
        )
        assert nurse.locator("#id_prescribed_dose_mg").get_attribute("readonly") is not None
        assert nurse.locator("[data-validate-dose]").count() == 0
        nurse.fill("#id_administered_dose_mg", "280")
        nurse.fill("#id_lot_number", LOT)  # needed to complete the infusion: accountability draws on it
        nurse.fill("#id_infusion_start_time", "09:30")
        nurse.fill("#id_infusion_end_time", "11:10")
        nurse.select_option("#id_infusion_reaction", "false")
        _shot(nurse, "3-nurse-records")
        nurse.click("form.crf button[type=submit]")
        nurse.wait_for_load_state("networkidle")
        assert f"/subjects/{subject.pk}/" in nurse.url
        _shot(nurse, "4-casebook")
    finally:
        nurse_context.close()

    rec = FormRecord.objects.system("test").get(pk=prescription.record_id)
    assert rec.status == FormStatus.COMPLETE
    assert (rec.data["administered_dose_mg"], rec.data["prescribed_dose_mg"], rec.data["loading"]) == (
        280,
        280,
        True,
    )
    assert (rec.data["infusion_start_time"], rec.data["infusion_end_time"]) == ("09:30", "11:10")
