"""Enrollment needs a recruiting study on its date; past the target a patient waits for a data manager;
the consent records its form's version, and a re-consent is recorded the same way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor
from trialdesk.crf.services import save_form
from trialdesk.studies.services import change_status
from trialdesk.subjects.models import Consent, Subject, SubjectStatus
from trialdesk.subjects.services import (
    SubjectActionRefused,
    confirm_enrollment,
    enroll,
    record_reconsent,
    register_screening,
)

D = dt.date
TODAY = D(2026, 11, 25)
ENROLLED_ON = D(2026, 11, 24)


def _screened(cast, site):
    subject = register_screening(cast.investigator_nantes, site, screened_on=D(2026, 11, 20), sex="M",
                                 year_of_birth=1964, today=TODAY)
    save_form(cast.investigator_nantes, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get())
    return subject


def _enroll(cast, subject, on=ENROLLED_ON, **kwargs):
    return enroll(cast.investigator_nantes, subject, consent_date=D(2026, 11, 19), enrolled_on=on, today=TODAY, **kwargs)


def _close(study, on):
    change_status(study, "recruitment_closed", effective_on=on, reason="closed", actor=Actor.system("tests"))


def test_it_refuses_enrollment_while_recruitment_is_closed(cast, study, site):
    _close(study, D(2026, 11, 1))
    subject = _screened(cast, site)
    with translation.override("en"), pytest.raises(SubjectActionRefused, match="not recruiting"):
        _enroll(cast, subject)
    subject.refresh_from_db()
    assert subject.status == SubjectStatus.SCREENING and subject.subject_code is None


def test_it_refuses_enrollment_on_the_day_recruitment_closes_and_accepts_the_day_before(cast, study, site):
    _close(study, D(2026, 11, 24))
    with pytest.raises(SubjectActionRefused):
        _enroll(cast, _screened(cast, site), on=D(2026, 11, 24))
    assert _enroll(cast, _screened(cast, site), on=D(2026, 11, 23)).status == SubjectStatus.ENROLLED


def test_it_refuses_enrollment_before_recruitment_opens(cast, site, db):
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.services import install_study

    other = default_protocol_path().read_text(encoding="utf-8").replace("NCT00724360", "NCT09999998")
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "p.yaml"
    path.write_text(other, encoding="utf-8")
    fresh = install_study(path)
    from trialdesk.studies.models import Membership, Role

    nte = fresh.sites.get(code="NTE")
    Membership.objects.create(user=cast.investigator_nantes, study=fresh, role=Role.INVESTIGATOR, site=nte)
    cast.investigator_nantes.__dict__.pop("_trialdesk_access", None)
    subject = _screened(cast, nte)
    with translation.override("en"), pytest.raises(SubjectActionRefused, match="Set up"):
        _enroll(cast, subject)


def _fill_to(study, count, monkeypatch):
    """The study's target lowered to ``count`` + what is enrolled (a smaller protocol target)."""
    ident = study.protocol.identification
    monkeypatch.setattr(ident.enrollment, "__dict__", {**ident.enrollment.__dict__, "count": count})


def test_the_patient_that_reaches_the_target_exactly_is_enrolled(cast, study, site, monkeypatch):
    _fill_to(study, 2, monkeypatch)
    _enroll(cast, _screened(cast, site))
    second = _enroll(cast, _screened(cast, site))
    assert second.status == SubjectStatus.ENROLLED and second.subject_code == "NTE-002"


def test_past_the_target_an_eligible_patient_waits_as_pending_enrollment(cast, study, site, monkeypatch):
    _fill_to(study, 1, monkeypatch)
    _enroll(cast, _screened(cast, site))
    waiting = _enroll(cast, _screened(cast, site))
    assert waiting.status == SubjectStatus.PENDING_ENROLLMENT and waiting.subject_code is None
    assert waiting.enrollment_requested_on == D(2026, 11, 24) and waiting.visits.count() == 1
    assert AuditEvent.objects.filter(action="enrollment_pending", object_id=str(waiting.pk)).exists()


