"""A coordinator records an adverse event in Chromium (issue 10): the CTCAE term typed as its
MedDRA code, the term's grade texts shown while the grade is chosen, grade 5 alopecia refused,
grade 2 saved with the code and SOC from the list; a serious event e-mails the investigator
and the safety officer once the save has committed."""

from __future__ import annotations

import pytest
from django.core import mail
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

from trialdesk.crf.models import FormRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fill_the_rest(page, serious: bool) -> None:
    page.fill("#id_onset_date", "2026-11-26")
    page.select_option("#id_ongoing", "true")
    page.select_option("#id_serious", "true" if serious else "false")
    if serious:
        page.wait_for_selector("#id_sae_hospitalisation")
        for code in ("death", "life_threatening", "disability", "congenital_anomaly", "medically_important"):
            page.select_option(f"#id_sae_{code}", "false")
        page.select_option("#id_sae_hospitalisation", "true")
    page.select_option("#id_related", "possible")
    page.select_option("#id_action_taken", "none")
    page.select_option("#id_outcome", "recovering")


def test_the_coordinator_picks_a_term_by_its_code_sees_its_grades_and_cannot_save_a_grade_it_lacks(
    page, cast, enrolled_subject
):
    sign_in(page, "coord.nantes", PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/logs/adverse_event/new/")
    page.fill("#id_event_term", "10001760")
    page.locator("#id_event_term").dispatch_event("change")
    panel = page.locator("#ctcae-grades")
    panel.wait_for()
    assert "Alopecia" in panel.inner_text() and "10001760" in panel.inner_text()
    assert "Hair loss of <50%" in panel.inner_text()
    assert panel.locator("tr[data-grade='5'] td").inner_text().startswith("Not defined for this term")
    page.fill("#id_grade", "5")
    _fill_the_rest(page, serious=False)
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    assert "CTCAE v5.0 defines no grade 5 for Alopecia (its grades: 1, 2)." in page.inner_text("#field-grade")
    assert not FormRecord.objects.system("tests").filter(form_code="adverse_event").exists()

    page.fill("#id_grade", "2")
    page.locator("#id_grade").dispatch_event("change")
    page.wait_for_selector("#ctcae-grades tr.chosen[data-grade='2']")
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    record = FormRecord.objects.system("tests").get(form_code="adverse_event")
    assert (record.data["event_term"], record.data["meddra_code"], record.data["system_organ_class"]) == (
        "Alopecia",
        "10001760",
        "Skin and subcutaneous tissue disorders",
    )
    assert mail.outbox == []  # not serious: nobody is e-mailed


def test_a_serious_event_saved_in_the_browser_emails_the_investigator_and_the_safety_officer(
    page, cast, enrolled_subject
):
    for user, email in (
        (cast.investigator_nantes, "inv@nantes.example"),
        (cast.safety_officer, "pv@sponsor.example"),
    ):
        user.email = email
        user.save(update_fields=["email"])
    sign_in(page, "coord.nantes", PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/logs/adverse_event/new/")
    page.fill("#id_event_term", "Febrile neutropenia")
    page.fill("#id_grade", "3")
    _fill_the_rest(page, serious=True)
    page.click("button.primary")
    page.wait_for_load_state("networkidle")
    assert FormRecord.objects.system("tests").filter(form_code="adverse_event").count() == 1
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["inv@nantes.example", "pv@sponsor.example"]
