"""Two subjects screened, one at Nantes and one at Rennes, through the audited services."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING


@pytest.fixture
def trial(cast, study):
    return screen_one_subject_per_site(cast, study)


def screen_one_subject_per_site(cast, study):
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    for site_code, investigator, day in (
        ("NTE", cast.investigator_nantes, 20),
        ("RNS", cast.investigator_rennes, 22),
    ):
        subject = register_screening(
            investigator,
            study.sites.get(code=site_code),
            screened_on=dt.date(2026, 11, day),
            sex="M",
            year_of_birth=1964,
            today=dt.date(2026, 11, 25),
        )
        save_form(investigator, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get())
    return study


def export_events():
    from trialdesk.audit.models import AuditEvent

    return list(AuditEvent.objects.filter(action="export", object_type__startswith="export.").order_by("pk"))
