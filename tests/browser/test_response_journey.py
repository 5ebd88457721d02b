"""Issue 10, done when: a coordinator records a month's marrow and a transfusion in Chromium
and sees the derived response with its reason (criteria: ASH for ALL, BBMT 2010;16:1187,
Table 4a — PR: blasts 5-25 % and a decrease >= 50 % from baseline with ANC >= 1.0 and
platelets >= 100 x 10^9/L)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from tests.assessments.conftest import BASELINE_MARROW
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("TRIALDESK_SCREENSHOTS", "/tmp/assessments"))


def _live(page, change, blur: str | None = None) -> None:
    """A change the page sends to the server (htmx, nothing saved); wait for its answer so
    that answers do not cross."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        change()
        if blur:
            page.locator(blur).blur()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def treated_subject(cast, enrolled_subject):
    """Nantes' patient: the baseline marrow, the first dose on 24 November, a transfusion before it."""
    from trialdesk.audit.services import Actor, audited
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import record_first_dose

    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(BASELINE_MARROW),
        visit=enrolled_subject.visits.get(code="SCR"),
    )
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "transfusion",
        {"transfusion_date": "2026-11-10", "product": "red_cells", "units": 2},
    )
    with audited():
        record_first_dose(enrolled_subject, dt.date(2026, 11, 24), Actor.system("test"))
    enrolled_subject.refresh_from_db()
    return enrolled_subject


def test_a_coordinator_records_a_marrow_and_a_transfusion_and_sees_the_derived_response(
    page, cast, treated_subject
):
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{treated_subject.pk}/")
    page.click("[data-form=marrow_assessment][data-visit=M1]")
    # the live preview is htmx's, which starts once the page has loaded: a change typed before
    # then would ask nothing
    page.wait_for_url("**/visits/M1/forms/marrow_assessment/")
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined")
    panel = page.locator("#panel-derived-response")
    assert "Enter the date and the marrow blasts" in panel.inner_text()

    _live(page, lambda: page.fill("#id_assessment_date", "2026-12-01"), "#id_assessment_date")
    _live(page, lambda: page.fill("#id_marrow_blasts_pct", "20"), "#id_marrow_blasts_pct")
    _live(page, lambda: page.select_option("#id_circulating_blasts_present", "false"))
    _live(page, lambda: page.fill("#id_anc", "1.5"), "#id_anc")
    _live(page, lambda: page.fill("#id_platelets", "120"), "#id_platelets")
    _live(page, lambda: page.select_option("#id_extramedullary_disease", "false"))
    # shown live, nothing saved: 60 % -> 20 % is a 66.7 % decrease, with recovered counts
    panel.locator("text=Partial response (PR)").wait_for()
    assert "marrow blasts 20 %, a 66.7 % decrease from 60 % at baseline" in panel.inner_text()

    # the platelets typed again, 40: no response by the criteria, and the reason says why
    _live(page, lambda: page.fill("#id_platelets", "40"), "#id_platelets")
    panel.locator("text=platelets 40 (below 100)").wait_for()
    assert "No response" in panel.inner_text()

    _live(page, lambda: page.select_option("#id_karyotype_done", "false"))
    _live(page, lambda: page.select_option("#id_investigator_response", "PR"))
    panel.locator("text=differs from the derived response").wait_for()
    assert "Partial response (PR)" in panel.locator(".investigator").inner_text()
    _shot(page, "marrow-form-derived-response")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.rstrip("/").endswith(f"/subjects/{treated_subject.pk}")

    page.click("[data-new-log=transfusion]")
    page.fill("#id_transfusion_date", "2026-11-27")
    page.select_option("#id_product", "platelets")
    page.fill("#id_units", "1")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")

    section = page.locator("#course-of-disease")
    text = section.inner_text()
    assert "No response" in text and "platelets 40 (below 100)" in text
    assert "differs; not confirmed" in text
    assert "Transfusion needs" in text
    needs = page.locator("#transfusion-needs").inner_text()
    assert "28 days before the first dose" in needs and "On treatment" in needs
    _shot(page, "casebook-response-and-transfusions")
    assert "True" not in text and "False" not in text and "investigator_response" not in text


def test_the_investigator_confirms_the_assessment_from_the_form(page, cast, treated_subject):
    from trialdesk.assessments.models import ResponseConfirmation
    from trialdesk.crf.services import save_form

    save_form(
        cast.coordinator_nantes,
        treated_subject,
        "marrow_assessment",
        {
            **BASELINE_MARROW,
            "assessment_date": "2026-12-01",
            "marrow_blasts_pct": 20,
            "circulating_blasts_present": False,
            "circulating_blasts_pct": None,
            "anc": 1.5,
            "platelets": 40,
            "karyotype_abnormality_present": False,
            "investigator_response": "PR",
        },
        visit=treated_subject.visits.get(code="M1"),
    )
    sign_in(page, cast.investigator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{treated_subject.pk}/visits/M1/forms/marrow_assessment/")
    page.click("#panel-derived-response a.button")
    page.fill("#id_justification", "Cytolytic response: blasts down by two thirds, marrow aplasia.")
    _shot(page, "confirm-response")
    page.click("#confirm-response-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert ResponseConfirmation.objects.system("test").filter(record__subject=treated_subject).exists()
    text = page.locator("#course-of-disease").inner_text()
    assert "differs; confirmed with a justification" in text
    assert "Partial response (PR)" in page.locator("#course-summary").inner_text()
    assert "Yes: the abnormal baseline karyotype is normal on 2026-12-01" in text
    _shot(page, "casebook-confirmed")


def test_a_french_casebook_shows_the_response_and_its_reason_in_french(page, cast, treated_subject):
    from trialdesk.crf.services import save_form

    save_form(
        cast.coordinator_nantes,
        treated_subject,
        "marrow_assessment",
        {
            **BASELINE_MARROW,
            "assessment_date": "2026-12-01",
            "marrow_blasts_pct": 20,
            "circulating_blasts_present": False,
            "circulating_blasts_pct": None,
            "anc": 1.5,
            "platelets": 120,
            "investigator_response": "PR",
        },
        visit=treated_subject.visits.get(code="M1"),
    )
    sign_in(page, cast.coordinator_nantes.username, PASSWORD)
    page.goto(f"/subjects/{treated_subject.pk}/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "fr")
    page.wait_for_load_state("networkidle")
    text = page.locator("#course-of-disease").inner_text()
    assert "Réponse partielle (RP)" in text
    assert "blastes médullaires 20 %, une baisse de 66,7 % par rapport à 60 % à l'inclusion" in text
    assert "Besoins transfusionnels" in text
    page.locator("#course-of-disease").scroll_into_view_if_needed()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#course-of-disease").screenshot(path=str(SHOTS / "casebook-fr.png"))
