"""The query list's date filter and pages (issue 15, the shared studies.listing): the day a
query was raised, bad dates named, page links that keep the other filters, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.queries.models import Query, QueryOrigin, QueryStatus
from trialdesk.queries.views import PAGE_SIZE
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

pytestmark = pytest.mark.usefixtures("password_only")


def _queries(study, monitor, n, start=0, raised=dt.datetime(2026, 11, 10, 10, tzinfo=dt.UTC), site="NTE"):
    for k in range(start, start + n):
        subject = Subject.objects.create(
            study=study,
            site=study.sites.get(code=site),
            screening_number=f"S-{site}-{k:03d}",
            subject_code=f"{site}-{k:03d}",
            status=SubjectStatus.ENROLLED,
            screened_on=dt.date(2026, 11, 2),
        )
        visit = Visit.objects.create(subject=subject, code="SCR", title="visit", sequence=0)
        record = FormRecord.objects.create(
            subject=subject, visit=visit, form_code="lvef", data={}, status=FormStatus.INCOMPLETE
        )
        Query.objects.create(
            record=record,
            field_code="lvef_pct",
            origin=QueryOrigin.MANUAL,
            status=QueryStatus.OPEN,
            summary="check",
            record_version=1,
            raised_role="monitor",
            raised_at=raised,
            raised_by=monitor,
        )


def _page(client, **params) -> str:
    response = client.get("/queries/", {"view": "all", **params})
    assert response.status_code == 200
    return response.content.decode()


def test_it_keeps_the_queries_raised_in_a_period(client, cast, study):
    _queries(study, cast.monitor, 2, 0, dt.datetime(2026, 11, 10, 10, tzinfo=dt.UTC))
    _queries(study, cast.monitor, 2, 10, dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC))
    login(client, "monitor")
    page = _page(client, date_from="2026-11-15", date_to="2026-11-20")
    assert "NTE-010" in page and "NTE-011" in page and "NTE-000" not in page
    page = _page(client, date_to="2026-11-10")
    assert "NTE-000" in page and "NTE-010" not in page


def test_a_bad_date_is_named_and_the_list_still_shown(client, cast, study):
    _queries(study, cast.monitor, 1)
    login(client, "monitor")
    page = _page(client, date_from="10/11/2026")
    assert "“From” is not a date (year-month-day)." in page and "NTE-000" in page


def test_the_page_links_keep_the_other_filters(client, cast, study):
    _queries(study, cast.monitor, PAGE_SIZE + 1)
    login(client, "monitor")
    page = _page(client, site="NTE", status="open")
    assert "?view=all&amp;site=NTE&amp;status=open&amp;page=2" in page
    assert _page(client, site="NTE", status="open", page=2).count("NTE-0") >= 1


def _count(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        _page(client, date_from="2026-11-01")
    return len(captured)


def test_the_filtered_list_reads_in_a_constant_number_of_queries(client, cast, study):
    _queries(study, cast.monitor, 3)
    login(client, "monitor")
    few = _count(client)
    _queries(study, cast.monitor, 10, 100)
    assert _count(client) == few
