"""A patient of Nantes with a baseline marrow (screening) and the month-1 visit to come.

Response criteria: ASH for ALL, BBMT 2010;16:1187, Table 4a (the protocol's
response_criteria): CR < 5 % blasts, ANC >= 1.0, platelets >= 100 x 10^9/L; PR 5-25 %
blasts and a decrease >= 50 % from baseline with the blood counts of a CR.
"""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

BASELINE_MARROW = {
    "assessment_date": "2026-11-20",
    "marrow_blasts_pct": 60,
    "circulating_blasts_present": True,
    "circulating_blasts_pct": 12,
    "anc": 0.4,
    "platelets": 20,
    "extramedullary_disease": False,
    "her2_positive_blasts_pct": 45,
    "karyotype_done": True,
    "karyotype_abnormality_present": True,
    "investigator_response": "not_applicable",
}

#: month 1: blasts 60 -> 20 % (-67 %), ANC 1.5 but platelets 40: NR by the criteria
CYTOLYTIC_MARROW = {
    "assessment_date": "2026-11-30",
    "marrow_blasts_pct": 20,
    "circulating_blasts_present": False,
    "anc": 1.5,
    "platelets": 40,
    "extramedullary_disease": False,
    "her2_positive_blasts_pct": 30,
    "karyotype_done": True,
    "karyotype_abnormality_present": False,
    "investigator_response": "PR",
}


@pytest.fixture
def marrow_subject(cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(BASELINE_MARROW),
        visit=enrolled_subject.visits.get(code="SCR"),
    )
    return enrolled_subject


@pytest.fixture
def month_marrow(cast, marrow_subject):
    """The month-1 marrow saved: the investigator says PR, the criteria say NR."""
    from trialdesk.crf.services import save_form

    outcome = save_form(
        cast.coordinator_nantes,
        marrow_subject,
        "marrow_assessment",
        dict(CYTOLYTIC_MARROW),
        visit=marrow_subject.visits.get(code="M1"),
    )
    return outcome.record


def login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client
