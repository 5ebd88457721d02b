"""The investigator lifts the hold or stops treatment; nobody else can (LIFT_CARDIAC_HOLD)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from trialdesk.audit.models import AuditEvent
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.cardiac.services import HoldActionRefused, active_hold, lift_hold, stop_treatment_for_hold
from trialdesk.subjects.models import Subject

pytestmark = pytest.mark.django_db

ON = dt.date(2027, 3, 10)  # the day of the investigator's decision, after the LVEF of 2027-02-15


@pytest.fixture
def hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40, on="2027-02-15")  # 62 -> 40: 22 points
    return active_hold(enrolled_subject)


def test_an_investigator_lifts_the_hold_with_a_reason(cast, hold):
    lift_hold(cast.investigator_nantes, hold, "Repeat echo 58 %, cardiologist agrees", on=ON)
    hold = CardiacHold.objects.system("test").get(pk=hold.pk)
    assert hold.status == HoldStatus.LIFTED and hold.ended_by == cast.investigator_nantes
    event = AuditEvent.objects.filter(object_type="cardiac_hold").latest("pk")
    assert (event.action, event.new_value, event.role) == ("status", "lifted", "investigator")
    assert event.reason == "Repeat echo 58 %, cardiologist agrees"


def test_it_refuses_a_lift_without_a_reason(cast, hold):
    with pytest.raises(HoldActionRefused, match="reason"):
        lift_hold(cast.investigator_nantes, hold, "   ", on=ON)
    assert active_hold(hold.subject) is not None


@pytest.mark.parametrize("role", ["coordinator_nantes", "monitor", "data_manager", "sponsor", "statistician"])
def test_it_refuses_a_lift_by_anyone_but_an_investigator(cast, hold, role):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        lift_hold(getattr(cast, role), hold, "I think it is fine", on=ON)
    assert active_hold(hold.subject) is not None and AuditEvent.objects.count() == before


def test_an_investigator_of_another_site_does_not_find_the_hold(cast, hold):
    with pytest.raises(Http404):
        lift_hold(cast.investigator_rennes, hold, "resume", on=ON)


def test_it_refuses_to_lift_a_hold_that_has_ended(cast, hold):
    lift_hold(cast.investigator_nantes, hold, "resume", on=ON)
    with pytest.raises(HoldActionRefused, match="already ended"):
        lift_hold(cast.investigator_nantes, hold, "resume again", on=ON)


def test_it_refuses_a_decision_dated_before_the_lvef_that_started_the_hold(cast, hold):
    with pytest.raises(HoldActionRefused, match="cannot precede"):
        lift_hold(cast.investigator_nantes, hold, "resume", on=dt.date(2027, 2, 14))
    assert active_hold(hold.subject) is not None


def test_the_hold_covers_the_days_up_to_its_lifting(cast, hold):
    from trialdesk.cardiac.services import hold_on

    lift_hold(cast.investigator_nantes, hold, "resume", on=ON)
    assert hold_on(hold.subject, dt.date(2027, 2, 14)) is None
    assert hold_on(hold.subject, dt.date(2027, 2, 15)).pk == hold.pk
    assert hold_on(hold.subject, ON - dt.timedelta(days=1)).pk == hold.pk
    assert hold_on(hold.subject, ON) is None


def test_stopping_treatment_ends_it_through_the_calendar_anchor(cast, hold):
    subject = hold.subject
    stop_treatment_for_hold(cast.investigator_nantes, hold, "LVEF 40 %, symptomatic", on=dt.date(2027, 2, 16))
    assert CardiacHold.objects.system("test").get(pk=hold.pk).status == HoldStatus.TREATMENT_STOPPED
    subject = Subject.objects.system("test").get(pk=subject.pk)
    assert subject.treatment_ended_on == dt.date(2027, 2, 16)
    assert AuditEvent.objects.filter(
        object_type="subject", field="treatment_ended_on", role="investigator"
    ).exists()


def test_a_coordinator_cannot_stop_treatment_for_a_hold(cast, hold):
    with pytest.raises(PermissionDenied):
        stop_treatment_for_hold(cast.coordinator_nantes, hold, "stop", on=ON)
    assert Subject.objects.system("test").get(pk=hold.subject_id).treatment_ended_on is None
