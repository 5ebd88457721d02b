"""Shared fixtures of drug accountability: a lot in stock at Nantes, an infusion drawing on it."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.crf.services import save_form
from trialdesk.pharmacy.services import record_shipment

LOT = "T1001"
RECEIVED_ON = dt.date(2026, 11, 1)
EXPIRES_ON = dt.date(2026, 11, 30)
VIALS = 20


@pytest.fixture
def stock(cast, site):
    """20 vials of lot T1001 received at Nantes on 1 November 2026, expiring on 30 November 2026."""
    return record_shipment(
        cast.coordinator_nantes,
        site,
        lot_number=LOT,
        vials=VIALS,
        expires_on=EXPIRES_ON,
        received_on=RECEIVED_ON,
    )


def infusion(
    day: str, *, lot: str | None = LOT, vials: int | None = 2, weight: float = 70, **changes
) -> dict:
    """An infusion's data (a maintenance dose of 2 mg/kg) drawing ``vials`` vials of ``lot``."""
    data = {
        "infusion_date": day,
        "weight_kg": weight,
        "loading": False,
        "dose_mg_per_kg": 2,
        "prescribed_dose_mg": round(2 * weight, 1),
        "administered_dose_mg": round(2 * weight, 1),
        "infusion_reaction": False,
    }
    if lot is not None:
        data["lot_number"] = lot
    if vials is not None:
        data["vials_used"] = vials
    data.update(changes)
    return data


def give(user, subject, data, **kwargs):
    return save_form(user, subject, "infusion", data, **kwargs).record
