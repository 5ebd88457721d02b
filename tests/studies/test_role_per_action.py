"""The trail records the role that grants the action, at that site (issue 7, finding 3)."""

from __future__ import annotations

import pytest
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.audit.models import AuditEvent
from trialdesk.studies.access import Permission, study_access
from trialdesk.studies.models import Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def investigator_and_data_manager(cast, study):
    """Investigator at Nantes and data manager of the whole study: the alphabetically first
    role (data_manager) used to be recorded for everything."""
    user = cast.investigator_nantes
    Membership.objects.create(user=user, study=study, role=Role.DATA_MANAGER)
    user.__dict__.pop("_trialdesk_access", None)
    return user


def test_data_entered_at_the_site_is_recorded_under_the_site_role(investigator_and_data_manager, screened_subject):
    from trialdesk.crf.services import save_form

    record = screened_subject.form_records.get(form_code="screening")
    save_form(investigator_and_data_manager, screened_subject, "screening", dict(ELIGIBLE_SCREENING, ecog=2),
              visit=record.visit, expected_version=record.version, reason="transcription_error")
    change = AuditEvent.objects.filter(action="change", field="ecog").latest("sequence")
    assert change.role == Role.INVESTIGATOR


def test_a_lock_is_recorded_under_the_role_that_grants_locking(investigator_and_data_manager, screened_subject):
    from trialdesk.locks.services import lock

    lock(investigator_and_data_manager, screened_subject, reason="clean casebook")
    assert AuditEvent.objects.filter(action="lock").latest("sequence").role == Role.DATA_MANAGER


def test_a_query_is_raised_under_the_role_that_grants_raising_it(investigator_and_data_manager, screened_subject):
    from trialdesk.queries.services import raise_query

    record = screened_subject.form_records.get(form_code="screening")
    raise_query(investigator_and_data_manager, record, "ecog", "ECOG against the source?")
    assert AuditEvent.objects.filter(action="query_open").latest("sequence").role == Role.DATA_MANAGER


def test_where_two_roles_grant_a_permission_the_site_role_wins(cast, study):
    user = cast.monitor  # monitor of NTE and RNS
    Membership.objects.create(user=user, study=study, role=Role.DATA_MANAGER)
    user.__dict__.pop("_trialdesk_access", None)
    access = study_access(user, study)
    nte = study.sites.get(code="NTE").pk
    cfd = study.sites.get(code="CFD").pk  # not a monitored site: only the study-wide role there
    assert access.role_for(Permission.RAISE_QUERY, nte) == Role.MONITOR
    assert access.role_for(Permission.RAISE_QUERY, cfd) == Role.DATA_MANAGER
    assert access.role_for(Permission.LOCK, nte) == Role.DATA_MANAGER
    assert access.role_for(Permission.SIGN, nte) == ""


def test_sign_in_events_record_the_user_and_no_clinical_role(client, cast):
    from tests.conftest import PASSWORD

    client.post("/accounts/login/", {"username": cast.investigator_nantes.username, "password": PASSWORD})
    login = AuditEvent.objects.filter(action="login").latest("sequence")
    assert login.username == cast.investigator_nantes.username and login.role == ""
