"""The monitor verifies a site's accountability: the date, the balance seen and a comment,
audited; the page says whether anything moved since."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from tests.conftest import PASSWORD
from tests.pharmacy.conftest import LOT, VIALS, give, infusion

from trialdesk.audit.models import AuditEvent
from trialdesk.pharmacy.accountability import accountability_data
from trialdesk.pharmacy.models import Verification
from trialdesk.pharmacy.services import SupplyRefused, verify_accountability

DAY = dt.date(2026, 11, 27)


def test_the_monitor_verifies_the_balance_seen_and_it_is_audited(cast, site, stock):
    verification = verify_accountability(
        cast.monitor,
        site,
        verified_on=DAY,
        seen_balance=VIALS,
        comment="Stock counted in the pharmacy fridge",
    )
    assert verification.balance == VIALS
    assert verification.lots[LOT] == {
        "received": VIALS,
        "dispensed": 0,
        "returned": 0,
        "destroyed": 0,
        "balance": VIALS,
    }
    event = AuditEvent.objects.get(object_type="drug_accountability_verification")
    assert event.username == "monitor" and event.role == "monitor" and event.new_value["balance"] == VIALS
    (data,) = accountability_data(site.study, [site.pk])
    assert data.last_verification.balance == VIALS and data.moved_since_verification is False


def test_an_infusion_after_the_verification_shows_as_moved_since(cast, site, stock, enrolled_subject):
    verify_accountability(cast.monitor, site, verified_on=DAY, seen_balance=VIALS)
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24"))
    (data,) = accountability_data(site.study, [site.pk])
    assert data.moved_since_verification is True


def test_it_refuses_a_verification_of_a_balance_that_changed_meanwhile(cast, site, stock, enrolled_subject):
    give(cast.coordinator_nantes, enrolled_subject, infusion("2026-11-24", vials=2))
    with pytest.raises(SupplyRefused) as refused:
        verify_accountability(cast.monitor, site, verified_on=DAY, seen_balance=VIALS)
    assert "now 18 vials" in refused.value.message
    assert not Verification.objects.system("test").exists()


def test_an_investigator_cannot_verify_the_accountability(cast, site, stock):
    with pytest.raises(PermissionDenied):
        verify_accountability(cast.investigator_nantes, site, verified_on=DAY, seen_balance=VIALS)


def test_the_page_shows_the_verification_and_the_monitor_verifies_from_it(client, cast, site, stock):
    client.login(username="monitor", password=PASSWORD)
    page = client.get("/pharmacy/sites/NTE/").content.decode()
    assert 'id="verify-accountability"' in page and "has not been verified yet" in page
    response = client.post(
        "/pharmacy/sites/NTE/verify/",
        {"verified_on": DAY.isoformat(), "seen_balance": str(VIALS), "comment": "Counted"},
    )
    assert response.status_code == 302
    page = client.get("/pharmacy/sites/NTE/").content.decode()
    assert (
        "Last verified on" in page and "a balance of 20 vials" in page and "Nothing has moved since." in page
    )
