"""Filters of the SAE and adverse-event lists (issue 15, studies.listing): the event's start
date, a site; bad values named, never an error page."""

from __future__ import annotations

import pytest
from tests.safety.conftest import NON_SERIOUS_AE
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

pytestmark = pytest.mark.usefixtures("password_only")


def _count(page: str, table_id: str) -> int:
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0] if f'id="{table_id}"' in page else ""
    return body.count("<tr class=")


def test_the_sae_list_keeps_the_events_started_in_a_period(client, cast, save_ae):
    save_ae(onset_date="2026-11-26", resolution_date="2026-12-01")
    save_ae(onset_date="2026-11-28", resolution_date="2026-12-01")
    login(client, "monitor")
    assert _count(client.get("/safety/").content.decode(), "saes") == 2
    page = client.get("/safety/", {"date_from": "2026-11-27"}).content.decode()
    assert _count(page, "saes") == 1 and "2026-11-28" in page and "2026-11-26" not in page
    page = client.get("/safety/", {"date_to": "2026-11-25"}).content.decode()
    assert "No serious adverse event." in page


def test_the_sae_list_names_a_bad_value_and_keeps_its_other_filter(client, cast, save_ae):
    save_ae()
    login(client, "monitor")
    response = client.get("/safety/", {"show": "unacknowledged", "site": "ZZZ", "date_from": "yesterday"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is no site “ZZZ” in your list." in page
    assert "“From” is not a date (year-month-day)." in page
    assert _count(page, "saes") == 1
    assert 'name="show" value="unacknowledged"' in page  # kept by the filter form


def test_the_adverse_event_list_filters_on_the_onset_date(client, cast, save_ae):
    save_ae(data=NON_SERIOUS_AE, onset_date="2026-11-20", resolution_date="2026-11-21")
    save_ae(data=NON_SERIOUS_AE, onset_date="2026-11-26")
    login(client, "inv.nantes")
    page = client.get("/safety/adverse-events/", {"date_from": "2026-11-25"}).content.decode()
    assert "1 adverse event," in page
    page = client.get("/safety/adverse-events/", {"date_to": "2026-12-31"}).content.decode()
    assert "2 adverse events," in page
    page = client.get("/safety/adverse-events/", {"date_to": "31/12/2026"}).content.decode()
    assert "“To” is not a date (year-month-day)." in page and "2 adverse events," in page
