"""A subject of Nantes, enrolled, with a baseline LVEF of 62 % (screening form) and helpers
to record the LVEF of a cardiac assessment visit."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

BASELINE_LVEF = 62  # tests.conftest.ELIGIBLE_SCREENING


def lvef_data(value, on="2027-02-15", **extra):
    return {"assessment_date": on, "lvef_pct": value, "method": "echo", "symptoms": False, **extra}


@pytest.fixture
def save_lvef(cast):
    from trialdesk.crf.services import save_form

    def save(subject, value, visit="C1", user=None, version=None, reason=None, **extra):
        return save_form(
            user or cast.investigator_nantes,
            subject,
            "lvef",
            lvef_data(value, **extra),
            visit=subject.visits.get(code=visit),
            expected_version=version,
            reason=reason,
        )

    return save


@pytest.fixture
def login(client, cast):
    def as_(role: str):
        client.login(username=getattr(cast, role).username, password=PASSWORD)
        return client

    return as_
