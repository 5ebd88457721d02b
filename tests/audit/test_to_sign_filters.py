"""Filters and pages on the casebooks to sign (issue 15): status (never signed / signature
voided), enrollment date, site; bad values named; a constant number of queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.studies.listing import PER_PAGE
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

pytestmark = pytest.mark.usefixtures("password_only")


def _casebooks(study, n, start=0, site="NTE", enrolled_on=dt.date(2026, 11, 9)):
    for k in range(start, start + n):
        subject = Subject.objects.create(
            study=study,
            site=study.sites.get(code=site),
            screening_number=f"S-{site}-{k:03d}",
            subject_code=f"{site}-{k:03d}",
            status=SubjectStatus.ENROLLED,
            screened_on=dt.date(2026, 11, 2),
            enrolled_on=enrolled_on,
        )
        visit = Visit.objects.create(subject=subject, code="SCR", title="visit", sequence=0)
        FormRecord.objects.create(
            subject=subject,
            visit=visit,
            form_code="lvef",
            data={"lvef_pct": 60},
            status=FormStatus.INCOMPLETE,
            filled_fields=1,
        )


def _page(client, **params) -> str:
    response = client.get("/audit/to-sign/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_it_keeps_the_casebooks_enrolled_in_a_period(client, cast, study):
    _casebooks(study, 2, 0, enrolled_on=dt.date(2026, 11, 9))
    _casebooks(study, 2, 10, enrolled_on=dt.date(2026, 11, 20))
    login(client, "inv.nantes")
    page = _page(client, date_from="2026-11-15")
    assert "NTE-010" in page and "NTE-011" in page and "NTE-000" not in page


def test_the_status_filter_separates_voided_signatures_from_casebooks_never_signed(client, cast, study):
    _casebooks(study, 2)
    login(client, "inv.nantes")
    assert "NTE-000" in _page(client, status="never_signed")
    page = _page(client, status="voided")
    assert "NTE-000" not in page and "No casebook to sign matches these filters." in page


def test_a_rennes_investigator_filtering_on_nantes_is_told_there_is_no_such_site(client, cast, study):
    _casebooks(study, 2)
    _casebooks(study, 1, 0, site="RNS")
    login(client, "inv.rennes")
    page = _page(client, site="NTE")
    assert "NTE-000" not in page and "RNS-000" in page
    # one site: no site filter offered, the value is ignored and nothing of Nantes shows


def test_bad_values_are_named(client, cast, study):
    _casebooks(study, 1)
    login(client, "inv.nantes")
    page = _page(client, status="signed", date_to="2026-13-01")
    assert "“signed” is not a status of this list." in page
    assert "“To” is not a date (year-month-day)." in page
    assert "NTE-000" in page


def _count(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        _page(client)
    return len(captured)


def test_the_list_is_paginated_in_a_constant_number_of_queries(client, cast, study):
    _casebooks(study, 3)
    login(client, "inv.nantes")
    few = _count(client)
    _casebooks(study, PER_PAGE, 100)
    assert _count(client) == few
    assert "page=2" in _page(client)
    assert _page(client, page=2).count('data-subject="') == 3
