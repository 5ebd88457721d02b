"""The simulator's snapshot (pure): every simulated subject, visit and record, data as JSON values."""

from __future__ import annotations

import json

import pytest

from trialdesk.protocol import load_default_protocol
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation


@pytest.fixture(scope="module")
def simulated():
    protocol = load_default_protocol()
    cohort = simulate_cohort(protocol, seed=2012)
    return cohort, snapshot_from_simulation(cohort, protocol, protocol_sha256="ab" * 32)


def test_the_simulator_snapshot_holds_every_simulated_subject_visit_and_record(simulated):
    cohort, snapshot = simulated
    subjects = list(snapshot.subjects())
    assert [s.screening_number for s in subjects] == [s.screening_number for s in cohort.subjects]
    for made, source in zip(subjects, cohort.subjects, strict=True):
        assert [v.code for v in made.visits] == [v.code for v in source.visits]
        assert [(r.form, r.visit, r.repeat) for r in made.records] == [
            (r.form_code, r.visit_code, r.repeat) for r in source.records
        ]
        assert made.status == source.status and made.enrolled_on == source.enrolled_on
    assert sum(1 for s in subjects if s.subject_code) == 15


def test_the_simulator_snapshot_holds_its_data_as_json_values(simulated):
    _, snapshot = simulated
    for subject in snapshot.subjects():
        for record in subject.records:
            assert json.loads(json.dumps(record.data)) == record.data
            assert record.status is None and record.version is None and not record.voided


def test_the_simulator_snapshot_names_the_protocol_and_its_sites(simulated):
    cohort, snapshot = simulated
    assert snapshot.study.nct_id == "NCT00724360" and snapshot.protocol_sha256 == "ab" * 32
    assert {s.code: s.activated_on for s in snapshot.sites} == cohort.site_activation
