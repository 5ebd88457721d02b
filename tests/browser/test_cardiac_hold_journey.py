"""Issue 9 (cardiac hold) and issue 10 (LVEF), in Chromium: the coordinator types a fallen
LVEF and sees the drop, the hold it will start and the suggested CTCAE grade before saving;
the casebook shows the hold; the coordinator cannot lift it, the investigator does.

Rule (trastuzumab label, DESIGN §4): a drop >= 16 points, or below 50 % with a drop >= 10.
Grade (CTCAE v5.0, Ejection fraction decreased): grade 3 "Resting ejection fraction (EF)
39 - 20%; >=20% drop from baseline". Baseline 62 % (tests.conftest.ELIGIBLE_SCREENING).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/cardiac"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_fallen_lvef_shows_its_hold_live_and_the_investigator_lifts_it(page, cast, enrolled_subject):
    from trialdesk.cardiac.models import HoldStatus
    from trialdesk.cardiac.services import active_hold

    subject = enrolled_subject
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{subject.pk}/visits/C1/forms/lvef/")
    page.fill("input[name=assessment_date]", "2026-11-26")
    page.select_option("select[name=method]", "echo")
    page.select_option("select[name=symptoms]", "false")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.fill("input[name=lvef_pct]", "41")
        page.locator("input[name=lvef_pct]").blur()
    panel = page.locator("#panel-cardiac-lvef")
    # the panel is swapped in after the answer is read: wait for it (an earlier field's
    # preview may be the answer awaited above)
    expect(panel).to_contain_text("A drop of 21 points from 62 % at baseline.")
    expect(panel).to_contain_text("Saving it puts the subject on cardiac hold.")
    expect(panel).to_contain_text("Suggested CTCAE v5.0 grade: 3")
    _shot(page, "journey_lvef_panel")
    page.click("button:has-text('Save')")
    page.wait_for_load_state("networkidle")
    assert active_hold(subject) is not None

    page.goto(f"/subjects/{subject.pk}/")
    section = page.locator("#cardiac")
    assert "On hold" in section.inner_text() and "Repeat LVEF due by 2026-12-24." in section.inner_text()
    assert page.locator("[data-decide-hold]").count() == 0  # a coordinator does not decide
    _shot(page, "journey_casebook_coordinator")

    page.context.clear_cookies()
    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{subject.pk}/")
    page.click("[data-decide-hold]")
    page.fill("textarea[name=why]", "Repeat echocardiography 58 %; cardiologist agrees to resume")
    _shot(page, "journey_decision")
    page.click("button[value=lift]")
    page.wait_for_load_state("networkidle")
    assert "The cardiac hold is lifted." in page.content()
    assert active_hold(subject) is None
    assert subject.cardiac_holds.get().status == HoldStatus.LIFTED
    _shot(page, "journey_lifted")
