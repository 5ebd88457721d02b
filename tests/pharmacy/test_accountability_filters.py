"""Filters of the study's drug-accountability summary (issue 15, studies.listing): a site, the
state of its last verification; bad values named."""

from __future__ import annotations

import pytest
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

pytestmark = pytest.mark.usefixtures("password_only")


def _sites(page: str) -> list[str]:
    import re

    return re.findall(r'<tr data-site="(\w+)">', page)


def test_the_monitor_narrows_the_summary_to_one_site(client, cast):
    login(client, "monitor")
    assert _sites(client.get("/pharmacy/").content.decode()) == ["NTE", "RNS"]
    page = client.get("/pharmacy/", {"site": "RNS"}).content.decode()
    assert _sites(page) == ["RNS"]
    assert "Total" in page  # the footer sums what is shown, not "all sites"


def test_sites_never_verified_are_found_by_their_verification_state(client, cast):
    login(client, "monitor")
    assert _sites(client.get("/pharmacy/", {"status": "never"}).content.decode()) == ["NTE", "RNS"]
    assert _sites(client.get("/pharmacy/", {"status": "verified"}).content.decode()) == []


def test_a_bad_value_is_named_and_a_foreign_site_is_not_offered(client, cast):
    login(client, "inv.rennes")
    page = client.get("/pharmacy/", {"status": "audited", "site": "NTE"}).content.decode()
    assert "“audited” is not a status of this list." in page
    assert _sites(page) == ["RNS"]  # one site: no site filter, nothing of Nantes
