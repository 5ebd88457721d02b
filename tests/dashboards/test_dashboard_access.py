"""Who sees the dashboards: every role x site scope (the access matrix's rows for the dashboards)."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

PAGE = "/studies/NCT00724360/dashboards/"
CHART = "/studies/NCT00724360/dashboards/chart.svg?name=enrollment"

# role -> (page, own site filter, foreign site filter); None: the role has no site outside its scope
MATRIX = {
    "investigator_nantes": (200, ("NTE", 200), ("RNS", 404)),
    "coordinator_nantes": (200, ("NTE", 200), ("RNS", 404)),
    "investigator_rennes": (200, ("RNS", 200), ("NTE", 404)),
    "monitor": (200, ("RNS", 200), ("CFD", 404)),
    "data_manager": (200, ("CFD", 200), None),
    "statistician": (200, ("NTE", 200), None),
    "sponsor": (200, ("STR", 200), None),
    "safety_officer": (404, ("NTE", 404), None),
}


def _client(client, cast, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    return client


@pytest.mark.parametrize("role", list(MATRIX))
def test_each_role_reaches_the_dashboard_of_its_own_sites_only(client, cast, role):
    page, (own, own_status), foreign = MATRIX[role]
    c = _client(client, cast, role)
    assert c.get(PAGE).status_code == page
    assert c.get(f"{PAGE}?site={own}").status_code == own_status
    if foreign is not None:
        code, status = foreign
        assert c.get(f"{PAGE}?site={code}").status_code == status
        assert c.get(f"{CHART}&site={code}").status_code == status


@pytest.mark.parametrize("role", list(MATRIX))
def test_each_role_gets_the_charts_as_svg_images_or_nothing(client, cast, role):
    page, _own, _foreign = MATRIX[role]
    response = _client(client, cast, role).get(CHART)
    assert response.status_code == page
    if page == 200:
        assert response["Content-Type"].startswith("image/svg+xml")
        # the SVG image's own policy: matplotlib's inline styles, no script, nothing fetched
        assert "default-src 'none'" in response["Content-Security-Policy"]
        assert "script-src" not in response["Content-Security-Policy"]


def test_an_unknown_site_is_not_found_like_a_foreign_one(client, cast):
    assert _client(client, cast, "sponsor").get(f"{PAGE}?site=ZZZ").status_code == 404


def test_an_unknown_chart_is_not_found(client, cast):
    c = _client(client, cast, "sponsor")
    assert c.get(f"{PAGE}chart.svg?name=../../etc").status_code == 404
    assert c.get(f"{PAGE}chart.svg").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, study):
    for url in (PAGE, CHART):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_main_menu_links_the_dashboards_for_the_roles_that_see_them(client, cast):
    sponsor = _client(client, cast, "sponsor").get(PAGE)
    assert b'id="dashboards-menu-link"' in sponsor.content
    client.logout()
    officer = _client(client, cast, "safety_officer").get("/studies/NCT00724360/safety/")
    assert b'id="dashboards-menu-link"' not in officer.content


def test_a_bad_date_says_so_and_shows_today(client, cast):
    response = _client(client, cast, "sponsor").get(f"{PAGE}?as_of=not-a-day")
    assert response.status_code == 200
    assert b"Not a date: not-a-day. Showing today." in response.content
