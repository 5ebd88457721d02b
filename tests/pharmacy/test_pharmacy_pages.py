"""The accountability pages for every role and site scope: who sees what, who may record and
verify, 404 outside the user's sites; the CSV download; the page's figures."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import PASSWORD, _member
from tests.pharmacy.conftest import LOT, VIALS, give, infusion

from trialdesk.audit.models import AuditEvent
from trialdesk.pharmacy.models import Disposal, Shipment, Verification
from trialdesk.studies.models import Role

# role -> (own site, foreign site or None when the role sees every site)
SCOPE = {
    "investigator_nantes": ("NTE", "RNS"),
    "coordinator_nantes": ("NTE", "RNS"),
    "investigator_rennes": ("RNS", "NTE"),
    "monitor": ("NTE", "CFD"),
    "data_manager": ("NTE", None),
    "statistician": ("NTE", None),
    "sponsor": ("NTE", None),
    "safety_officer": ("NTE", None),
}
MANAGERS = {"investigator_nantes", "coordinator_nantes", "investigator_rennes"}
VERIFIERS = {"monitor"}
READERS = set(SCOPE) - {"safety_officer"}


@pytest.fixture
def people(cast, study):
    cast.safety_officer = _member(study, "safety", Role.SAFETY_OFFICER, None)
    return cast


def login(client, people, role):
    assert client.login(username=getattr(people, role).username, password=PASSWORD)


def pages(site: str) -> dict[str, str]:
    return {
        "site": f"/pharmacy/sites/{site}/",
        "csv": f"/pharmacy/sites/{site}/csv/",
        "shipment": f"/pharmacy/sites/{site}/shipments/new/",
        "disposal": f"/pharmacy/sites/{site}/disposals/new/",
    }


def expected_get(role: str, page: str) -> int:
    if role not in READERS:
        return 403
    if page in ("shipment", "disposal"):
        return 200 if role in MANAGERS else 403
    return 200


@pytest.mark.parametrize("role", list(SCOPE))
def test_each_role_gets_the_pages_of_its_own_site_as_its_permissions_say(client, people, stock, role):
    login(client, people, role)
    own = SCOPE[role][0]
    got = {page: client.get(url).status_code for page, url in pages(own).items()}
    assert got == {page: expected_get(role, page) for page in got}, role


@pytest.mark.parametrize("role", [r for r, (_own, foreign) in SCOPE.items() if foreign])
def test_a_foreign_sites_accountability_is_not_found_and_nothing_is_written(client, people, stock, role):
    login(client, people, role)
    foreign = SCOPE[role][1]
    before = AuditEvent.objects.count()
    for url in pages(foreign).values():
        assert client.get(url).status_code == 404, url
        assert client.post(url, {"lot_number": "X", "vials": "3"}).status_code == 404, url
    verify = client.post(
        f"/pharmacy/sites/{foreign}/verify/", {"verified_on": "2026-11-27", "seen_balance": "0"}
    )
    assert verify.status_code == 404
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("role", list(SCOPE))
def test_only_a_monitor_of_the_site_verifies_it(client, people, stock, role):
    login(client, people, role)
    own = SCOPE[role][0]
    response = client.post(
        f"/pharmacy/sites/{own}/verify/",
        {"verified_on": "2026-11-27", "seen_balance": str(VIALS), "comment": ""},
    )
    if role in VERIFIERS:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
    assert Verification.objects.system("test").exists() == (role in VERIFIERS)


@pytest.mark.parametrize("role", list(SCOPE))
def test_the_study_summary_lists_only_the_sites_of_the_user(client, people, stock, role):
    login(client, people, role)
    response = client.get("/pharmacy/")
    if role not in READERS:
        assert response.status_code == 404
        return
    page = response.content.decode()
    own, foreign = SCOPE[role]
    assert f'data-site="{own}"' in page
    if foreign:
        assert f'data-site="{foreign}"' not in page
    else:
        assert 'data-site="CFD"' in page and 'data-site="RNS"' in page
    assert f'data-balance="NTE"><strong>{VIALS}</strong>' in page or own != "NTE"


def test_a_coordinator_records_a_shipment_from_the_form(client, people, site):
    login(client, people, "coordinator_nantes")
    response = client.post(
        "/pharmacy/sites/NTE/shipments/new/",
        {"received_on": "2026-11-20", "lot_number": " N4412B ", "vials": "12", "expires_on": "2027-11-30"},
    )
    assert response.status_code == 302
    shipment = Shipment.objects.system("test").get()
    assert (shipment.lot_number, shipment.vials, shipment.received_by.username) == (
        "N4412B",
        12,
        "coord.nantes",
    )


def test_the_shipment_form_shows_a_refusal_on_its_field_and_writes_nothing(client, people, site):
    login(client, people, "coordinator_nantes")
    response = client.post(
        "/pharmacy/sites/NTE/shipments/new/",
        {"received_on": "2026-11-20", "lot_number": "N4412B", "vials": "12", "expires_on": "2026-11-19"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    field = page[page.index('data-field="expires_on"') :]
    assert "expired before it was received" in field[: field.index("</div>")]
    assert not Shipment.objects.system("test").exists()


def test_a_destruction_beyond_the_balance_is_refused_on_the_form(client, people, stock):
    login(client, people, "investigator_nantes")
    url = "/pharmacy/sites/NTE/disposals/new/"
    post = {"on": "2026-11-25", "kind": "destroyed", "lot_number": LOT, "reason": "Expired"}
    refused = client.post(url, {**post, "vials": str(VIALS + 1)})
    assert refused.status_code == 400 and "cannot go below zero" in refused.content.decode()
    assert not Disposal.objects.system("test").exists()
    assert client.post(url, {**post, "vials": "4"}).status_code == 302
    page = client.get("/pharmacy/sites/NTE/").content.decode()
    assert f'data-balance="{LOT}"><strong>{VIALS - 4}</strong>' in page


def test_the_site_page_shows_dispensings_by_lot_with_their_subject(client, people, stock, enrolled_subject):
    give(people.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=3))
    login(client, people, "monitor")
    page = client.get("/pharmacy/sites/NTE/").content.decode()
    assert f'data-dispensed-lot="{LOT}"' in page and enrolled_subject.subject_code in page
    assert f'data-balance="{LOT}"><strong>{VIALS - 3}</strong>' in page


def test_the_site_page_is_in_french_with_french_dates(client, people, stock):
    from django.conf import settings

    login(client, people, "coordinator_nantes")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get("/pharmacy/sites/NTE/").content.decode()
    assert "Comptabilité du médicament" in page and "Solde par lot" in page and "30 novembre 2026" in page


def test_the_csv_holds_one_row_per_lot_and_is_audited_as_an_export(client, people, stock):
    login(client, people, "data_manager")
    response = client.get("/pharmacy/sites/NTE/csv/")
    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv")
    assert lines[0].startswith(
        "site,lot,expires_on,first_received_on,received,dispensed,returned,destroyed,balance"
    )
    assert lines[1].startswith(f"NTE,{LOT},2026-11-30,2026-11-01,{VIALS},0,0,0,{VIALS},")
    assert AuditEvent.objects.filter(action="export", object_type="drug_accountability").count() == 1


def test_the_site_page_of_a_pseudonymised_reader_shows_no_names_or_comments(client, people, site):
    from trialdesk.pharmacy.services import record_shipment

    record_shipment(
        people.coordinator_nantes,
        site,
        lot_number="N1",
        vials=5,
        expires_on=dt.date(2027, 1, 31),
        received_on=dt.date(2026, 11, 2),
        comment="Box dented, vials intact",
    )
    login(client, people, "statistician")
    page = client.get("/pharmacy/sites/NTE/").content.decode()
    assert "Box dented" not in page and "Coord.Nantes" not in page and "N1" in page
