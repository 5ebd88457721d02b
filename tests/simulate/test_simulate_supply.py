"""The simulated study drug: every infusion draws its vials from a lot received at its site,
on or before the dose and not expired on its day; balances never go negative; one lot expires
during the trial, a second shipment arrives before it, and its leftover vials are destroyed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trialdesk.clinical.accountability import Dispensing, Disposal, Receipt, is_expired, lot_balances
from trialdesk.simulate import simulate_cohort

TODAY = dt.date(2026, 12, 2)


def doses(protocol, cohort):
    form = protocol.concept_form("dose_lot")
    for subject in cohort.subjects:
        for record in subject.records_of(form):
            yield (
                subject.site_code,
                (
                    protocol.read_concept("dose_date", form, record.data),
                    protocol.read_concept("dose_lot", form, record.data),
                    protocol.read_concept("dose_vials", form, record.data),
                ),
            )


def check_supply(protocol, cohort) -> None:
    received = {(s.site_code, s.lot): s for s in cohort.shipments}
    for site, (on, lot, vials) in doses(protocol, cohort):
        assert (site, lot) in received, f"{site}: lot {lot} never received there"
        shipment = received[(site, lot)]
        assert shipment.received_on <= on and not is_expired(shipment.expires_on, on), (site, on, lot)
        assert isinstance(vials, int) and vials >= 1
    for site in {s.site_code for s in cohort.shipments}:
        balances = lot_balances(
            [
                Receipt(s.lot, s.received_on, s.vials, s.expires_on)
                for s in cohort.shipments
                if s.site_code == site
            ],
            [
                Dispensing(lot, on, vials)
                for code, (on, lot, vials) in doses(protocol, cohort)
                if code == site
            ],
            [Disposal(d.lot, d.on, d.vials, d.kind) for d in cohort.disposals if d.site_code == site],
        )
        assert all(b.balance >= 0 for b in balances.values()), site


@pytest.fixture(scope="module")
def in_progress(protocol):
    return simulate_cohort(protocol, seed=2012, today=TODAY)


def test_every_simulated_infusion_draws_on_a_lot_received_at_its_site_and_in_date(protocol, in_progress):
    assert sum(1 for _ in doses(protocol, in_progress)) > 50
    check_supply(protocol, in_progress)


def test_every_site_that_treated_received_the_drug(protocol, in_progress):
    treating = {site for site, _ in doses(protocol, in_progress)}
    assert treating == {s.site_code for s in in_progress.shipments}


def test_one_lot_expires_during_the_trial_a_second_arrives_before_it_and_its_leftover_is_destroyed(
    protocol, in_progress
):
    last_dose = {}
    for site, (on, _lot, _vials) in doses(protocol, in_progress):
        last_dose[site] = max(on, last_dose.get(site, on))
    expiring = [s for s in in_progress.shipments if s.expires_on < last_dose[s.site_code]]
    assert len(expiring) == 1
    (first,) = expiring
    replacement = [s for s in in_progress.shipments if s.site_code == first.site_code and s.lot != first.lot]
    assert replacement and replacement[0].received_on <= first.expires_on
    (destroyed,) = in_progress.disposals
    assert destroyed.kind == "destroyed" and destroyed.lot == first.lot and destroyed.on > first.expires_on


def test_nothing_of_the_supply_is_dated_after_today(in_progress):
    dates = [s.received_on for s in in_progress.shipments] + [d.on for d in in_progress.disposals]
    assert max(dates) <= TODAY


def test_the_supply_is_the_same_for_the_same_seed(protocol, in_progress):
    again = simulate_cohort(protocol, seed=2012, today=TODAY)
    assert again.shipments == in_progress.shipments and again.disposals == in_progress.disposals


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_any_seed_gives_a_supply_the_infusion_save_would_accept(protocol, seed):
    check_supply(protocol, simulate_cohort(protocol, seed=seed, today=TODAY))
