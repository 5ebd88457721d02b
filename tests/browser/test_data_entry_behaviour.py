"""Data entry in Chromium (issue 15): "Needed to complete the form" appears when a required
field is left empty, not at first sight; Enter in a field does not submit the form (only the
save button saves); a monitor's form is read-only, without a save button."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

from trialdesk.crf.models import FormRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/finding"))


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _records(subject) -> int:
    return FormRecord.objects.system("test").filter(subject=subject, form_code="lvef").count()


def test_leaving_an_empty_field_shows_its_hint_and_enter_does_not_submit(page, cast, screened_subject):
    sign_in(page, "coord.nantes", PASSWORD)
    url = f"/subjects/{screened_subject.pk}/visits/SCR/forms/lvef/"
    page.goto(url)
    for code in ("assessment_date", "lvef_pct", "method", "symptoms"):
        expect(page.locator(f"#needed-{code}")).to_be_hidden()  # nothing nags at first sight

    page.focus("#id_lvef_pct")
    page.keyboard.press("Tab")  # left empty
    expect(page.locator("#needed-lvef_pct")).to_be_visible()
    expect(page.locator("#needed-assessment_date")).to_be_hidden()  # a field not visited stays quiet
    _shot(page, "data-entry-hint-on-blur")

    page.fill("#id_lvef_pct", "61")
    expect(page.locator("#needed-lvef_pct")).to_be_hidden()  # filled: the hint goes
    page.focus("#id_lvef_pct")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.url.endswith(url), "Enter must not submit the form"
    assert _records(screened_subject) == 0
    assert page.evaluate("document.activeElement.id") != "id_lvef_pct"  # Enter moved on to the next field

    with page.expect_navigation():
        page.click("form.crf button[type=submit]")  # the save button does save
    assert _records(screened_subject) == 1


def test_a_monitor_reads_the_form_read_only_without_a_save_button(page, cast, screened_subject):
    sign_in(page, "monitor", PASSWORD)
    page.goto(f"/subjects/{screened_subject.pk}/visits/SCR/forms/lvef/")
    expect(page.locator("#read-only-note")).to_be_visible()
    expect(page.locator("form.crf button[type=submit]")).to_have_count(0)
    assert page.locator("#id_lvef_pct").get_attribute("readonly") is not None
    expect(page.locator("#id_method")).to_be_disabled()
    _shot(page, "data-entry-read-only-monitor")


def test_enter_in_the_top_bar_search_still_searches_from_a_form_page(page, cast, enrolled_subject):
    sign_in(page, "coord.nantes", PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/visits/SCR/forms/lvef/")
    page.fill("#subject-search-q", enrolled_subject.subject_code.lower())
    with page.expect_navigation():
        page.press("#subject-search-q", "Enter")  # one exact hit: straight to the casebook
    assert page.url.endswith(f"/subjects/{enrolled_subject.pk}/")
    assert _records(enrolled_subject) == 0  # the form was not submitted on the way
