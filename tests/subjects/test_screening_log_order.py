"""The screening log lists the newest screenings first (issue 15): by screening date, then
screening number, the order stated in the date column's header, which switches it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = pytest.mark.usefixtures("password_only")

LOG = "/sites/NTE/screening/"


def _screen(study, number: str, on: dt.date, status=SubjectStatus.SCREENING):
    Subject.objects.create(
        study=study,
        site=study.sites.get(code="NTE"),
        screening_number=number,
        status=status,
        screened_on=on,
    )


def _order(page: str) -> list[str]:
    return re.findall(r'data-screening="(S-[^"]+)"', page)


@pytest.fixture
def three(study):
    # created in an order that is neither by date nor by number
    _screen(study, "S-NTE-002", dt.date(2026, 11, 10))
    _screen(study, "S-NTE-001", dt.date(2026, 11, 2))
    _screen(study, "S-NTE-003", dt.date(2026, 11, 10))


def test_the_newest_screening_comes_first_then_the_higher_number(client, cast, three):
    login(client, "inv.nantes")
    page = client.get(LOG).content.decode()
    assert _order(page) == ["S-NTE-003", "S-NTE-002", "S-NTE-001"]
    assert 'aria-sort="descending"' in page and "newest first" in page


def test_the_date_header_switches_to_oldest_first_and_keeps_the_filters(client, cast, three):
    login(client, "inv.nantes")
    page = client.get(LOG, {"status": "screening"}).content.decode()
    switch = re.search(r'href="([^"]+)" id="screening-order"', page).group(1).replace("&amp;", "&")
    assert "order=oldest" in switch and "status=screening" in switch
    page = client.get(LOG + switch).content.decode()
    assert _order(page) == ["S-NTE-001", "S-NTE-002", "S-NTE-003"]
    assert 'aria-sort="ascending"' in page and "oldest first" in page
    back = re.search(r'href="([^"]+)" id="screening-order"', page).group(1)
    assert "order=" not in back and "status=screening" in back


def test_the_order_is_kept_from_page_to_page(client, cast, study):
    from trialdesk.studies.listing import PER_PAGE

    for k in range(PER_PAGE + 1):
        _screen(study, f"S-NTE-{k:03d}", dt.date(2026, 11, 1) + dt.timedelta(days=k % 20))
    login(client, "inv.nantes")
    first = client.get(LOG, {"order": "oldest"}).content.decode()
    assert _order(first)[0] == "S-NTE-000"
    assert "order=oldest&amp;page=2" in first or "page=2&amp;order=oldest" in first
