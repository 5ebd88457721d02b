"""Fixtures of the safety tests: the safety officer, e-mail addresses, adverse events."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import PASSWORD

AE_FORM = "adverse_event"

#: a serious event that needed hospitalisation (ICH E2A), possibly related
SERIOUS_AE = {
    "event_term": "Febrile neutropenia",
    "grade": 3,
    "onset_date": "2026-11-26",
    "ongoing": False,
    "resolution_date": "2026-12-01",
    "serious": True,
    "sae_death": False,
    "sae_life_threatening": False,
    "sae_hospitalisation": True,
    "sae_disability": False,
    "sae_congenital_anomaly": False,
    "sae_medically_important": False,
    "related": "possible",
    "action_taken": "dose_delayed",
    "outcome": "recovered",
}
NON_SERIOUS_AE = {
    "event_term": "Headache",
    "grade": 1,
    "onset_date": "2026-11-26",
    "ongoing": False,
    "resolution_date": "2026-11-27",
    "serious": False,
    "related": "possible",
    "action_taken": "none",
    "outcome": "recovered",
}


@pytest.fixture
def safety_officer(study):
    from django.contrib.auth import get_user_model

    from trialdesk.studies.models import Membership, Role

    user = get_user_model().objects.create_user(
        "safety", password=PASSWORD, email="vigilance@sponsor.example", first_name="Vera", last_name="Vigil"
    )
    Membership.objects.create(user=user, study=study, role=Role.SAFETY_OFFICER)
    return user


@pytest.fixture
def mailboxes(cast, safety_officer):
    """Every user of the cast with an address: who is told of an SAE is read from them."""
    for user in (
        cast.investigator_nantes,
        cast.investigator_rennes,
        cast.coordinator_nantes,
        cast.monitor,
        cast.data_manager,
        cast.statistician,
        cast.sponsor,
    ):
        user.email = f"{user.username}@hospital.example"
        user.save(update_fields=["email"])
    return cast


@pytest.fixture
def save_ae(cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    def save(data=None, user=None, subject=None, repeat=None, **changes):
        values = dict(SERIOUS_AE if data is None else data)
        values.update(changes)
        kwargs = {}
        if repeat is not None:
            from trialdesk.crf.models import FormRecord

            record = FormRecord.objects.system("tests").get(
                subject=subject or enrolled_subject, form_code=AE_FORM, repeat=repeat
            )
            kwargs = {"repeat": repeat, "expected_version": record.version, "reason": "source_updated"}
        return save_form(
            user or cast.investigator_nantes, subject or enrolled_subject, AE_FORM, values, **kwargs
        )

    return save


def report_of(outcome):
    from trialdesk.safety.models import SaeReport

    return SaeReport.objects.system("tests").filter(record=outcome.record).first()


TODAY = dt.date(2026, 12, 2)
