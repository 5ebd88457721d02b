"""The simulated demo cohort's snapshot (pure), and the official ODM 1.3.2 schema."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from trialdesk.protocol import load_default_protocol
from trialdesk.simulate import simulate_cohort
from trialdesk.snapshot.from_simulation import snapshot_from_simulation
from trialdesk.snapshot.model import held

ODM_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "standards" / "odm132" / "ODM1-3-2.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture(scope="session")
def protocol():
    return load_default_protocol()


@pytest.fixture(scope="session")
def snapshot(protocol):
    """The seeded cohort, its first subject's first log entry voided (entered in error)."""
    cohort = simulate_cohort(protocol, seed=2012)
    snap = snapshot_from_simulation(cohort, protocol, protocol_sha256="ab" * 32).materialise()
    subjects = list(snap.subjects())
    first = subjects[0]
    log_index = next(i for i, r in enumerate(first.records) if r.visit is None)
    records = list(first.records)
    records[log_index] = replace(records[log_index], voided=True)
    subjects[0] = replace(first, records=tuple(records))
    return replace(snap, subject_source=held(subjects))


@pytest.fixture(scope="session")
def odm_schema():
    if not ODM_SCHEMA.is_file():
        pytest.fail(f"the official ODM 1.3.2 schema is missing: {ODM_SCHEMA}")
    return etree.XMLSchema(etree.parse(str(ODM_SCHEMA)))


def odm_bytes(snapshot, protocol, **kwargs) -> bytes:
    from trialdesk.exchange.odm import write_odm

    out = io.BytesIO()
    write_odm(snapshot, protocol, out, **kwargs)
    return out.getvalue()