def test_a_data_manager_confirms_a_pending_enrollment(cast, study, site, monkeypatch):
    _fill_to(study, 1, monkeypatch)
    _enroll(cast, _screened(cast, site))
    waiting = _enroll(cast, _screened(cast, site))
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        confirm_enrollment(cast.investigator_nantes, waiting)
    enrolled = confirm_enrollment(cast.data_manager, waiting)
    assert enrolled.status == SubjectStatus.ENROLLED and enrolled.subject_code == "NTE-002"
    assert enrolled.enrolled_on == D(2026, 11, 24) and enrolled.visits.count() > 1
    event = AuditEvent.objects.filter(action="enroll", object_id=str(waiting.pk)).get()
    assert event.role == "data_manager" and event.old_value == SubjectStatus.PENDING_ENROLLMENT


def test_the_confirm_button_is_on_the_pending_patients_page_for_the_data_manager(client, cast, study, site,
                                                                                 monkeypatch):
    _fill_to(study, 1, monkeypatch)
    _enroll(cast, _screened(cast, site))
    waiting = _enroll(cast, _screened(cast, site))
    client.login(username="datamanager", password=PASSWORD)
    page = client.get(f"/subjects/{waiting.pk}/eligibility/").content.decode()
    assert 'id="confirm-enrollment"' in page and "Pending enrollment" in page
    assert waiting.screening_number in client.get("/worklists/eligibility-changed/").content.decode()
    response = client.post(f"/subjects/{waiting.pk}/confirm-enrollment/")
    assert response.status_code == 302
    assert Subject.objects.system("test").get(pk=waiting.pk).status == SubjectStatus.ENROLLED
    client.login(username="inv.nantes", password=PASSWORD)
    assert 'id="confirm-enrollment"' not in client.get(f"/subjects/{waiting.pk}/eligibility/").content.decode()


def test_the_consent_records_the_version_in_force_on_its_date(cast, enrolled_subject):
    assert enrolled_subject.consent_version == "1.0"
    consent = Consent.objects.system("test").get(subject=enrolled_subject)
    assert (consent.version, consent.consented_on) == ("1.0", D(2026, 11, 19))
    assert AuditEvent.objects.filter(action="consent", object_id=str(enrolled_subject.pk)).exists()


@pytest.fixture
def two_versions(study, monkeypatch):
    from trialdesk.protocol.model import ConsentVersion

    versions = [
        *study.protocol.consent_versions,
        ConsentVersion(source="operational", rationale="amendment", version="2.0", effective_from=D(2026, 12, 1)),
    ]
    protocol = study.protocol.model_copy(update={"consent_versions": versions})
    monkeypatch.setattr(type(study), "protocol", property(lambda self: protocol))
    return protocol


def test_a_re_consent_to_a_new_version_is_recorded_and_audited(cast, enrolled_subject, two_versions):
    consent = record_reconsent(cast.investigator_nantes, enrolled_subject, version="2.0", consented_on=D(2026, 12, 2),
                               today=D(2026, 12, 3))
    enrolled_subject.refresh_from_db()
    assert enrolled_subject.consent_version == "2.0" and consent.consented_on == D(2026, 12, 2)
    assert enrolled_subject.consent_date == D(2026, 11, 19)  # the first consent stays the first
    event = AuditEvent.objects.filter(action="reconsent", object_id=str(enrolled_subject.pk)).get()
    assert event.new_value == {"version": "2.0", "consented_on": "2026-12-02"}


def test_it_refuses_a_re_consent_before_the_version_takes_effect_or_to_the_same_version(cast, enrolled_subject,
                                                                                        two_versions):
    with pytest.raises(SubjectActionRefused):
        record_reconsent(cast.investigator_nantes, enrolled_subject, version="2.0", consented_on=D(2026, 11, 30),
                         today=D(2026, 12, 3))
    with pytest.raises(SubjectActionRefused):
        record_reconsent(cast.investigator_nantes, enrolled_subject, version="1.0", consented_on=D(2026, 12, 2),
                         today=D(2026, 12, 3))
    assert Consent.objects.system("test").filter(subject=enrolled_subject).count() == 1


def test_the_re_consent_form_is_on_the_subject_page(client, cast, enrolled_subject, two_versions):
    client.login(username="inv.nantes", password=PASSWORD)
    page = client.get(f"/subjects/{enrolled_subject.pk}/eligibility/").content.decode()
    assert 'id="reconsent-form"' in page and 'data-version="1.0"' in page
    response = client.post(f"/subjects/{enrolled_subject.pk}/reconsent/",
                           {"version": "2.0", "consented_on": "2026-12-02"})
    assert response.status_code == 302
    assert Consent.objects.system("test").filter(subject=enrolled_subject, version="2.0").exists()
