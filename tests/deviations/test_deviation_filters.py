"""Filters of the deviation listing (issue 15, studies.listing): acknowledged or not, the
deviation's date, a site; bad values named, never an error page."""

from __future__ import annotations

import pytest
from tests.deviations.test_deviation_listing import treated  # noqa: F401 (a fixture)
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

pytestmark = pytest.mark.usefixtures("password_only")


def _rows(client, **params) -> str:
    page = client.get("/deviations/", params).content.decode()
    return (
        page.split('class="list-count"', 1)[1].split("</p>", 1)[0] if 'class="list-count"' in page else page
    )


def test_the_listing_keeps_the_deviations_to_acknowledge_or_those_acknowledged(client, cast, treated):  # noqa: F811
    login(client, "datamanager")
    assert "2 items" in _rows(client)
    assert "2 items" in _rows(client, status="open")
    assert "0 items" in _rows(client, status="acknowledged")
    assert (
        "No deviation matches these filters."
        in client.get("/deviations/", {"status": "acknowledged"}).content.decode()
    )


def test_a_period_and_a_site_narrow_the_listing(client, cast, treated):  # noqa: F811
    login(client, "datamanager")
    assert "0 items" in _rows(client, date_to="2020-01-01")
    assert "2 items" in _rows(client, date_from="2020-01-01")
    assert "0 items" in _rows(client, site="RNS")
    assert "2 items" in _rows(client, site="NTE")


def test_bad_values_are_named(client, cast, treated):  # noqa: F811
    login(client, "datamanager")
    page = client.get("/deviations/", {"status": "forgiven", "date_from": "2026-02-30"}).content.decode()
    assert "“forgiven” is not a status of this list." in page
    assert "“From” is not a date (year-month-day)." in page
    assert "2 items" in page
