"""The one filter and pagination mechanism of the list pages (studies.listing, issue 15)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.test import RequestFactory

from trialdesk.studies.listing import ListFilter

SITES = [("NTE", "Nantes"), ("RNS", "Rennes")]
STATUSES = [("open", "Open"), ("closed", "Closed")]


@dataclass
class Row:
    site: str
    status: str
    on: dt.date | None


ROWS = [
    Row("NTE", "open", dt.date(2026, 11, 1)),
    Row("NTE", "closed", dt.date(2026, 11, 10)),
    Row("RNS", "open", dt.date(2026, 11, 20)),
    Row("RNS", "open", None),
]


def _listing(**params) -> ListFilter:
    request = RequestFactory().get("/list/", params)
    return ListFilter(request, sites=SITES, statuses=STATUSES, date_label="Raised on", per_page=2)


def _kept(listing) -> list[Row]:
    return listing.apply(ROWS, site=lambda r: r.site, status=lambda r: r.status, date=lambda r: r.on)


def test_without_filters_every_row_is_kept():
    listing = _listing()
    assert _kept(listing) == ROWS
    assert listing.errors == [] and not listing.active


def test_it_keeps_the_rows_of_a_site_and_a_status():
    assert _kept(_listing(site="RNS", status="open")) == ROWS[2:]


def test_the_date_bounds_are_inclusive_and_a_row_without_a_date_is_left_out():
    assert _kept(_listing(date_from="2026-11-10", date_to="2026-11-20")) == ROWS[1:3]
    assert _kept(_listing(date_from="2026-11-20")) == [ROWS[2]]
    assert _kept(_listing(date_to="2026-11-01")) == [ROWS[0]]


def test_an_unknown_site_is_named_and_not_applied():
    listing = _listing(site="XXX", status="closed")
    assert listing.errors == ["There is no site “XXX” in your list."]
    assert _kept(listing) == [ROWS[1]]  # the valid filter still applies


def test_an_unknown_status_and_a_date_that_is_not_one_are_named():
    listing = _listing(status="lost", date_from="31/12/2026")
    assert "“lost” is not a status of this list." in listing.errors
    assert "“From” is not a date (year-month-day)." in listing.errors
    assert _kept(listing) == ROWS


def test_an_end_before_the_start_is_refused_with_a_message():
    listing = _listing(date_from="2026-11-20", date_to="2026-11-01")
    assert listing.errors == ["“To” is before “From”: the dates are not applied."]
    assert _kept(listing) == ROWS


def test_pages_hold_per_page_rows_and_their_links_keep_the_filters():
    listing = _listing(status="open", page="2")
    page = listing.paginate(_kept(listing))
    assert list(page) == [ROWS[3]] and page.paginator.num_pages == 2
    assert listing.previous_url == "?status=open&page=1" and listing.next_url == ""
    assert [p["number"] for p in listing.pages] == [1, 2]


def test_a_page_that_is_not_a_number_shows_the_first_with_a_message():
    for bad in ("x", "-3", "0"):
        listing = _listing(page=bad)
        assert list(listing.paginate(ROWS)) == ROWS[:2], bad
        assert listing.errors == [f"“{bad}” is not a page number: the first page is shown."]


def test_a_page_past_the_end_shows_the_last():
    listing = _listing(page="99")
    assert list(listing.paginate(ROWS)) == ROWS[2:]


def test_a_list_of_one_site_offers_no_site_filter():
    request = RequestFactory().get("/list/", {"site": "RNS"})
    listing = ListFilter(request, sites=SITES[:1], statuses=STATUSES)
    assert "site" not in listing.form.fields and listing.site is None
    assert not listing.errors


def test_the_filters_read_in_french(settings):
    from django.utils import translation

    with translation.override("fr"):
        listing = _listing(site="XXX")
        assert listing.errors == ["Il n’y a pas de site « XXX » dans votre liste."]
        assert str(listing.form.fields["date_from"].label) == "Du"
