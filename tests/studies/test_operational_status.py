"""The study's operational status: dated, audited, set by the sponsor admin, distinct from the registry's."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor
from trialdesk.studies.models import OperationalStatus
from trialdesk.studies.services import (
    StudyStatusRefused,
    change_status,
    operational_status,
    set_operational_status,
)

D = dt.date


@pytest.fixture
def fresh_study(db):
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.services import install_study

    return install_study(default_protocol_path())


def test_a_new_study_is_being_set_up(fresh_study):
    assert operational_status(fresh_study, D(2026, 1, 1)) == OperationalStatus.SET_UP


def test_the_status_of_a_day_is_the_latest_change_effective_on_it(fresh_study):
    actor = Actor.system("tests")
    change_status(fresh_study, "recruiting", effective_on=D(2026, 1, 10), reason="open", actor=actor)
    change_status(fresh_study, "recruitment_closed", effective_on=D(2026, 3, 1), reason="target", actor=actor)
    assert operational_status(fresh_study, D(2026, 1, 9)) == OperationalStatus.SET_UP
    assert operational_status(fresh_study, D(2026, 1, 10)) == OperationalStatus.RECRUITING
    assert operational_status(fresh_study, D(2026, 2, 28)) == OperationalStatus.RECRUITING
    assert operational_status(fresh_study, D(2026, 3, 1)) == OperationalStatus.RECRUITMENT_CLOSED


def test_the_registry_status_is_not_the_operational_status(fresh_study):
    assert fresh_study.protocol.identification.overall_status == "Terminated"
    assert operational_status(fresh_study) == OperationalStatus.SET_UP


def test_it_refuses_a_change_dated_before_the_last_one(fresh_study):
    actor = Actor.system("tests")
    change_status(fresh_study, "recruiting", effective_on=D(2026, 1, 10), reason="open", actor=actor)
    with pytest.raises(StudyStatusRefused):
        change_status(fresh_study, "recruitment_closed", effective_on=D(2026, 1, 9), reason="x", actor=actor)


def test_it_refuses_a_change_without_a_reason_or_in_the_future(fresh_study):
    actor = Actor.system("tests")
    with pytest.raises(StudyStatusRefused):
        change_status(fresh_study, "recruiting", effective_on=D(2026, 1, 10), reason=" ", actor=actor)
    with pytest.raises(StudyStatusRefused):
        change_status(fresh_study, "recruiting", effective_on=D(2026, 1, 10), reason="open", actor=actor,
                      today=D(2026, 1, 9))


def test_a_closed_study_stays_closed(fresh_study):
    actor = Actor.system("tests")
    change_status(fresh_study, "closed", effective_on=D(2026, 1, 10), reason="stopped", actor=actor)
    with pytest.raises(StudyStatusRefused):
        change_status(fresh_study, "recruiting", effective_on=D(2026, 1, 11), reason="again", actor=actor)


def test_only_the_sponsor_admin_changes_the_status_and_it_is_audited(cast, study):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        set_operational_status(cast.data_manager, study, "recruitment_closed", effective_on=D(2026, 1, 1), reason="x")
    set_operational_status(cast.sponsor, study, "recruitment_closed", effective_on=D(2026, 1, 1), reason="target met")
    event = AuditEvent.objects.filter(action="status", object_type="study").latest("sequence")
    assert event.username == "sponsor" and event.role == "sponsor_admin" and event.reason == "target met"


def test_the_status_page_shows_the_history_and_changes_it(client, cast, study):
    client.login(username="sponsor", password=PASSWORD)
    page = client.get("/study/status/").content.decode()
    assert 'data-status="recruiting"' in page and 'id="status-form"' in page
    assert '<option value="" selected>' in page  # no answer chosen in advance
    response = client.post(
        "/study/status/", {"status": "recruitment_closed", "effective_on": "2026-01-05", "reason": "Target met"}
    )
    assert response.status_code == 302
    assert operational_status(study, D(2026, 1, 5)) == OperationalStatus.RECRUITMENT_CLOSED
    page = client.get("/study/status/").content.decode()
    assert "Target met" in page and "Recruitment closed" in page


def test_the_status_page_offers_no_change_to_other_roles(client, cast, study):
    client.login(username="datamanager", password=PASSWORD)
    assert 'id="status-form"' not in client.get("/study/status/").content.decode()
    response = client.post("/study/status/", {"status": "closed", "effective_on": "2026-01-05", "reason": "x"})
    assert response.status_code == 403
    assert operational_status(study, D(2026, 1, 5)) == OperationalStatus.RECRUITING
