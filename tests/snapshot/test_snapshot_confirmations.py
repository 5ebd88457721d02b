"""The investigator's response confirmations in the snapshot: made by the simulator as the shell
records them, and kept by the data-cut file."""

from __future__ import annotations

import pytest

from trialdesk.protocol import load_default_protocol
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot import ConfirmationSnapshot, read_datacut, write_datacut
from trialdesk.snapshot.from_simulation import snapshot_from_simulation


@pytest.fixture(scope="module")
def snapshot():
    protocol = load_default_protocol()
    return snapshot_from_simulation(simulate_cohort(protocol, seed=2012), protocol, protocol_sha256="ab" * 32)


def test_the_simulator_records_the_confirmed_cytolytic_partial_response(snapshot):
    # DESIGN §4: the investigator's PR the criteria alone do not name, confirmed against them
    confirmed = [(s.label, c) for s in snapshot.subjects() for c in s.confirmations]
    assert len({label for label, _ in confirmed}) == 1 and confirmed  # one patient, each of their marrows
    for label, confirmation in confirmed:
        assert confirmation.category == "PR" and confirmation.derived_category != "PR"
        subject = next(s for s in snapshot.subjects() if s.label == label)
        assert any(r.ref == confirmation.record for r in subject.records)


def test_a_datacut_file_keeps_the_confirmations(snapshot, tmp_path):
    path = tmp_path / "cut.json"
    write_datacut(snapshot, path)
    back = {s.label: s.confirmations for s in read_datacut(path).subjects()}
    assert back == {s.label: s.confirmations for s in snapshot.subjects()}
    assert all(isinstance(c, ConfirmationSnapshot) for cs in back.values() for c in cs)
