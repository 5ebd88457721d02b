"""The demo looks like a trial in progress: its simulated calendar shifted so that today falls in
its last months, the protocol's own dates unchanged, the trail at true system times; the
calendar of every treated subject starts on its first infusion."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.simulate.schedule import IN_PROGRESS_AFTER_RECRUITMENT, StudyCalendar

TODAY = dt.date(2026, 12, 9)
SEED = 2012
D = dt.timedelta

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def built(demo_builds, django_db_blocker):
    """The demo in progress on TODAY, built once for the run (tests/conftest.py ``demo_builds``),
    loaded for the module (rolled back at the end); with the time its build started."""
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.studies.models import Study

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        with transaction.atomic():
            loaded = demo_builds.load(seed=SEED, today=TODAY)
            yield Study.objects.get(), loaded.built_at
            transaction.set_rollback(True)


@pytest.fixture
def study(built, db):
    return built[0]


def _subjects(study):
    from trialdesk.subjects.models import Subject

    return list(Subject.objects.system("test").filter(study=study).order_by("screened_on", "pk"))


def _records(study, form_code):
    from trialdesk.crf.models import FormRecord

    return list(FormRecord.objects.system("test").filter(subject__study=study, form_code=form_code))


def _infusion_dates(study) -> dict[int, list[dt.date]]:
    protocol = study.protocol
    form = protocol.concept_form("dose_date")
    field = protocol.concept_field("dose_date", form)
    dates: dict[int, list[dt.date]] = {}
    for record in _records(study, form):
        dates.setdefault(record.subject_id, []).append(dt.date.fromisoformat(record.data[field]))
    return {k: sorted(v) for k, v in dates.items()}


def test_today_falls_in_the_last_months_of_the_demo_trial(study):
    from trialdesk.subjects.models import Visit

    subjects = _subjects(study)
    enrolled = [s for s in subjects if s.enrolled_on is not None]
    assert (
        len(enrolled) == 15 and len(subjects) - len(enrolled) == 9
    )  # every patient enrolled, after the failures
    assert max(s.screened_on for s in subjects) <= TODAY
    assert max(s.first_dose_on for s in enrolled) >= TODAY - D(days=60)  # the last ones started lately
    done = Visit.objects.system("test").filter(subject__study=study, actual_date__isnull=False)
    assert max(v.actual_date for v in done) <= TODAY  # nothing recorded after today
    # the shifted calendar ends a few months after today
    shifted = StudyCalendar.from_protocol(study.protocol).in_progress_on(TODAY)
    assert shifted.recruitment_end == TODAY - D(days=IN_PROGRESS_AFTER_RECRUITMENT)


def test_the_protocol_keeps_the_registry_dates(study):
    from trialdesk.protocol import load_default_protocol

    assert study.protocol.identification == load_default_protocol().identification


def test_two_or_three_subjects_are_on_treatment_with_infusions_due_this_week_and_one_overdue(study):
    interval = study.protocol.dose_rules.interval_days
    infusions = _infusion_dates(study)
    on_treatment = [
        s
        for s in _subjects(study)
        if s.status == "enrolled" and s.first_dose_on and s.treatment_ended_on is None
    ]
    assert 2 <= len(on_treatment) <= 3
    next_due = {s.label: infusions[s.pk][-1] + D(days=interval) for s in on_treatment}
    due_this_week = [label for label, due in next_due.items() if TODAY <= due < TODAY + D(days=7)]
    overdue = [label for label, due in next_due.items() if due < TODAY]
    assert len(overdue) == 1 and len(due_this_week) == len(on_treatment) - 1 >= 1


def test_most_subjects_are_done_or_in_follow_up(study):
    treated = [s for s in _subjects(study) if s.enrolled_on is not None]
    off_treatment = [s for s in treated if s.treatment_ended_on is not None or s.status != "enrolled"]
    assert len(off_treatment) >= 12


def test_the_two_responses_of_the_published_outcome_are_already_recorded(study):
    ref = study.protocol.choice_concept("assessed_pr")
    responders = {r.subject_id for r in _records(study, ref.form) if r.data.get(ref.field) == ref.value}
    assert len(responders) == 2


def test_the_treatment_visits_start_on_each_subjects_first_infusion(study):
    from trialdesk.subjects.models import Visit

    schedule = {v.code: v for v in study.protocol.schedule.expanded_visits()}
    infusions = _infusion_dates(study)
    treated = [s for s in _subjects(study) if s.enrolled_on is not None]
    for subject in treated:
        first = infusions[subject.pk][0]
        assert subject.first_dose_on == first, subject.label
        assert subject.enrolled_on <= subject.planned_first_dose_on
        assert (first - subject.screened_on).days <= study.protocol.eligibility.window_days
        visits = {v.code: v for v in Visit.objects.system("test").filter(subject=subject)}
        for code, visit in schedule.items():
            if visit.anchor == "first_dose" and visit.day is not None and visit.day > 0:
                assert visits[code].planned_date == first + D(days=visit.day), (subject.label, code)
            if visit.anchor == "first_dose" and visit.day == 0:
                assert visits[code].actual_date == first, (subject.label, code)


def test_the_demo_users_have_french_first_and_last_names(study):
    from django.contrib.auth import get_user_model

    users = list(get_user_model().objects.all())
    assert users and all(u.first_name and u.last_name for u in users)
    assert len({(u.first_name, u.last_name) for u in users}) == len(users)


def test_the_trail_is_at_true_system_times(built, study):
    from trialdesk.audit.models import AuditEvent

    started = built[1]
    events = AuditEvent.objects.filter(study_id=study.pk)
    assert events.exists()
    assert min(e.occurred_at for e in events) >= started  # built now: nothing backdated


def test_the_safety_officer_has_acknowledged_one_sae_and_assessed_its_expectedness(study):
    from trialdesk.safety.models import SaeReport

    reports = SaeReport.objects.system("tests").filter(study=study)
    assessed = [r for r in reports if r.acknowledged_at and r.expectedness]
    assert len(assessed) == 1
    assert assessed[0].acknowledged_by.username == "safety" and assessed[0].aware_on is not None
    assert reports.count() > 1  # the others wait in the officer's list
