"""The database's snapshot carries the investigator's response confirmations of the demo as the
simulator made them, scoped like the records they confirm."""

from __future__ import annotations

from tests.datacut.conftest import DEMO_SEED, user

from trialdesk.datacut import build_snapshot
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation


def _confirmations(snapshot):
    return {s.screening_number: s.confirmations for s in snapshot.subjects() if s.confirmations}


def test_the_database_snapshot_holds_the_confirmations_the_simulator_made(demo_study):
    cohort = simulate_cohort(demo_study.protocol, seed=DEMO_SEED)
    simulated = snapshot_from_simulation(
        cohort, demo_study.protocol, protocol_sha256=demo_study.protocol_sha256
    )
    database = _confirmations(build_snapshot(demo_study))
    assert database == _confirmations(simulated) and len(database) == 1


def test_an_investigator_sees_only_the_confirmations_of_their_sites(demo_study):
    (number,) = _confirmations(build_snapshot(demo_study))
    site = number.split("-")[0]
    others = [
        u
        for u in ("investigator.nantes", "investigator.rennes")
        if not u.endswith({"NTE": "nantes", "RNS": "rennes"}.get(site, "-"))
    ]
    for username in others:
        assert _confirmations(build_snapshot(demo_study, viewer=user(username))) == {}
