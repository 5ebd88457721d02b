"""A subject of Nantes, enrolled (tests.conftest), and helpers to prescribe and give its doses.

Dose numbers: the trastuzumab label as the protocol states it — 4 mg/kg loading, 2 mg/kg
weekly; a new loading dose more than 14 days after the last; a dose more than 10 % away
from the prescription is a deviation; 150 mg vials (operational).
"""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import PASSWORD

FIRST = dt.date(2026, 11, 26)


def day(offset: int) -> dt.date:
    return FIRST + dt.timedelta(days=offset)


@pytest.fixture
def prescribe(cast):
    from trialdesk.treatment.services import validate_prescription

    def _prescribe(subject, on, weight, user=None, record=None):
        return validate_prescription(
            user or cast.investigator_nantes, subject, on=on, weight_kg=weight, record=record
        )

    return _prescribe


@pytest.fixture
def give(cast):
    """The nurse records what was given on the infusion of a prescription."""
    from trialdesk.crf.services import save_form

    def _give(prescription, *, given=None, user=None, reason=None, **changes):
        rec = prescription.record
        rec.refresh_from_db()
        data = {
            **rec.data,
            "administered_dose_mg": prescription.dose_mg if given is None else given,
            "infusion_reaction": False,
            **changes,
        }
        data = {k: v for k, v in data.items() if v is not None}
        return save_form(
            user or cast.coordinator_nantes,
            rec.subject,
            rec.form_code,
            data,
            repeat=rec.repeat,
            expected_version=rec.version,
            reason=reason,
            reason_detail="correction" if reason == "other" else "",
        ).record

    return _give


@pytest.fixture
def login(client, cast):
    def as_(role: str):
        client.login(username=getattr(cast, role).username, password=PASSWORD)
        return client

    return as_
