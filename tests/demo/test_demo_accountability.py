"""The demo's drug accountability is not empty: the simulated shipments and destruction are
recorded at their sites, every infusion carries its simulated lot and vials, and each site's
balance is what the simulated supply leaves."""

from __future__ import annotations

import datetime as dt

import pytest

SEED = 2012
TODAY = dt.date(2026, 12, 2)

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def built(demo_builds, django_db_blocker):
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.studies.models import Study

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        with transaction.atomic():
            demo_builds.load(seed=SEED, today=TODAY)
            yield Study.objects.get()
            transaction.set_rollback(True)


@pytest.fixture
def study(built, db):
    return built


@pytest.fixture
def simulated(study):
    from trialdesk.simulate import simulate_cohort

    return simulate_cohort(study.protocol, seed=SEED, today=TODAY)


def test_every_site_that_treated_has_its_shipments_and_a_destruction_is_recorded(study, simulated):
    from trialdesk.pharmacy.models import Disposal, Shipment

    shipments = {(s.site.code, s.lot_number, s.vials, s.expires_on) for s in Shipment.objects.system("test")}
    assert shipments == {(s.site_code, s.lot, s.vials, s.expires_on) for s in simulated.shipments}
    (destroyed,) = Disposal.objects.system("test")
    assert destroyed.kind == "destroyed" and destroyed.vials > 0


def test_the_demos_infusions_carry_the_simulated_lots_and_vials(study, simulated):
    from trialdesk.crf.models import FormRecord

    protocol = study.protocol
    form = protocol.concept_form("dose_lot")
    lot, vials = protocol.concept_field("dose_lot", form), protocol.concept_field("dose_vials", form)
    stored = sorted(
        (r.subject.screening_number, r.repeat, r.data[lot], r.data[vials])
        for r in FormRecord.objects.system("test")
        .filter(subject__study=study, form_code=form)
        .select_related("subject")
    )
    expected = sorted(
        (s.screening_number, r.repeat, r.data[lot], r.data[vials])
        for s in simulated.subjects
        for r in s.records_of(form)
    )
    assert stored == expected and len(stored) > 50


def test_each_sites_balance_is_what_the_simulated_supply_leaves(study, simulated):
    from trialdesk.pharmacy.accountability import accountability_data

    protocol = study.protocol
    form = protocol.concept_form("dose_lot")
    for site in accountability_data(study):
        received = sum(s.vials for s in simulated.shipments if s.site_code == site.site_code)
        destroyed = sum(d.vials for d in simulated.disposals if d.site_code == site.site_code)
        dispensed = sum(
            protocol.read_concept("dose_vials", form, r.data)
            for s in simulated.subjects
            if s.site_code == site.site_code
            for r in s.records_of(form)
        )
        assert site.balance == received - dispensed - destroyed >= 0, site.site_code
        assert all(lot.balance >= 0 for lot in site.lots)
    assert sum(site.balance for site in accountability_data(study)) > 0
