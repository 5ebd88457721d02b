"""A lock holds on every path that changes a subject, not only on form saves."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.audit.models import AuditEvent
from trialdesk.locks.services import lock
from trialdesk.subjects.models import SubjectStatus
from trialdesk.subjects.services import (
    SubjectActionRefused,
    enroll,
    record_screen_failure,
    record_visit_dates,
)


@pytest.mark.parametrize("level", ["subject", "site", "study"])
def test_a_locked_screening_episode_can_be_neither_enrolled_nor_failed(cast, screened_subject, level):
    target = {"subject": screened_subject, "site": screened_subject.site, "study": screened_subject.study}[level]
    lock(cast.data_manager, target, reason="database lock for the interim analysis")
    before = AuditEvent.objects.count()
    with pytest.raises(SubjectActionRefused, match="locked"):
        enroll(cast.investigator_nantes, screened_subject, consent_date=dt.date(2026, 11, 19),
               enrolled_on=dt.date(2026, 11, 24), today=dt.date(2026, 11, 25))
    with pytest.raises(SubjectActionRefused, match="locked"):
        record_screen_failure(cast.investigator_nantes, screened_subject, reason="consent withdrawn")
    screened_subject.refresh_from_db()
    assert screened_subject.status == SubjectStatus.SCREENING
    assert AuditEvent.objects.count() == before


def test_visit_dates_of_a_locked_subject_cannot_change(cast, enrolled_subject):
    lock(cast.data_manager, enrolled_subject, reason="casebook frozen")
    visit = enrolled_subject.visits.get(code="M1")
    with pytest.raises(SubjectActionRefused, match="locked"):
        record_visit_dates(cast.investigator_nantes, visit, planned_date=visit.planned_date,
                           actual_date=dt.date(2026, 12, 20))
    visit.refresh_from_db()
    assert visit.actual_date is None
