from __future__ import annotations

import pytest

from trialdesk.protocol import load_default_protocol
from trialdesk.simulate import simulate_cohort


@pytest.fixture(scope="session")
def protocol():
    return load_default_protocol()


@pytest.fixture(scope="session")
def cohort(protocol):
    return simulate_cohort(protocol, seed=2012)
