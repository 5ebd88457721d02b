"""An infusion draws on the site's stock: an unknown lot, a lot expired on the infusion date,
a lot not yet received, or more vials than the lot holds is refused on the lot field, and
nothing is saved."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import PASSWORD
from tests.pharmacy.conftest import EXPIRES_ON, LOT, RECEIVED_ON, give, infusion

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import FormInvalid
from trialdesk.pharmacy.services import record_shipment


def infusions_of(subject):
    return FormRecord.objects.system("test").filter(subject=subject, form_code="infusion")


def refusal(user, subject, data) -> str:
    before = AuditEvent.objects.count()
    with pytest.raises(FormInvalid) as refused:
        give(user, subject, data)
    assert not infusions_of(subject).exists(), "nothing is saved"
    assert AuditEvent.objects.count() == before
    (message,) = refused.value.validation.errors["lot_number"]
    return message


def test_it_refuses_a_lot_never_received_at_the_site(cast, stock, enrolled_subject):
    message = refusal(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", lot="Z999"))
    assert message == "Lot Z999 was never received at this site: check the number on the vial."


def test_it_refuses_a_lot_received_at_another_site_only(cast, study, enrolled_subject):
    record_shipment(
        cast.investigator_rennes,
        study.sites.get(code="RNS"),
        lot_number="R1",
        vials=10,
        expires_on=EXPIRES_ON,
        received_on=RECEIVED_ON,
    )
    message = refusal(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", lot="R1"))
    assert "never received at this site" in message


def test_a_lot_is_usable_on_its_expiry_date(cast, stock, enrolled_subject):
    give(cast.coordinator_nantes, enrolled_subject, infusion(EXPIRES_ON.isoformat()))
    assert infusions_of(enrolled_subject).count() == 1


def test_it_refuses_a_lot_expired_the_day_before_the_infusion(cast, stock, enrolled_subject):
    day = EXPIRES_ON + dt.timedelta(days=1)
    message = refusal(cast.coordinator_nantes, enrolled_subject, infusion(day.isoformat()))
    assert message.startswith(f"Lot {LOT} expired on ") and "cannot be used" in message


def test_it_refuses_a_lot_received_after_the_infusion(cast, stock, enrolled_subject):
    day = RECEIVED_ON - dt.timedelta(days=1)
    message = refusal(cast.coordinator_nantes, enrolled_subject, infusion(day.isoformat()))
    assert "after this date" in message


def test_a_lot_without_a_number_of_vials_is_refused_on_the_vials(cast, stock, enrolled_subject):
    with pytest.raises(FormInvalid) as refused:
        give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=None))
    assert refused.value.validation.errors["vials_used"] == ["Give the number of vials (at least 1)."]


def test_an_infusion_without_a_lot_draws_on_no_stock(cast, enrolled_subject):
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", lot=None, vials=None))
    assert infusions_of(enrolled_subject).count() == 1


def test_correcting_another_field_of_an_infusion_on_a_lot_now_used_up_is_not_refused(
    cast, site, stock, enrolled_subject
):
    from trialdesk.pharmacy.services import record_disposal

    entry = give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=2))
    record_disposal(
        cast.coordinator_nantes,
        site,
        lot_number=LOT,
        kind="returned",
        vials=18,
        on=dt.date(2026, 11, 25),
        reason="Recalled",
    )
    give(
        cast.coordinator_nantes,
        enrolled_subject,
        infusion("2026-11-24", vials=2, infusion_minutes=45),
        repeat=entry.repeat,
        expected_version=entry.version,
        reason="transcription_error",
    )
    assert infusions_of(enrolled_subject).get().data["infusion_minutes"] == 45


def test_the_form_page_shows_the_refusal_on_the_lot_field_in_the_users_language(
    client, cast, stock, enrolled_subject
):
    from django.conf import settings

    client.login(username="coord.nantes", password=PASSWORD)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    post = {
        k: ("true" if v is True else "false" if v is False else v) for k, v in infusion("2026-12-01").items()
    }
    response = client.post(f"/subjects/{enrolled_subject.pk}/logs/infusion/new/", post)
    page = response.content.decode()
    assert response.status_code == 400
    lot_field = page[page.index('id="field-lot_number"') : page.index('id="field-vials_used"')]
    assert f"Le lot {LOT} est périmé depuis le" in lot_field and f">{LOT}</textarea>" in lot_field
    assert not infusions_of(enrolled_subject).exists()
