"""Filters and pages on the site's subject list and its screening log (issue 15): status and
screening date, bad values named, a constant number of queries whatever the list's length."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.studies.listing import PER_PAGE
from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = pytest.mark.usefixtures("password_only")


def _subjects(study, n, start=0, status=SubjectStatus.SCREENING, on=dt.date(2026, 11, 2), site="NTE"):
    Subject.objects.bulk_create(
        Subject(
            study=study,
            site=study.sites.get(code=site),
            screening_number=f"S-{site}-{k:03d}",
            status=status,
            screened_on=on,
        )
        for k in range(start, start + n)
    )


PAGES = ("/sites/NTE/", "/sites/NTE/screening/")


def _rows(page: str) -> int:
    return len(set(re.findall(r"S-NTE-\d{3}", page)))


@pytest.mark.parametrize("url", PAGES)
def test_it_keeps_the_subjects_of_a_status_and_a_screening_period(client, cast, study, url):
    _subjects(study, 2, 0, SubjectStatus.SCREENING, dt.date(2026, 11, 2))
    _subjects(study, 3, 10, SubjectStatus.SCREEN_FAILED, dt.date(2026, 11, 12))
    login(client, "inv.nantes")
    page = client.get(url, {"status": "screen_failed"}).content.decode()
    assert "S-NTE-010" in page and "S-NTE-000" not in page
    page = client.get(url, {"date_from": "2026-11-01", "date_to": "2026-11-05"}).content.decode()
    assert "S-NTE-000" in page and "S-NTE-001" in page and "S-NTE-010" not in page
    page = client.get(url, {"status": "enrolled"}).content.decode()
    assert "No patient matches these filters." in page


@pytest.mark.parametrize("url", PAGES)
def test_a_bad_filter_value_is_named_not_an_error(client, cast, study, url):
    _subjects(study, 2)
    login(client, "inv.nantes")
    response = client.get(url, {"status": "lost", "date_from": "tomorrow", "page": "two"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "“lost” is not a status of this list." in page
    assert "“From” is not a date (year-month-day)." in page
    assert "“two” is not a page number: the first page is shown." in page
    assert "S-NTE-000" in page  # the list is still shown


@pytest.mark.parametrize("url", PAGES)
def test_the_list_is_paginated_and_the_filters_read_in_french(client, cast, study, url):
    _subjects(study, PER_PAGE + 3)
    login(client, "inv.nantes")
    first = client.get(url).content.decode()
    assert _rows(first) == PER_PAGE and "page=2" in first
    second = client.get(url, {"page": 2}).content.decode()
    assert _rows(second) == 3
    french = client.get(url, {"status": "lost"}, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "« lost » n’est pas un statut de cette liste." in french
    assert "Date de sélection" in french and "Tous les statuts" in french


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", PAGES)
def test_the_page_reads_in_a_constant_number_of_queries(client, cast, study, url):
    _subjects(study, 3)
    login(client, "inv.nantes")
    few = _count(client, url)
    _subjects(study, 2 * PER_PAGE, 100)
    assert _count(client, url) == few


def test_a_rennes_user_filtering_on_nantes_sees_nothing_of_nantes(client, cast, study):
    _subjects(study, 2)
    login(client, "inv.rennes")
    assert client.get("/sites/NTE/", {"status": "screening"}).status_code == 404
    assert client.get("/sites/NTE/screening/", {"page": 2}).status_code == 404
