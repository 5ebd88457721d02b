"""The lists behind the homes' counts (/work/…), every role × own site / foreign site: a site
outside the user's scope is not found (404), a list of clinical data is not found for the
safety officer, the monitor's "changed since your last verification" is the monitor's."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD
from tests.safety.conftest import SERIOUS_AE

from trialdesk.crf.services import save_form

PAGES = [
    "/work/queries/",
    "/work/incomplete-forms/",
    "/work/changed-forms/",
    "/work/saes/",
    "/work/adverse-events/",
]
ROLES = [
    "investigator_nantes",
    "coordinator_nantes",
    "investigator_rennes",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor",
    "safety_officer",
]
# who opens which page (others: not found)
OPENS = {
    "/work/queries/": set(ROLES) - {"safety_officer"},
    "/work/incomplete-forms/": set(ROLES) - {"safety_officer"},
    "/work/changed-forms/": {"monitor"},
    "/work/saes/": set(ROLES),
    "/work/adverse-events/": set(ROLES) - {"safety_officer"},
}
OWN = {
    "investigator_nantes": "NTE",
    "coordinator_nantes": "NTE",
    "investigator_rennes": "RNS",
    "monitor": "NTE",
}
FOREIGN = {
    "investigator_nantes": "RNS",
    "coordinator_nantes": "RNS",
    "investigator_rennes": "NTE",
    "monitor": "CFD",
}


@pytest.fixture
def nantes_work(cast, enrolled_subject):
    """At Nantes: a serious grade-3 adverse event (an SAE), an incomplete log entry, an open query."""
    from trialdesk.queries.services import raise_query

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    save_form(cast.coordinator_nantes, enrolled_subject, "transfusion", {"transfusion_date": "2026-11-24"})
    record = enrolled_subject.form_records.get(form_code="screening")
    raise_query(cast.monitor, record, "ecog", "Please confirm ECOG against the source.")
    return enrolled_subject


@pytest.mark.parametrize("role", ROLES)
def test_each_list_opens_for_the_roles_it_serves_and_only_them(client, cast, nantes_work, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    for page in PAGES:
        response = client.get(page, {"site": OWN.get(role, "")})
        expected = 200 if role in OPENS[page] else 404
        assert response.status_code == expected, f"{role} GET {page} -> {response.status_code}"
        body = response.content.decode()
        if expected == 200 and role != "investigator_rennes" and page != "/work/changed-forms/":
            assert nantes_work.label in body, f"{role} does not see the Nantes subject on {page}"
        if role == "investigator_rennes":
            assert nantes_work.label not in body


@pytest.mark.parametrize("role", list(FOREIGN))
def test_a_foreign_site_filter_is_not_found(client, cast, nantes_work, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    for page in PAGES:
        assert client.get(page, {"site": FOREIGN[role]}).status_code == 404, page


def test_an_anonymous_visitor_is_sent_to_sign_in(client, study):
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_unknown_filter_says_so_and_shows_the_whole_list(client, cast, nantes_work):
    client.login(username=cast.monitor.username, password=PASSWORD)
    page = client.get("/work/queries/", {"age": "forever"}).content.decode()
    assert "Unknown age band" in page and "data-query=" in page
    client.login(username=cast.safety_officer.username, password=PASSWORD)
    page = client.get("/work/saes/", {"show": "whatever"}).content.decode()
    assert "Unknown list" in page and "data-sae=" in page


def test_the_statistician_reads_the_lists_pseudonymised(client, cast, nantes_work):
    nantes_work.initials = "JDU"
    nantes_work.save(update_fields=["initials"])
    client.login(username=cast.statistician.username, password=PASSWORD)
    for page in ("/work/queries/", "/work/saes/", "/work/adverse-events/", "/work/incomplete-forms/"):
        body = client.get(page).content.decode()
        assert "JDU" not in body and "Please confirm ECOG" not in body, page
