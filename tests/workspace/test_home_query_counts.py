"""Each role's home counts in SQL: the same number of queries for a small and a larger cohort."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING
from tests.safety.conftest import SERIOUS_AE
from tests.workspace.conftest import HOME

from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.queries.models import Query, QueryOrigin, QueryStatus
from trialdesk.safety.models import SaeReport
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

STATUSES = [
    SubjectStatus.SCREENING,
    SubjectStatus.ENROLLED,
    SubjectStatus.SCREEN_FAILED,
    SubjectStatus.ENROLLED,
]
NOW = dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)


def _cohort(study, monitor, upto: int) -> None:
    """Subjects up to ``upto`` at Nantes and Rennes (written directly, a fixture): each with a
    complete screening form; the enrolled ones with a planned first dose (the calendar has
    work for them), an incomplete log entry and, every other one, a serious adverse event;
    every third subject with an open system query and an old manual one."""
    sites = [study.sites.get(code="NTE"), study.sites.get(code="RNS")]
    for n in range(Subject.objects.system("test").filter(study=study).count(), upto):
        status = STATUSES[n % 4]
        enrolled = status == SubjectStatus.ENROLLED
        subject = Subject.objects.create(
            study=study,
            site=sites[n % 2],
            screening_number=f"Q-S{n:03d}",
            status=status,
            subject_code=f"{sites[n % 2].code}-{n:03d}" if enrolled else None,
            screened_on=dt.date(2026, 11, 10),
            enrolled_on=dt.date(2026, 11, 12) if enrolled else None,
            planned_first_dose_on=dt.date(2026, 11, 12 + n % 14) if enrolled else None,
        )
        visit = Visit.objects.create(subject=subject, code="SCR", title="visit", sequence=0)
        record = FormRecord.objects.create(
            subject=subject,
            visit=visit,
            form_code="screening",
            data=dict(ELIGIBLE_SCREENING),
            status=FormStatus.COMPLETE,
            filled_fields=len(ELIGIBLE_SCREENING),
        )
        if enrolled:
            FormRecord.objects.create(
                subject=subject,
                form_code="transfusion",
                repeat=1,
                data={"transfusion_date": "2026-11-20"},
                status=FormStatus.INCOMPLETE,
            )
            if n % 8 == 1:
                ae = FormRecord.objects.create(
                    subject=subject,
                    form_code="adverse_event",
                    repeat=1,
                    data=dict(SERIOUS_AE),
                    status=FormStatus.COMPLETE,
                )
                SaeReport.objects.create(study=study, record=ae, reported_at=NOW)
        if n % 3 == 0:
            Query.objects.create(
                record=record,
                field_code="ast",
                origin=QueryOrigin.EDIT_CHECK,
                check_code="SCR-AST",
                status=QueryStatus.OPEN,
                summary="check",
                record_version=1,
                raised_role="system",
                raised_at=NOW,
            )
            Query.objects.create(
                record=record,
                field_code="ecog",
                origin=QueryOrigin.MANUAL,
                status=QueryStatus.OPEN,
                summary="check",
                record_version=1,
                raised_role="monitor",
                raised_at=NOW - dt.timedelta(days=40),
                raised_by=monitor,
            )


def _queries(client, django_assert_max_num_queries, at_most: int | None = None) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if at_most is not None:
        with django_assert_max_num_queries(at_most):
            assert client.get(HOME).status_code == 200
        return at_most
    with CaptureQueriesContext(connection) as captured:
        assert client.get(HOME).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "role",
    [
        "coordinator_nantes",
        "investigator_nantes",
        "monitor",
        "data_manager",
        "sponsor",
        "statistician",
        "safety_officer",
    ],
)
def test_a_role_home_takes_no_more_queries_for_30_subjects_than_for_4(
    as_user, cast, study, role, django_assert_max_num_queries
):
    client = as_user(role)
    _cohort(study, cast.monitor, 4)
    client.get(HOME)  # sessions, caches of the first request
    few = _queries(client, django_assert_max_num_queries)
    _cohort(study, cast.monitor, 30)
    _queries(client, django_assert_max_num_queries, at_most=few)
