"""The balance of a lot and of a site: received − dispensed − returned − destroyed, never below
zero (ICH E6 4.6); a movement that would make it negative is refused with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from tests.pharmacy.conftest import EXPIRES_ON, LOT, RECEIVED_ON, VIALS, give, infusion

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.services import FormInvalid, void_record
from trialdesk.pharmacy.accountability import accountability_data
from trialdesk.pharmacy.models import Disposal, Shipment
from trialdesk.pharmacy.services import SupplyRefused, record_disposal, record_shipment


def balance_of(site, lot=LOT):
    (data,) = accountability_data(site.study, [site.pk])
    return {row.lot: row for row in data.lots}[lot]


def test_the_balance_is_received_minus_dispensed_returned_and_destroyed(cast, site, stock, enrolled_subject):
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=2))
    record_disposal(
        cast.coordinator_nantes,
        site,
        lot_number=LOT,
        kind="returned",
        vials=3,
        on=dt.date(2026, 11, 25),
        reason="Recalled by the sponsor",
    )
    record_disposal(
        cast.coordinator_nantes,
        site,
        lot_number=LOT,
        kind="destroyed",
        vials=1,
        on=dt.date(2026, 11, 26),
        reason="Vial broken",
    )
    lot = balance_of(site)
    assert (lot.received, lot.dispensed, lot.returned, lot.destroyed) == (VIALS, 2, 3, 1)
    assert lot.balance == VIALS - 2 - 3 - 1 == 14


def test_a_second_shipment_of_the_same_lot_adds_to_its_stock(cast, site, stock):
    record_shipment(
        cast.investigator_nantes,
        site,
        lot_number=LOT,
        vials=5,
        expires_on=EXPIRES_ON,
        received_on=dt.date(2026, 11, 10),
    )
    assert balance_of(site).received == VIALS + 5


def test_it_refuses_a_destruction_of_more_vials_than_the_lot_holds_and_writes_nothing(cast, site, stock):
    before = AuditEvent.objects.count()
    with pytest.raises(SupplyRefused) as refused:
        record_disposal(
            cast.coordinator_nantes,
            site,
            lot_number=LOT,
            kind="destroyed",
            vials=VIALS + 1,
            on=dt.date(2026, 11, 25),
            reason="Expired",
        )
    assert refused.value.field == "vials" and "cannot go below zero" in refused.value.message
    assert not Disposal.objects.system("test").exists()
    assert AuditEvent.objects.count() == before
    assert balance_of(site).balance == VIALS


def test_a_destruction_of_exactly_the_balance_leaves_zero(cast, site, stock):
    record_disposal(
        cast.coordinator_nantes,
        site,
        lot_number=LOT,
        kind="destroyed",
        vials=VIALS,
        on=dt.date(2026, 11, 25),
        reason="Expired",
    )
    assert balance_of(site).balance == 0


def test_it_refuses_an_infusion_of_more_vials_than_the_lot_has_left(cast, site, stock, enrolled_subject):
    record_disposal(
        cast.coordinator_nantes,
        site,
        lot_number=LOT,
        kind="returned",
        vials=VIALS - 2,
        on=dt.date(2026, 11, 20),
        reason="Sent back",
    )
    with pytest.raises(FormInvalid) as refused:
        give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=3))
    assert "2 vials left" in refused.value.validation.errors["lot_number"][0]
    assert not enrolled_subject.form_records.system("test").filter(form_code="infusion").exists()
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=2))  # exactly what is left
    assert balance_of(site).balance == 0


def test_a_return_that_would_overdraw_a_lot_drawn_on_by_infusions_is_refused(
    cast, site, stock, enrolled_subject
):
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=4))
    with pytest.raises(SupplyRefused):
        record_disposal(
            cast.coordinator_nantes,
            site,
            lot_number=LOT,
            kind="returned",
            vials=VIALS - 3,
            on=dt.date(2026, 11, 25),
            reason="End of study",
        )


def test_a_voided_infusion_gives_its_vials_back(cast, site, stock, enrolled_subject):
    entry = give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=3))
    assert balance_of(site).balance == VIALS - 3
    void_record(cast.coordinator_nantes, entry, "Entered on the wrong patient")
    assert balance_of(site).balance == VIALS


def test_correcting_the_vials_of_an_infusion_counts_only_the_new_number(cast, site, stock, enrolled_subject):
    entry = give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=3))
    give(
        cast.coordinator_nantes,
        enrolled_subject,
        infusion("2026-11-24", vials=VIALS),
        repeat=entry.repeat,
        expected_version=entry.version,
        reason="transcription_error",
    )
    assert balance_of(site).balance == 0


def test_a_shipment_is_audited_with_who_what_and_when(cast, site, stock):
    event = AuditEvent.objects.get(object_type="drug_shipment", object_id=str(stock.pk))
    assert event.username == "coord.nantes" and event.role == "coordinator" and event.site_code == "NTE"
    assert event.new_value["lot_number"] == LOT and event.new_value["vials"] == VIALS
    assert event.new_value["expires_on"] == EXPIRES_ON.isoformat()


def test_it_refuses_a_lot_received_already_expired(cast, site):
    with pytest.raises(SupplyRefused) as refused:
        record_shipment(
            cast.coordinator_nantes,
            site,
            lot_number="X1",
            vials=5,
            expires_on=RECEIVED_ON - dt.timedelta(days=1),
            received_on=RECEIVED_ON,
        )
    assert refused.value.field == "expires_on"
    # expiring on the day it arrives: still usable that day
    record_shipment(
        cast.coordinator_nantes,
        site,
        lot_number="X1",
        vials=5,
        expires_on=RECEIVED_ON,
        received_on=RECEIVED_ON,
    )


def test_it_refuses_a_shipment_dated_in_the_future_at_the_site(cast, site):
    with pytest.raises(SupplyRefused) as refused:
        record_shipment(
            cast.coordinator_nantes,
            site,
            lot_number="X2",
            vials=5,
            expires_on=dt.date(2099, 1, 1),
            received_on=dt.date(2099, 1, 1) - dt.timedelta(days=30),
        )
    assert refused.value.field == "received_on"
    assert not Shipment.objects.system("test").filter(lot_number="X2").exists()


def test_it_refuses_a_second_expiry_date_for_a_lot_in_stock(cast, site, stock):
    with pytest.raises(SupplyRefused) as refused:
        record_shipment(
            cast.coordinator_nantes,
            site,
            lot_number=LOT,
            vials=5,
            expires_on=dt.date(2027, 1, 31),
            received_on=dt.date(2026, 11, 10),
        )
    assert refused.value.field == "expires_on"


def test_a_monitor_cannot_record_a_shipment(cast, site):
    with pytest.raises(PermissionDenied):
        record_shipment(
            cast.monitor,
            site,
            lot_number="X3",
            vials=5,
            expires_on=dt.date(2027, 1, 1),
            received_on=RECEIVED_ON,
        )


def test_a_shipment_at_another_site_is_not_found(cast, site):
    with pytest.raises(Http404):
        record_shipment(
            cast.investigator_rennes,
            site,
            lot_number="X4",
            vials=5,
            expires_on=dt.date(2027, 1, 1),
            received_on=RECEIVED_ON,
        )


def test_lots_of_one_site_are_not_the_stock_of_another(cast, study, stock):
    rennes = study.sites.get(code="RNS")
    with pytest.raises(SupplyRefused) as refused:
        record_disposal(
            cast.investigator_rennes,
            rennes,
            lot_number=LOT,
            kind="destroyed",
            vials=1,
            on=dt.date(2026, 11, 25),
            reason="Expired",
        )
    assert "never received at this site" in refused.value.message
