"""Who reaches the deviation listings, their CSV and the treatment worklist: every role of the
cast (and the safety officer) x own site / foreign site (DESIGN §1: outside the scope, 404)."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD, _member

from trialdesk.studies.models import Role

# role -> (the listing of all sites, its CSV, a site it sees, a site it does not see or None)
TABLE = {
    "investigator_nantes": (200, 200, "NTE", "RNS"),
    "coordinator_nantes": (200, 200, "NTE", "RNS"),
    "investigator_rennes": (200, 200, "RNS", "NTE"),
    "monitor": (200, 200, "NTE", "CFD"),
    "data_manager": (200, 200, "CFD", None),
    "statistician": (200, 200, "CFD", None),
    "sponsor": (200, 200, "CFD", None),
}
SITE_PAGES = [
    "/deviations/sites/{site}/",
    "/deviations/sites/{site}/csv/",
    "/deviations/sites/{site}/worklist/",
]


@pytest.mark.parametrize("role", list(TABLE))
def test_each_role_reaches_its_sites_pages_and_no_other(client, cast, role):
    listing, csv, own, foreign = TABLE[role]
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert client.get("/deviations/").status_code == listing
    assert client.get("/deviations/csv/").status_code == csv
    for page in SITE_PAGES:
        assert client.get(page.format(site=own)).status_code == 200, page
        if foreign:
            assert client.get(page.format(site=foreign)).status_code == 404, page
        assert client.get(page.format(site="ZZZ")).status_code == 404, page


def test_the_safety_officer_sees_no_clinical_listing(client, study):
    _member(study, "safety", Role.SAFETY_OFFICER, None)
    client.login(username="safety", password=PASSWORD)
    assert client.get("/deviations/").status_code == 403
    assert client.get("/deviations/sites/NTE/worklist/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in(client, study):
    for url in ["/deviations/", "/deviations/sites/NTE/worklist/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("role", ["investigator_nantes", "coordinator_nantes", "statistician", "sponsor"])
def test_only_monitors_and_data_managers_may_acknowledge(client, cast, enrolled_subject, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    response = client.post(
        f"/deviations/subjects/{enrolled_subject.pk}/acknowledge/", {"key": "x", "comment": "y"}
    )
    assert response.status_code == 403


def test_acknowledging_a_foreign_subject_is_not_found(client, cast, enrolled_subject):
    client.login(username=cast.investigator_rennes.username, password=PASSWORD)
    assert (
        client.post(f"/deviations/subjects/{enrolled_subject.pk}/acknowledge/", {"key": "x"}).status_code
        == 404
    )
