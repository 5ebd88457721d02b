"""An LVEF save opens, keeps or closes the cardiac hold (the FormSaved subscriber).

Baseline 62 % (screening). Hold rule (trastuzumab label, DESIGN §4; protocol
``dose_rules.cardiac_hold``): a drop >= 16 points, or below 50 % with a drop >= 10.
"""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.audit.models import AuditEvent
from trialdesk.cardiac.models import CardiacHold, HoldStatus
from trialdesk.cardiac.services import active_hold, repeat_lvef_due

pytestmark = pytest.mark.django_db


def _holds(subject):
    return list(CardiacHold.objects.system("test").filter(subject=subject).order_by("pk"))


def _hold_events():
    return list(AuditEvent.objects.filter(object_type="cardiac_hold").order_by("pk"))


def test_a_drop_of_16_points_puts_the_subject_on_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 46)  # 62 -> 46: 16 points
    hold = active_hold(enrolled_subject)
    assert hold is not None and hold.drop_points == 16 and hold.criterion == "drop"
    assert hold.started_on == dt.date(2027, 2, 15)
    assert hold.explanation.startswith("hold: LVEF 46 %, a drop of 16 points from 62 % at baseline")
    events = _hold_events()
    assert [e.action for e in events] == ["create"] and events[0].new_value == "active"


def _baseline(cast, subject, value):
    from trialdesk.crf.services import save_form

    # a baseline LVEF on the screening visit's LVEF form (it wins over the screening form's 62)
    save_form(
        cast.investigator_nantes,
        subject,
        "lvef",
        {"assessment_date": "2026-11-20", "lvef_pct": value, "method": "echo", "symptoms": False},
        visit=subject.visits.get(code="SCR"),
    )


def test_a_drop_of_15_points_above_50_opens_no_hold_and_16_does(cast, enrolled_subject, save_lvef):
    _baseline(cast, enrolled_subject, 66)
    save_lvef(enrolled_subject, 51)  # 15 points, not below 50
    assert active_hold(enrolled_subject) is None
    save_lvef(enrolled_subject, 50, version=1, reason="transcription_error")  # 16 points
    assert active_hold(enrolled_subject).criterion == "drop"


def test_exactly_50_percent_with_a_drop_of_10_opens_no_hold(cast, enrolled_subject, save_lvef):
    _baseline(cast, enrolled_subject, 60)
    save_lvef(enrolled_subject, 50)
    assert active_hold(enrolled_subject) is None


def test_49_percent_with_a_drop_of_10_holds_and_with_9_does_not(cast, enrolled_subject, save_lvef):
    _baseline(cast, enrolled_subject, 58)
    save_lvef(enrolled_subject, 49)  # drop 9
    assert active_hold(enrolled_subject) is None
    save_lvef(enrolled_subject, 48, version=1, reason="transcription_error")  # drop 10, below 50
    hold = active_hold(enrolled_subject)
    assert hold is not None and hold.criterion == "below_with_drop" and hold.baseline_pct == 58
    assert (
        hold.explanation
        == "hold: LVEF 48 %, below 50 % with a drop of 10 points from 58 % at baseline (10 points or more)"
    )


def test_a_re_save_that_still_meets_the_rule_opens_no_second_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40)
    save_lvef(enrolled_subject, 40, version=1, reason="source_updated", symptoms=True)
    assert len(_holds(enrolled_subject)) == 1 and len(_hold_events()) == 1


def test_a_corrected_value_still_meeting_the_rule_updates_the_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40)
    save_lvef(enrolled_subject, 44, version=1, reason="transcription_error")
    (hold,) = _holds(enrolled_subject)
    assert hold.is_active and hold.value_pct == 44 and hold.drop_points == 18
    assert [e.action for e in _hold_events()] == ["create", "change"]


def test_a_corrected_value_that_no_longer_meets_the_rule_closes_it_as_entered_in_error(
    enrolled_subject, save_lvef
):
    save_lvef(enrolled_subject, 40)
    save_lvef(enrolled_subject, 60, version=1, reason="transcription_error")
    (hold,) = _holds(enrolled_subject)
    assert hold.status == HoldStatus.ENTERED_IN_ERROR and active_hold(enrolled_subject) is None
    last = _hold_events()[-1]
    assert (
        last.action == "status" and last.new_value == "entered_in_error" and "corrected LVEF" in last.reason
    )


