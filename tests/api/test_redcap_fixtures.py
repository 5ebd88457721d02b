"""Fixtures of the REDCap API tests (imported by test_redcap_*.py): a patient enrolled at
Nantes and one at Rennes, with a visit form and a log entry each, and tokens of the cast."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING

TRANSFUSION = {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2}


@pytest.fixture
def redcap_world(cast, study, enrolled_subject):
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import enroll, register_screening

    nantes = enrolled_subject
    save_form(cast.investigator_nantes, nantes, "transfusion", dict(TRANSFUSION))
    rennes_site = study.sites.get(code="RNS")
    rennes = register_screening(
        cast.investigator_rennes, rennes_site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    save_form(
        cast.investigator_rennes, rennes, "screening", dict(ELIGIBLE_SCREENING), visit=rennes.visits.get()
    )
    rennes = enroll(
        cast.investigator_rennes,
        rennes,
        consent_date=dt.date(2026, 11, 19),
        enrolled_on=dt.date(2026, 11, 24),
        today=dt.date(2026, 11, 25),
    )
    return {"NTE": nantes, "RNS": rennes}


@pytest.fixture
def tokens(cast, study):
    """The raw token of each member of the cast, by the cast's attribute name."""
    from trialdesk.api.tokens import create_token

    names = [
        "investigator_nantes",
        "investigator_rennes",
        "coordinator_nantes",
        "monitor",
        "data_manager",
        "statistician",
        "sponsor",
        "safety_officer",
    ]
    return {name: create_token(getattr(cast, name), study).raw for name in names}
