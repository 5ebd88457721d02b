"""Who reaches the safety pages, at which sites (DESIGN §1: outside the scope, 404): every role
of the cast x own site / foreign site; and the safety officer, who sees every site's safety data
pseudonymised and nothing else: every clinical page is not found for them."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD
from tests.safety.conftest import SERIOUS_AE
from tests.studies.test_access_matrix import SAFETY_PAGES, _scoped_patterns, all_patterns, paths

from trialdesk.audit.models import AuditEvent

# a crawl of every page: run once, on SQLite (dev.py leaves it out of the PostgreSQL pass)
pytestmark = pytest.mark.crawl

# role -> (SAE list, AE listing, own site's SAE page, CIOMS PDF, may acknowledge): 200 / 404
TABLE = {
    "investigator_nantes": (200, 200, 200, 200, False),
    "coordinator_nantes": (200, 200, 200, 200, False),
    "investigator_rennes": (200, 200, 404, 404, False),  # the SAE is at Nantes
    "monitor": (200, 200, 200, 200, False),
    "data_manager": (200, 200, 200, 200, False),
    "statistician": (200, 200, 200, 200, False),
    "sponsor": (200, 200, 200, 200, False),
    "safety_officer": (200, 200, 200, 200, True),
}
BASE = "/studies/NCT00724360/safety/"


@pytest.fixture
def nantes_sae(cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    return save_form(
        cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE)
    ).record.sae_report


def test_every_role_is_in_the_table(cast):
    roles = {name for name in vars(cast) if not name.startswith("_")}
    assert roles == set(TABLE)


@pytest.mark.parametrize("role", list(TABLE))
def test_the_safety_pages_by_role_and_site(client, cast, nantes_sae, role):
    listing, aes, page, pdf, may_ack = TABLE[role]
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert client.get(BASE).status_code == listing
    assert client.get(f"{BASE}adverse-events/").status_code == aes
    assert client.get(f"{BASE}sae/{nantes_sae.pk}/").status_code == page
    assert client.get(f"{BASE}sae/{nantes_sae.pk}/cioms.pdf").status_code == pdf
    before = AuditEvent.objects.count()
    response = client.post(f"{BASE}sae/{nantes_sae.pk}/", {"action": "acknowledge"})
    nantes_sae.refresh_from_db()
    assert (nantes_sae.acknowledged_at is not None) == may_ack
    if not may_ack:
        assert response.status_code == 404 and AuditEvent.objects.count() == before


def test_an_investigator_of_another_site_does_not_see_the_sae_in_the_lists(client, cast, nantes_sae):
    client.login(username=cast.investigator_rennes.username, password=PASSWORD)
    label = nantes_sae.record.subject.label
    assert label not in client.get(BASE).content.decode()
    assert label not in client.get(f"{BASE}adverse-events/").content.decode()
    assert client.get(f"{BASE}adverse-events/?site=NTE").status_code == 404


def test_the_safety_officer_reads_no_initials(client, cast, nantes_sae):
    subject = nantes_sae.record.subject
    subject.initials = "JDU"
    subject.save(update_fields=["initials"])
    client.login(username=cast.safety_officer.username, password=PASSWORD)
    for path in (BASE, f"{BASE}sae/{nantes_sae.pk}/", f"{BASE}adverse-events/"):
        assert "JDU" not in client.get(path).content.decode()


@pytest.fixture
def site_objects(cast, enrolled_subject, nantes_sae):
    from trialdesk.queries.services import raise_query

    record = enrolled_subject.form_records.get(form_code="screening")
    log = enrolled_subject.form_records.filter(form_code="adverse_event").first()
    query = raise_query(cast.monitor, record, "ecog", "Please confirm ECOG.")
    return {
        "site": enrolled_subject.site,
        "subject": enrolled_subject,
        "visit": enrolled_subject.visits.get(code="SCR"),
        "record": record,
        "log": log,
        "query": query,
        "sae": nantes_sae,
    }


def test_the_safety_officer_finds_no_clinical_page(client, cast, site_objects):
    client.login(username=cast.safety_officer.username, password=PASSWORD)
    reached = []
    for route, pattern in _scoped_patterns():
        if route.startswith("api/"):
            continue  # the REST API (django-ninja routes, token sign-in) has its own access tests
        for path in paths(route, pattern, site_objects):
            status = client.get(path).status_code
            if path.startswith(SAFETY_PAGES):
                assert status == 200, f"GET {path} -> {status}"
            elif status not in (403, 404, 405):  # 403: in scope, refused without details (studies/access.py)
                reached.append(f"GET {path} -> {status}")
    assert not reached, "the safety officer reached clinical pages:\n" + "\n".join(reached)


def test_the_safety_officer_gets_a_vigilance_home_not_the_clinical_one(client, cast):
    client.login(username=cast.safety_officer.username, password=PASSWORD)
    response = client.get("/studies/NCT00724360/")
    page = response.content.decode()
    assert response.status_code == 200 and 'data-section="vigilance"' in page
    assert 'data-section="sites"' not in page  # the sites' clinical figures are not theirs


def test_the_safety_officer_gets_no_error_anywhere(client, cast, site_objects):
    client.login(username=cast.safety_officer.username, password=PASSWORD)
    for route, pattern in all_patterns():
        if pattern.pattern.regex.groupindex:
            continue
        response = client.get("/" + route)
        assert response.status_code < 500, f"GET /{route} -> {response.status_code}"
