"""Issue 4, done when: a coordinator can screen, see the verdict and enroll in the browser."""

from __future__ import annotations

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.subjects.screening_helpers import days_ago, screening_post, today

from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fill_screening_form(tab, protocol, data: dict[str, str]) -> None:
    form = protocol.form(protocol.eligibility.form)
    for field in form.fields:
        if field.code not in data or not tab.locator(f"#id_{field.code}").is_visible():
            continue
        if field.type in ("choice", "boolean"):
            tab.select_option(f"#id_{field.code}", data[field.code])
            tab.wait_for_load_state("networkidle")  # a condition may re-render the fields
        else:
            tab.fill(f"#id_{field.code}", data[field.code])


def test_a_coordinator_screens_sees_the_verdict_and_enrolls_in_the_browser(page, settings, cast, study):
    settings.TRIALDESK_REQUIRE_2FA = False  # the second factor has its own journey
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
    assert "Screening number NTE-S01 opened" in page.content()
    assert page.url.endswith("/visits/SCR/forms/screening/")

    _fill_screening_form(page, study.protocol, screening_post(days_ago(2), sex="female"))
    page.click("form.crf button.primary")
    page.wait_for_load_state("networkidle")

    page.goto("/sites/NTE/screening/")
    assert page.locator('tr[data-screening="NTE-S01"] [data-verdict="eligible"]').count() == 1
    page.click("text=NTE-S01")
    assert page.locator("#eligibility").get_attribute("data-verdict") == "eligible"
    assert page.locator("#criteria tr.crit.met").count() == len(study.protocol.eligibility.criteria)

    page.fill("#id_enrolled_on", today().isoformat())
    page.click("#enroll button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Enrolled as NTE-001" in page.content()
    subject = Subject.objects.system("test").get(screening_number="NTE-S01")
    assert subject.status == SubjectStatus.ENROLLED and subject.subject_code == "NTE-001"
    assert subject.consent_date == days_ago(3)  # proposed from the screening form
    assert subject.visits.count() == len(list(study.protocol.schedule.expanded_visits()))