def test_a_value_meeting_the_rule_again_after_an_error_opens_a_new_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40)
    save_lvef(enrolled_subject, 60, version=1, reason="transcription_error")
    save_lvef(enrolled_subject, 41, version=2, reason="transcription_error")
    assert [h.status for h in _holds(enrolled_subject)] == ["entered_in_error", "active"]


def test_a_lifted_hold_is_not_reopened_by_a_re_save_of_its_lvef(cast, enrolled_subject, save_lvef):
    from trialdesk.cardiac.services import lift_hold

    save_lvef(enrolled_subject, 40)
    lift_hold(
        cast.investigator_nantes,
        active_hold(enrolled_subject),
        "Cardiology advice: resume",
        on=dt.date(2027, 3, 1),
    )
    save_lvef(enrolled_subject, 40, version=1, reason="source_updated", symptoms=True)
    assert active_hold(enrolled_subject) is None and len(_holds(enrolled_subject)) == 1


def test_a_later_lvef_still_low_opens_no_second_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40)
    save_lvef(enrolled_subject, 42, visit="C2", on="2027-03-01")
    assert len(_holds(enrolled_subject)) == 1


def test_the_baseline_lvef_itself_never_holds(cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "lvef",
        {"assessment_date": "2026-11-20", "lvef_pct": 30, "method": "echo", "symptoms": False},
        visit=enrolled_subject.visits.get(code="SCR"),
    )
    assert not _holds(enrolled_subject)


def test_the_repeat_lvef_is_due_28_days_after_the_lvef_that_started_the_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40, on="2027-02-15")
    assert repeat_lvef_due(enrolled_subject) == dt.date(2027, 3, 15)  # protocol: repeat_lvef.within_days 28


def test_the_repeat_lvef_is_no_longer_due_once_recorded(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 40, on="2027-02-15")
    save_lvef(enrolled_subject, 55, visit="C2", on="2027-03-10")
    assert repeat_lvef_due(enrolled_subject) is None
    assert active_hold(enrolled_subject) is not None  # the investigator still decides


def test_the_repeat_lvef_is_recorded_at_the_repeat_cardiac_assessment_between_the_scheduled_ones(
    enrolled_subject, save_lvef
):
    # the schedule's event-driven CARD visit: the label repeats the LVEF within 4 weeks, before C2
    save_lvef(enrolled_subject, 40, on="2027-02-15")
    card = enrolled_subject.visits.get(code="CARD")
    assert card.planned_date is None  # event-driven: dated when it takes place
    save_lvef(enrolled_subject, 56, visit="CARD", on="2027-03-01")
    assert repeat_lvef_due(enrolled_subject) is None


def test_no_repeat_is_due_without_a_hold(enrolled_subject, save_lvef):
    save_lvef(enrolled_subject, 60)
    assert repeat_lvef_due(enrolled_subject) is None


def test_voiding_the_lvef_closes_its_hold_as_entered_in_error(cast, enrolled_subject, save_lvef):
    from trialdesk.crf.services import void_record

    outcome = save_lvef(enrolled_subject, 40)
    void_record(cast.investigator_nantes, outcome.record, "wrong patient's echo")
    (hold,) = _holds(enrolled_subject)
    assert hold.status == HoldStatus.ENTERED_IN_ERROR and "voided" in hold.end_reason


def test_a_corrected_baseline_that_no_longer_meets_the_rule_closes_the_hold(
    cast, enrolled_subject, save_lvef
):
    from trialdesk.crf.services import save_form

    save_lvef(enrolled_subject, 47)  # 62 -> 47: 15 points, below 50: hold
    record = enrolled_subject.form_records.get(form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "lvef_pct": 55},
        visit=record.visit,
        expected_version=record.version,
        reason="transcription_error",
    )
    (hold,) = _holds(enrolled_subject)  # 55 -> 47: 8 points
    assert hold.status == HoldStatus.ENTERED_IN_ERROR and "corrected baseline LVEF" in hold.end_reason


def test_a_corrected_baseline_still_meeting_the_rule_updates_the_drop(cast, enrolled_subject, save_lvef):
    from trialdesk.crf.services import save_form

    save_lvef(enrolled_subject, 40)
    record = enrolled_subject.form_records.get(form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "lvef_pct": 65},
        visit=record.visit,
        expected_version=record.version,
        reason="transcription_error",
    )
    hold = active_hold(enrolled_subject)
    assert hold.baseline_pct == 65 and hold.drop_points == 25
