"""Day 0 is the first dose: enrollment plans the visits from the planned first dose, the first
infusion re-plans them from its date, the end of treatment plans the end-of-treatment and
follow-up visits; the screening window is checked at enrollment and at the first infusion."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.services import save_form
from trialdesk.queries.models import Query, QueryOrigin, QueryStatus
from trialdesk.subjects.calendar import SCREENING_WINDOW_QUERY
from trialdesk.subjects.models import Subject, Visit
from trialdesk.subjects.services import SubjectActionRefused, enroll, replan_visits

SCREENED = dt.date(2026, 11, 20)  # the screened_subject fixture's screening date
D = dt.timedelta


def _visits(subject) -> dict[str, Visit]:
    return {v.code: v for v in Visit.objects.system("test").filter(subject=subject)}


def _schedule(study):
    return {v.code: v for v in study.protocol.schedule.expanded_visits()}


def _enroll(cast, subject, planned_first_dose, enrolled_on=dt.date(2026, 11, 24)):
    return enroll(
        cast.investigator_nantes,
        subject,
        consent_date=dt.date(2026, 11, 19),
        enrolled_on=enrolled_on,
        planned_first_dose_on=planned_first_dose,
        today=dt.date(2026, 12, 31),
    )


def _infusion(cast, subject, on: dt.date):
    protocol = subject.study.protocol
    form = protocol.concept_form("dose_date")
    data = protocol.concept_data(
        form,
        {
            "dose_date": on.isoformat(),
            "dose_weight": 70.0,
            "loading_dose": True,
            "dose_per_kg": 4.0,
            "dose_prescribed": 280.0,
            "dose_given": 280.0,
            "infusion_duration": 90,
            "infusion_reaction_seen": False,
        },
    )
    return save_form(cast.investigator_nantes, subject, form, data).record


def _end_of_treatment(cast, subject, stopped_on: dt.date):
    protocol = subject.study.protocol
    form = protocol.concept_form("treatment_stopped_on")
    visit = next(v for v in _visits(subject).values() if form in protocol.visit(v.code).forms)
    data = protocol.concept_data(
        form,
        {
            "treatment_stopped_on": stopped_on.isoformat(),
            "last_dose_on": stopped_on.isoformat(),
            "stopped_for_progression": True,
            "doses_received_count": 4,
        },
    )
    return save_form(cast.investigator_nantes, subject, form, data, visit=visit).record


def test_enrollment_plans_the_treatment_visits_from_the_planned_first_dose_not_the_enrollment_date(
    cast, screened_subject
):
    planned = dt.date(2026, 11, 27)
    subject = _enroll(cast, screened_subject, planned)
    assert subject.planned_first_dose_on == planned and subject.first_dose_on is None
    schedule = _schedule(subject.study)
    for code, visit in _visits(subject).items():
        if schedule[code].anchor == "first_dose" and schedule[code].day is not None and code != "SCR":
            assert visit.planned_date == planned + D(days=schedule[code].day), code
        if schedule[code].anchor == "end_of_treatment":
            assert visit.planned_date is None, code


def test_the_first_infusion_replans_from_its_date_and_keeps_a_visit_with_data(cast, screened_subject):
    subject = _enroll(cast, screened_subject, dt.date(2026, 11, 27))
    protocol = subject.study.protocol
    baseline_form = protocol.concept_form("body_weight")
    day_one = next(v for v in _visits(subject).values() if baseline_form in protocol.visit(v.code).forms)
    planned_day_one = day_one.planned_date
    save_form(
        cast.investigator_nantes,
        subject,
        baseline_form,
        protocol.concept_data(baseline_form, {"baseline_assessed_on": "2026-11-27", "body_weight": 70.0}),
        visit=day_one,
    )
    given = dt.date(2026, 11, 30)
    _infusion(cast, subject, given)

    subject.refresh_from_db()
    assert subject.first_dose_on == given
    visits, schedule = _visits(subject), _schedule(subject.study)
    assert visits[day_one.code].planned_date == planned_day_one  # holds data: kept
    moved = [c for c, v in schedule.items() if v.anchor == "first_dose" and v.day and v.day > 0]
    assert moved
    for code in moved:
        visit = schedule[code]
        assert visits[code].planned_date == given + D(days=visit.day)
        assert visits[code].window_start == given + D(days=visit.day - visit.window_before)


def test_a_later_infusion_does_not_move_day_zero(cast, screened_subject):
    subject = _enroll(cast, screened_subject, dt.date(2026, 11, 27))
    _infusion(cast, subject, dt.date(2026, 11, 28))
    events = AuditEvent.objects.filter(action="replan").count()
    _infusion(cast, subject, dt.date(2026, 12, 5))
    subject.refresh_from_db()
    assert subject.first_dose_on == dt.date(2026, 11, 28)
    assert AuditEvent.objects.filter(action="replan").count() == events


def test_correcting_the_first_infusion_date_replans_again(cast, screened_subject):
    subject = _enroll(cast, screened_subject, dt.date(2026, 11, 27))
    record = _infusion(cast, subject, dt.date(2026, 11, 29))
    field = subject.study.protocol.concept_field("dose_date", record.form_code)
    save_form(
        cast.investigator_nantes,
        subject,
        record.form_code,
        {**record.data, field: "2026-11-28"},
        repeat=record.repeat,
        expected_version=record.version,
        reason="transcription_error",
    )
    subject.refresh_from_db()
    assert subject.first_dose_on == dt.date(2026, 11, 28)
    month = next(
        c
        for c, v in _schedule(subject.study).items()
        if v.series and v.number == 1 and v.anchor == "first_dose"
    )
    assert _visits(subject)[month].planned_date == dt.date(2026, 11, 28) + D(
        days=_schedule(subject.study)[month].day
    )


@pytest.mark.parametrize("days_after_screening, refused", [(14, False), (15, True)])
def test_enrollment_checks_the_screening_window_against_the_planned_first_dose(
    cast, screened_subject, days_after_screening, refused
):
    planned = SCREENED + D(days=days_after_screening)
    if not refused:
        assert _enroll(cast, screened_subject, planned).planned_first_dose_on == planned
        return
    events = AuditEvent.objects.count()
    with translation.override("en"), pytest.raises(SubjectActionRefused) as refusal:
        _enroll(cast, screened_subject, planned)
    assert (
        "15 days before the first dose" in refusal.value.message
        and "at most 14 days" in refusal.value.message
    )
    screened_subject.refresh_from_db()
    assert screened_subject.status == "screening" and screened_subject.planned_first_dose_on is None
    assert AuditEvent.objects.count() == events


def test_the_window_refusal_is_in_french_too(cast, screened_subject):
    with translation.override("fr"), pytest.raises(SubjectActionRefused) as refusal:
        _enroll(cast, screened_subject, SCREENED + D(days=15))
    assert "premi" in refusal.value.message and "14 jours" in refusal.value.message


def test_a_planned_first_dose_before_the_enrollment_date_is_refused(cast, screened_subject):
    with pytest.raises(SubjectActionRefused):
        _enroll(cast, screened_subject, dt.date(2026, 11, 23), enrolled_on=dt.date(2026, 11, 24))


@pytest.mark.parametrize("days_after_screening, queried", [(14, False), (15, True)])
def test_the_first_infusion_checks_the_screening_window_against_the_actual_first_dose(
    cast, screened_subject, days_after_screening, queried
):
    subject = _enroll(cast, screened_subject, SCREENED + D(days=10))
    record = _infusion(cast, subject, SCREENED + D(days=days_after_screening))
    queries = list(Query.objects.system("test").filter(record=record, check_code=SCREENING_WINDOW_QUERY))
    if not queried:
        assert queries == []
        return
    [query] = queries
    assert (
        query.status == QueryStatus.OPEN
        and query.origin == QueryOrigin.EDIT_CHECK
        and query.raised_by is None
    )
    assert query.field_code == subject.study.protocol.concept_field("dose_date", record.form_code)
    assert "15 days before the first dose" in query.summary
    assert AuditEvent.objects.filter(action="query_open", object_id=str(query.pk)).count() == 1


def test_the_end_of_treatment_plans_the_end_of_treatment_and_follow_up_visits(cast, screened_subject):
    subject = _enroll(cast, screened_subject, dt.date(2026, 11, 27))
    _infusion(cast, subject, dt.date(2026, 11, 27))
    stopped = dt.date(2027, 1, 25)
    _end_of_treatment(cast, subject, stopped)
    subject.refresh_from_db()
    assert subject.treatment_ended_on == stopped
    visits, schedule = _visits(subject), _schedule(subject.study)
    anchored = [c for c, v in schedule.items() if v.anchor == "end_of_treatment" and v.day is not None]
    assert len(anchored) > 1
    for code in anchored:
        # the end-of-treatment visit holds its form already: its plan is filled in all the same
        assert visits[code].planned_date == stopped + D(days=schedule[code].day), code


def test_replanning_writes_one_audit_event_per_visit_whose_dates_change(cast, screened_subject):
    subject = _enroll(cast, screened_subject, dt.date(2026, 11, 27))
    before = {c: v.planned_date for c, v in _visits(subject).items()}
    Subject.objects.system("test").filter(pk=subject.pk).update(first_dose_on=dt.date(2026, 11, 29))
    changed = replan_visits(subject, cast_actor(cast), "test: first dose two days later")
    moved = {c for c, v in _visits(subject).items() if v.planned_date != before[c]}
    assert moved and {v.code for v in changed} == moved
    events = list(
        AuditEvent.objects.filter(action="replan").order_by("seq" if hasattr(AuditEvent, "seq") else "pk")
    )
    assert len(events) == len(moved)
    by_label = {e.object_label: e for e in events}
    for code in moved:
        event = by_label[f"{subject.label} {code}"]
        assert event.object_type == "visit" and event.reason == "test: first dose two days later"
        assert event.old_value["planned_date"] == before[code].isoformat()
        assert event.new_value["planned_date"] == (before[code] + D(days=2)).isoformat()
    assert replan_visits(subject, cast_actor(cast), "again") == []  # nothing moves: no event
    assert AuditEvent.objects.filter(action="replan").count() == len(moved)


def cast_actor(cast):
    from trialdesk.audit.services import Actor

    return Actor.for_user(cast.investigator_nantes, "investigator")


def test_voiding_the_first_infusion_moves_day_zero_to_the_next_one(cast, screened_subject):
    from trialdesk.crf.services import void_record

    subject = _enroll(cast, screened_subject, dt.date(2026, 11, 27))
    first = _infusion(cast, subject, dt.date(2026, 11, 27))
    _infusion(cast, subject, dt.date(2026, 11, 29))
    subject.refresh_from_db()
    assert subject.first_dose_on == dt.date(2026, 11, 27)
    first.refresh_from_db()
    void_record(cast.investigator_nantes, first, "entered on the wrong patient")
    subject.refresh_from_db()
    assert subject.first_dose_on == dt.date(2026, 11, 29)
    month = next(
        c
        for c, v in _schedule(subject.study).items()
        if v.series and v.number == 1 and v.anchor == "first_dose"
    )
    assert _visits(subject)[month].planned_date == dt.date(2026, 11, 29) + D(
        days=_schedule(subject.study)[month].day
    )


def test_the_screening_window_query_reads_in_french_for_a_french_reader_and_is_stored_in_english(
    cast, screened_subject
):
    from trialdesk.clinical.calendar import screening_window_check
    from trialdesk.queries import wording

    subject = _enroll(cast, screened_subject, SCREENED + D(days=10))
    first = SCREENED + D(days=15)  # one day past the 14 days of the protocol's screening window
    record = _infusion(cast, subject, first)
    query = Query.objects.system("test").get(record=record, check_code=SCREENING_WINDOW_QUERY)
    core = screening_window_check(SCREENED, first, subject.study.protocol.eligibility.window_days)
    assert query.summary.startswith(
        f"The first dose was given outside the screening window: {core.explanation}."
    )
    with translation.override("fr"):
        shown = wording.of_summary(query, subject.study.protocol)
    assert shown.lang == "" and shown.text.startswith("La première dose a été administrée hors de la fenêtre")
    assert "15 jours avant la première dose" in shown.text
