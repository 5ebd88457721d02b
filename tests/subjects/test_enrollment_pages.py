"""Enrollment in the browser: only eligible, consented patients, once, with their id and
visit schedule; every refusal is a clear message and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.subjects.screening_helpers import (  # noqa: F401 (password_only is a fixture)
    days_ago,
    login,
    password_only,
    screen_in_browser,
    today,
)

from trialdesk.audit.models import AuditEvent
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

pytestmark = pytest.mark.usefixtures("password_only")


@pytest.fixture
def coordinator(client, cast):
    return login(client, "coord.nantes")


def _enroll(client, subject, consent: dt.date, enrolled: dt.date, planned_first_dose: dt.date | None = None):
    return client.post(
        f"/subjects/{subject.pk}/enroll/",
        {
            "consent_date": consent.isoformat(),
            "enrolled_on": enrolled.isoformat(),
            "planned_first_dose_on": (planned_first_dose or enrolled).isoformat(),
        },
    )


def _assert_nothing_written(subject, events_before: int):
    subject.refresh_from_db()
    assert subject.status == SubjectStatus.SCREENING
    assert subject.subject_code is None and subject.enrolled_on is None and subject.consent_date is None
    assert Visit.objects.system("test").filter(subject=subject).count() == 1  # the screening visit only
    assert AuditEvent.objects.count() == events_before


def test_the_coordinator_screens_sees_the_verdict_and_enrolls_nte_001(coordinator, study, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(3))
    page = coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'id="eligibility" data-verdict="eligible"' in page
    assert page.count('data-status="met"') == len(study.protocol.eligibility.criteria)
    assert f'action="/subjects/{subject.pk}/enroll/"' in page
    assert f'value="{days_ago(4).isoformat()}"' in page  # the consent date of the screening form, proposed

    response = _enroll(coordinator, subject, days_ago(4), today())
    assert response.status_code == 302 and response["Location"] == f"/subjects/{subject.pk}/"
    subject.refresh_from_db()
    assert subject.subject_code == "NTE-001" and subject.status == SubjectStatus.ENROLLED
    assert subject.enrolled_on == today() and subject.consent_date == days_ago(4)
    planned = list(study.protocol.schedule.expanded_visits())
    assert Visit.objects.system("test").filter(subject=subject).count() == len(planned)
    day_one = Visit.objects.system("test").get(subject=subject, code="D1")
    assert day_one.planned_date == today()
    casebook = coordinator.get(response["Location"]).content.decode()
    assert "NTE-001" in casebook and "Enrolled as NTE-001" in casebook
    log = coordinator.get("/sites/NTE/screening/").content.decode()
    assert f'href="/subjects/{subject.pk}/">NTE-001</a>' in log


def test_an_ineligible_patient_is_refused_and_nothing_is_written(coordinator, site):
    subject = screen_in_browser(coordinator, marrow_blasts_pct=18)
    events = AuditEvent.objects.count()
    response = _enroll(coordinator, subject, days_ago(3), today())
    page = response.content.decode()
    assert response.status_code == 400
    assert "(I6): enrollment refused." in page
    _assert_nothing_written(subject, events)


def test_a_not_yet_assessable_patient_is_refused(coordinator, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(20))  # values outside the 14-day window
    events = AuditEvent.objects.count()
    response = _enroll(coordinator, subject, days_ago(21), today())
    assert response.status_code == 400 and "enrollment refused" in response.content.decode()
    _assert_nothing_written(subject, events)


def test_consent_after_enrollment_is_refused(coordinator, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(3))
    events = AuditEvent.objects.count()
    response = _enroll(coordinator, subject, today(), days_ago(1))
    assert response.status_code == 400
    assert "Consent must be given on or before the enrollment date" in response.content.decode()
    _assert_nothing_written(subject, events)


def test_an_enrollment_date_in_the_future_is_refused(coordinator, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(3))
    events = AuditEvent.objects.count()
    response = _enroll(coordinator, subject, days_ago(3), today() + dt.timedelta(days=1))
    assert response.status_code == 400
    assert "The enrollment date cannot be in the future" in response.content.decode()
    _assert_nothing_written(subject, events)


def test_the_visits_are_planned_from_the_planned_first_dose_typed_on_the_page(coordinator, study, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(3))
    page = coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'name="planned_first_dose_on"' in page and "Planned first dose" in page
    planned = today() + dt.timedelta(days=4)
    response = _enroll(coordinator, subject, days_ago(4), today(), planned)
    assert response.status_code == 302
    subject.refresh_from_db()
    assert subject.planned_first_dose_on == planned and subject.enrolled_on == today()
    assert Visit.objects.system("test").get(subject=subject, code="D1").planned_date == planned


def test_a_planned_first_dose_outside_the_screening_window_is_refused_on_the_page(coordinator, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(3))
    events = AuditEvent.objects.count()
    response = _enroll(coordinator, subject, days_ago(4), today(), days_ago(3) + dt.timedelta(days=15))
    assert response.status_code == 400
    assert "the protocol allows at most 14 days" in response.content.decode()
    _assert_nothing_written(subject, events)


def test_missing_dates_are_refused_with_a_message(coordinator, site):
    subject = screen_in_browser(coordinator)
    events = AuditEvent.objects.count()
    response = coordinator.post(
        f"/subjects/{subject.pk}/enroll/", {"consent_date": "", "enrolled_on": "tomorrow"}
    )
    assert response.status_code == 400 and "nothing was saved" in response.content.decode()
    _assert_nothing_written(subject, events)


def test_a_second_enrollment_of_the_same_episode_is_refused(coordinator, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(3))
    assert _enroll(coordinator, subject, days_ago(4), days_ago(1)).status_code == 302
    events = AuditEvent.objects.count()
    visits = Visit.objects.system("test").filter(subject=subject).count()
    response = _enroll(coordinator, subject, days_ago(4), today())
    assert response.status_code == 400
    assert "This screening episode is closed" in response.content.decode()
    subject.refresh_from_db()
    assert subject.subject_code == "NTE-001" and subject.enrolled_on == days_ago(1)
    assert Visit.objects.system("test").filter(subject=subject).count() == visits
    assert AuditEvent.objects.count() == events
    assert Subject.objects.system("test").filter(subject_code__isnull=False).count() == 1


def test_subject_ids_follow_the_site_sequence(coordinator, site):
    first = screen_in_browser(coordinator, screened_on=days_ago(3))
    second = screen_in_browser(coordinator, screened_on=days_ago(2))
    _enroll(coordinator, second, days_ago(3), today())
    _enroll(coordinator, first, days_ago(4), today())
    assert Subject.objects.system("test").get(pk=second.pk).subject_code == "NTE-001"
    assert Subject.objects.system("test").get(pk=first.pk).subject_code == "NTE-002"


def test_a_monitor_cannot_enroll(client, cast, site):
    subject = screen_in_browser(login(client, "coord.nantes"), screened_on=days_ago(3))
    login(client, "monitor")
    page = client.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'data-verdict="eligible"' in page and "/enroll/" not in page
    assert _enroll(client, subject, days_ago(4), today()).status_code == 403
    subject.refresh_from_db()
    assert subject.status == SubjectStatus.SCREENING


def test_a_refusal_is_shown_in_french(client, cast, site):
    subject = screen_in_browser(login(client, "coord.nantes"), screened_on=days_ago(3))
    response = client.post(
        f"/subjects/{subject.pk}/enroll/",
        {
            "consent_date": today().isoformat(),
            "enrolled_on": days_ago(1).isoformat(),
            "planned_first_dose_on": days_ago(1).isoformat(),
        },
        headers={"accept-language": "fr"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Le consentement doit être donné au plus tard à la date d’inclusion" in page
    assert "Éligibilité" in page
