"""Issue 2, done when: an investigator at Nantes sees the Nantes subjects and no one else's,
and every form of the protocol can be filled and saved in the browser."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.browser.conftest import sign_in
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD

from trialdesk.crf.models import FormRecord, FormStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _example_records(protocol):
    """One valid record of each form, from the seeded simulated cohort."""
    from trialdesk.simulate import simulate_cohort

    examples = {}
    for subject in simulate_cohort(protocol, seed=2012).subjects:
        for record in subject.records:
            examples.setdefault(record.form_code, _dated_after_consent(record.data))
    return examples


def _dated_after_consent(data: dict) -> dict:
    """The record moved in time, all its dates by the same number of days, to start the day
    after the fixture's consent (2026-11-19): an adverse event before consent is refused."""
    dates = [v for v in data.values() if isinstance(v, dt.date)]
    if not dates:
        return data
    shift = dt.date(2026, 11, 20) - min(dates)
    return {k: (v + shift if isinstance(v, dt.date) else v) for k, v in data.items()}


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _fill(page, form, data: dict) -> None:
    # a CTCAE term's MedDRA code and SOC have no input: the save fills them from the list
    filled = {c for f in form.fields if f.ctcae for c in (f.ctcae.meddra_field, f.ctcae.soc_field) if c}
    for field in form.fields:
        if field.code not in data or data[field.code] is None or field.code in filled:
            continue
        selector = f"#id_{field.code}"
        if field.type in ("choice", "boolean"):
            page.select_option(selector, _as_text(data[field.code]))
            page.wait_for_load_state("networkidle")  # a condition may re-render the fields
        else:
            page.fill(selector, _as_text(data[field.code]))


def _stock_the_lots_of(protocol, examples: dict, cast, site) -> None:
    """The example doses draw on lots of the simulated supply: the site receives them first
    (an unknown lot is refused at save, as the pharmacy would refuse it)."""
    from trialdesk.pharmacy.services import record_shipment
    from trialdesk.protocol.values import as_date

    for form in protocol.forms:
        lot_field = protocol.concept_field("dose_lot", form.code)
        date_field = protocol.concept_field("dose_date", form.code)
        if lot_field is None or not examples.get(form.code, {}).get(lot_field):
            continue
        day = as_date(examples[form.code][date_field])
        record_shipment(
            cast.coordinator_nantes,
            site,
            lot_number=examples[form.code][lot_field],
            vials=40,
            expires_on=day + dt.timedelta(days=365),
            received_on=day - dt.timedelta(days=7),
        )


def test_the_nantes_investigator_sees_only_nantes_subjects(page, cast, enrolled_subject, study):
    from trialdesk.subjects.services import register_screening

    rennes = study.sites.get(code="RNS")
    foreign = register_screening(
        cast.investigator_rennes, rennes, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    sign_in(page, "inv.nantes", PASSWORD)
    assert page.locator("a", has_text="RNS").count() == 0
    assert page.url.endswith("/studies/NCT00724360/")  # signing in leads to the study's own address
    page.click('a[href$="/sites/NTE/"]')
    assert page.locator("#subjects").inner_text().count("NTE-") >= 1
    assert foreign.screening_number not in page.content()
    response = page.goto(f"/subjects/{foreign.pk}/")
    assert response.status == 404


def test_every_form_of_the_protocol_can_be_filled_and_saved_in_the_browser(
    page, cast, study, enrolled_subject
):
    protocol = study.protocol
    examples = _example_records(protocol)
    _stock_the_lots_of(protocol, examples, cast, enrolled_subject.site)
    sign_in(page, "inv.nantes", PASSWORD)
    visit_of_form = {}
    for visit in enrolled_subject.visits.order_by("sequence"):
        for form_code in protocol.schedule.visit(visit.code).forms:
            visit_of_form.setdefault(form_code, visit.code)
    saved = []
    for form in protocol.forms:
        if form.code == protocol.eligibility.form:
            continue  # filled at screening by the fixture; its page is covered by the web tests
        page.goto(f"/subjects/{enrolled_subject.pk}/")
        if form.code in protocol.schedule.log_forms:
            page.click(f"[data-new-log={form.code}]")
        else:
            page.click(f"[data-form={form.code}][data-visit={visit_of_form[form.code]}]")
        _fill(page, form, examples[form.code])
        page.click("form.crf button.primary")  # the form's Save, not a panel's button (the dose's validation)
        page.wait_for_load_state("networkidle")
        assert "/subjects/" in page.url and "forms" not in page.url and "logs" not in page.url, (
            f"{form.code} was not saved: {page.locator('.error').all_inner_texts()}"
        )
        saved.append(form.code)
    records = (
        FormRecord.objects.system("test")
        .filter(subject=enrolled_subject)
        .exclude(form_code=protocol.eligibility.form)
    )
    assert sorted(records.values_list("form_code", flat=True)) == sorted(saved)
    assert all(r.status == FormStatus.COMPLETE for r in records), [(r.form_code, r.status) for r in records]


def test_a_typing_mistake_is_shown_next_to_the_field_and_the_input_kept(page, cast, study, screened_subject):
    sign_in(page, "inv.nantes", PASSWORD)
    page.goto(f"/subjects/{screened_subject.pk}/visits/SCR/forms/screening/")
    page.fill("#id_marrow_blasts_pct", "140")
    page.select_option("#id__reason", "transcription_error")
    page.click("button.primary")
    field = page.locator("[data-field=marrow_blasts_pct]")
    assert "Must be at most 100" in field.inner_text()
    assert page.input_value("#id_marrow_blasts_pct") == "140"
    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    assert record.data["marrow_blasts_pct"] == ELIGIBLE_SCREENING["marrow_blasts_pct"]
