"""Site activation dates: the day a site opens for screening, set by the sponsor administrator
(audited); screening before it is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.administration.conftest import ADMIN
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.subjects.services import SubjectActionRefused, register_screening

SITES = f"{ADMIN}/sites/"


def test_it_sets_a_sites_activation_date_audited(admin, study):
    response = admin.post(SITES, {"site": "NTE", "activated_on": "2026-01-15"})
    assert response.status_code == 302
    site = study.sites.get(code="NTE")
    assert site.activated_on == dt.date(2026, 1, 15)
    event = AuditEvent.objects.get(action="change", field="activated_on", site_code="NTE")
    assert (event.old_value, event.new_value, event.role) == (None, "2026-01-15", "sponsor_admin")


def test_screening_the_day_before_activation_is_refused_and_on_the_day_allowed(admin, cast, study):
    admin.post(SITES, {"site": "NTE", "activated_on": "2026-11-20"})
    site = study.sites.get(code="NTE")
    with pytest.raises(SubjectActionRefused, match="opens for screening"):
        register_screening(
            cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 19), today=dt.date(2026, 11, 25)
        )
    subject = register_screening(
        cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    assert subject.screened_on == dt.date(2026, 11, 20)


def test_it_refuses_an_activation_after_a_patient_was_screened(admin, cast, study):
    site = study.sites.get(code="NTE")
    register_screening(
        cast.investigator_nantes, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25)
    )
    response = admin.post(SITES, {"site": "NTE", "activated_on": "2026-11-21"})
    assert response.status_code == 400 and "cannot be later" in response.content.decode()
    assert admin.post(SITES, {"site": "NTE", "activated_on": "2026-11-20"}).status_code == 302
    site.refresh_from_db()
    assert site.activated_on == dt.date(2026, 11, 20)


def test_it_refuses_a_date_that_is_not_one(admin, study):
    response = admin.post(SITES, {"site": "NTE", "activated_on": "2026-02-30"})
    assert response.status_code == 400 and "Enter a valid date" in response.content.decode()
    assert study.sites.get(code="NTE").activated_on is None


def test_an_unknown_site_is_not_found(admin):
    assert admin.post(SITES, {"site": "ZZZ", "activated_on": "2026-01-01"}).status_code == 404


@pytest.mark.parametrize("role", ["investigator_nantes", "monitor", "data_manager"])
def test_only_the_sponsor_administrator_sets_it(client, cast, study, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert client.post(SITES, {"site": "NTE", "activated_on": "2026-01-15"}).status_code == 403
    assert study.sites.get(code="NTE").activated_on is None
