"""Subject search from the top bar (issue 15): scope, pseudonymisation, exact hits, pagination."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.studies.listing import PER_PAGE
from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = pytest.mark.usefixtures("password_only")


def _subject(
    study, site_code, number, code=None, initials="", status=SubjectStatus.SCREENING, enrolled_on=None
):
    return Subject.objects.create(
        study=study,
        site=study.sites.get(code=site_code),
        screening_number=number,
        subject_code=code,
        initials=initials,
        status=status,
        screened_on=dt.date(2026, 11, 2),
        enrolled_on=enrolled_on,
    )


@pytest.fixture
def subjects(cast, study):
    return {
        "nte": _subject(
            study, "NTE", "S-NTE-001", "NTE-001", "JDU", SubjectStatus.ENROLLED, dt.date(2026, 11, 9)
        ),
        "nte_screening": _subject(study, "NTE", "S-NTE-002", None, "MLB"),
        "rns": _subject(
            study, "RNS", "S-RNS-001", "RNS-001", "JDA", SubjectStatus.ENROLLED, dt.date(2026, 11, 10)
        ),
    }


def _search(client, q, **params):
    return client.get("/subjects/search/", {"q": q, **params})


def _results(response) -> str:
    """The results table only (the top bar's box repeats the search's text)."""
    page = response.content.decode()
    return page.split('id="search-results"', 1)[1].split("</table>", 1)[0]


def test_an_exact_subject_code_goes_straight_to_the_casebook(client, subjects):
    login(client, "inv.nantes")
    response = _search(client, "nte-001")
    assert response.status_code == 302
    assert response["Location"] == f"/subjects/{subjects['nte'].pk}/"


def test_an_exact_screening_number_or_initials_goes_to_the_casebook_too(client, subjects):
    login(client, "coord.nantes")
    assert _search(client, "S-NTE-002")["Location"] == f"/subjects/{subjects['nte_screening'].pk}/"
    assert _search(client, "mlb")["Location"] == f"/subjects/{subjects['nte_screening'].pk}/"


def test_a_partial_text_lists_the_matches_with_site_status_and_enrollment_date(client, subjects):
    login(client, "monitor")
    page = _search(client, "j").content.decode()  # one letter is too short
    assert "at least 2 characters" in page
    results = _results(_search(client, "jd"))  # initials JDU (Nantes) and JDA (Rennes)
    assert "NTE-001" in results and "RNS-001" in results
    assert "Nantes" in results and "Rennes" in results
    assert "Enrolled" in results and "enrolled" not in results.replace("Enrolled", "")
    assert "Nov. 9, 2026" in results


def test_a_rennes_user_never_finds_a_nantes_subject_even_by_its_exact_code(client, subjects):
    login(client, "inv.rennes")
    for text in ("NTE-001", "S-NTE-001", "JDU", "NTE"):
        response = _search(client, text)
        assert response.status_code == 200, text
        results = _results(response)
        assert "NTE-001" not in results and "S-NTE" not in results and "JDU" not in results
        assert "No subject found." in results, text


def test_the_statistician_finds_by_subject_code_only_and_never_sees_identifiers(client, subjects):
    login(client, "statistician")
    assert _search(client, "NTE-001")["Location"] == f"/subjects/{subjects['nte'].pk}/"
    for text in ("JDU", "S-NTE-001", "MLB", "S-NTE"):  # initials and screening numbers match nothing
        page = _search(client, text).content.decode()
        assert "No subject found." in page, text
    response = _search(client, "NTE")
    results = _results(response)
    assert "NTE-001" in results
    assert "S-NTE" not in results and "JDU" not in results and "MLB" not in results
    assert "subject code only" in response.content.decode()


def test_an_empty_or_too_short_search_says_what_to_type(client, subjects):
    login(client, "inv.nantes")
    assert "Type a subject code, a screening number or initials" in _search(client, "  ").content.decode()
    assert "Type at least 2 characters" in _search(client, "N").content.decode()
    assert "too long" in _search(client, "N" * 41).content.decode()


def test_the_safety_officer_has_no_subject_search(client, subjects):
    login(client, "safety.officer")
    assert _search(client, "NTE-001").status_code == 404


def test_the_search_box_is_in_the_top_bar_of_every_page_for_clinical_readers(client, subjects):
    login(client, "inv.nantes")
    assert 'id="subject-search-q"' in client.get("/sites/NTE/").content.decode()
    login(client, "safety.officer")
    assert 'id="subject-search-q"' not in client.get("/safety/").content.decode()


def _many(study, n):
    Subject.objects.bulk_create(
        Subject(
            study=study,
            site=study.sites.get(code="NTE"),
            screening_number=f"S-NTE-{k:03d}",
            subject_code=f"NTE-{k:03d}",
            status=SubjectStatus.ENROLLED,
            screened_on=dt.date(2026, 11, 2),
            enrolled_on=dt.date(2026, 11, 9),
        )
        for k in range(100, 100 + n)
    )


def test_results_are_paginated_and_the_page_links_keep_the_search(client, cast, study):
    _many(study, PER_PAGE + 5)
    login(client, "inv.nantes")
    first = _search(client, "NTE-1").content.decode()
    assert first.count("<tr><td><a href=") == PER_PAGE
    assert "page=2" in first and "q=NTE-1" in first
    second = _search(client, "NTE-1", page=2).content.decode()
    assert second.count("<tr><td><a href=") == 5
    assert "“x” is not a page number" in _search(client, "NTE-1", page="x").content.decode()


def test_an_unknown_site_filter_is_named_not_an_error(client, cast, study):
    _many(study, 3)
    login(client, "monitor")
    response = _search(client, "NTE-1", site="RNS")
    assert response.status_code == 200
    assert "No subject found." in response.content.decode()
    page = _search(client, "NTE-1", site="XXX").content.decode()
    assert "There is no site “XXX” in your list." in page and "NTE-100" in page


def _count(client, **params):
    with CaptureQueriesContext(connection) as captured:
        assert _search(client, "NTE-1", **params).status_code == 200
    return len(captured)


def test_the_search_reads_in_a_constant_number_of_queries(client, cast, study):
    _many(study, 3)
    login(client, "monitor")
    few = _count(client)
    _many_more = Subject.objects.bulk_create(
        Subject(
            study=study,
            site=study.sites.get(code="RNS"),
            screening_number=f"S-RNS-{k:03d}",
            subject_code=f"NTE-1{k:03d}",
            status=SubjectStatus.SCREENING,
            screened_on=dt.date(2026, 11, 2),
        )
        for k in range(40)
    )
    assert _many_more
    assert _count(client) == few


# Every role x site scope: who finds the Nantes subject by its exact code (302 to its
# casebook), who searches and finds nothing (200), who has no search at all (404).
MATRIX = [
    ("inv.nantes", 302),
    ("inv.rennes", 200),
    ("coord.nantes", 302),
    ("monitor", 302),
    ("datamanager", 302),
    ("statistician", 302),
    ("sponsor", 302),
    ("safety.officer", 404),
]


@pytest.mark.parametrize(("username", "expected"), MATRIX)
def test_the_search_answers_each_role_within_its_scope(client, subjects, username, expected):
    login(client, username)
    response = _search(client, "NTE-001")
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == f"/subjects/{subjects['nte'].pk}/"
    if expected == 200:
        assert "NTE-001" not in _results(response)
