"""Issue 15, in the browser from login: a coordinator screens a patient, sees "not eligible"
with the reason (the criterion not met and why), corrects the value with a reason for change,
sees the patient eligible and enrolls.

Number: NCT00724360's registry record excludes a left ventricular ejection fraction below
50 % (the protocol file's LVEF criterion): 45 % is not eligible, 62 % is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import sign_in
from tests.browser.test_screening_journey import _fill_screening_form
from tests.conftest import PASSWORD
from tests.subjects.screening_helpers import days_ago, screening_post, today

from trialdesk.crf.models import FormRecord
from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/journeys"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"journey-{name}.png"), full_page=True)


def test_a_coordinator_sees_not_eligible_with_the_reason_corrects_with_a_reason_and_enrolls(
    page, settings, cast, study
):
    settings.TRIALDESK_REQUIRE_2FA = False
    sign_in(page, "coord.nantes", PASSWORD)
    page.goto("/sites/NTE/")
    page.click("#screening-log-link")
    page.click("#screen-a-patient")
    page.fill("#id_screened_on", days_ago(2).isoformat())
    page.select_option("#id_sex", "F")
    page.fill("#id_age", "62")
    page.fill("#id_initials", "MB")
    page.click("#screening-form button.primary")
    page.wait_for_load_state("networkidle")
    form_url = page.url
    _fill_screening_form(page, study.protocol, screening_post(days_ago(2), sex="female", lvef_pct="45"))
    page.click("form.crf button.primary")
    page.wait_for_load_state("networkidle")

    page.goto("/sites/NTE/screening/")
    page.click("text=NTE-S01")
    page.wait_for_load_state("networkidle")
    eligibility = page.locator("#eligibility")
    assert eligibility.get_attribute("data-verdict") == "not_eligible"
    not_met = page.locator('#criteria tr.crit[data-status="not_met"]')
    assert not_met.count() == 1
    expect(not_met).to_contain_text("50")  # the criterion's threshold, in its reason
    _shot(page, "screening-not-eligible")

    page.goto(form_url)
    page.fill("#id_lvef_pct", "62")
    page.click("form.crf button.primary")  # a change to saved data needs its reason first
    page.wait_for_load_state("networkidle")
    record = FormRecord.objects.system("test").get(subject__screening_number="NTE-S01", form_code="screening")
    assert record.data["lvef_pct"] == 45  # refused without a reason: nothing changed
    page.fill("#id_lvef_pct", "62")
    page.select_option("#id__reason", "source_updated")
    page.fill("#id__reason_detail", "45 was the 2019 echo; today's echo reads 62 %.")
    page.click("form.crf button.primary")
    page.wait_for_load_state("networkidle")

    page.goto("/sites/NTE/screening/")
    page.click("text=NTE-S01")
    page.wait_for_load_state("networkidle")
    assert page.locator("#eligibility").get_attribute("data-verdict") == "eligible"
    page.fill("#id_enrolled_on", today().isoformat())
    page.click("#enroll button[type=submit]")
    page.wait_for_load_state("networkidle")
    expect(page.locator("main")).to_contain_text("Enrolled as NTE-001")
    subject = Subject.objects.system("test").get(screening_number="NTE-S01")
    assert subject.status == SubjectStatus.ENROLLED
    _shot(page, "screening-corrected-enrolled")
