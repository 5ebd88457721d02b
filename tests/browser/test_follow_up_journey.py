"""A coordinator records a follow-up call that reports the death, then a transfusion dated
the day after it: the death's fields appear as "Dead" is chosen, the transfusion is saved
with the warning that it follows the death; a platelet count outside the physiological
range is saved with its warning, one outside the possible range is refused in French."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

from trialdesk.crf.models import FormRecord
from trialdesk.protocol.crossrecord import AFTER_DEATH
from trialdesk.protocol.formdata import range_code
from trialdesk.queries.models import Query

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/follow-up")


def _typed(page, selector: str, value: str) -> None:
    """A value the derived-response panel reads: typed, left, and the panel's preview (htmx,
    nothing saved) awaited, so that the save never runs beside it on the test's one SQLite
    connection (a save beside a preview failed there: "cannot start a transaction within a
    transaction"). ``networkidle`` does not wait for it: that state is the page load's."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.fill(selector, value)
        page.locator(selector).blur()


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_death_at_follow_up_and_a_transfusion_the_day_after_it(page, cast, enrolled_subject):
    sign_in(page, "coord.nantes", PASSWORD)
    page.goto(f"/subjects/{enrolled_subject.pk}/visits/FU1/forms/follow_up/")
    page.fill("#id_contact_date", "2026-11-25")
    page.select_option("#id_vital_status", "dead")
    page.wait_for_selector("#id_death_date")
    assert page.locator("#id_last_known_alive_date").count() == 0  # it applies to a living patient only
    page.fill("#id_death_date", "2026-11-24")
    page.select_option("#id_death_cause", "leukemia")
    page.select_option("#id_new_treatment", "false")
    _shot(page, "follow_up_dead")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")
    _shot(page, "follow_up_saved")
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="follow_up")
    assert record.data["death_date"] == "2026-11-24"

    page.goto(f"/subjects/{enrolled_subject.pk}/logs/transfusion/new/")
    page.fill("#id_transfusion_date", "2026-11-25")
    page.select_option("#id_product", "red_cells")
    page.fill("#id_units", "2")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")
    _shot(page, "transfusion_after_death")
    assert "after the death of the patient on 2026-11-24" in page.locator(".messages").inner_text()
    transfusion = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="transfusion")
    assert Query.objects.system("test").filter(record=transfusion, check_code=AFTER_DEATH).count() == 1


def test_platelets_out_of_the_expected_range_are_saved_and_out_of_the_possible_range_refused(
    browser, live_server, cast, enrolled_subject
):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    sign_in(page, "coord.nantes", PASSWORD)
    url = f"/subjects/{enrolled_subject.pk}/visits/M1/forms/marrow_assessment/"
    page.goto(url)
    _typed(page, "#id_assessment_date", "2026-12-20")
    _typed(page, "#id_marrow_blasts_pct", "40")
    _typed(page, "#id_anc", "0.8")
    _typed(page, "#id_platelets", "2500")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")
    _shot(page, "platelets_impossible_fr")
    assert "Doit être au plus 2000 10^9/L." in page.content()
    assert (
        not FormRecord.objects.system("test")
        .filter(subject=enrolled_subject, form_code="marrow_assessment")
        .exists()
    )

    _typed(page, "#id_platelets", "1500")
    page.click("form.crf button[type=submit]")
    page.wait_for_load_state("networkidle")
    _shot(page, "platelets_unusual_fr")
    assert "est hors de l'intervalle attendu (2–1000 10^9/L)" in page.locator(".messages").inner_text()
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="marrow_assessment")
    assert record.data["platelets"] == 1500
    assert Query.objects.system("test").filter(record=record, check_code=range_code("platelets")).count() == 1
    context.close()
