"""The demo built on any day is a trial in progress with work for the week (issue 8, issue 15):
a follow-up call falls due (not made yet), infusions are due, one is overdue, and the monitor's
signed visit report of the sponsor's site is there, dated in the past of the simulated calendar.

The demo is built once per "today" (three of them: a Wednesday, a Sunday of a clock change in
Europe, a New Year's Day) and every assertion reads that one build."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

SEED = 2012
TODAYS = (dt.date(2026, 12, 9), dt.date(2025, 3, 30), dt.date(2026, 1, 1))
D = dt.timedelta

pytestmark = pytest.mark.db


@pytest.fixture(scope="module", params=TODAYS, ids=[d.isoformat() for d in TODAYS])
def built(request, demo_builds, django_db_blocker):
    """The demo in progress on one of TODAYS, built once for the run (tests/conftest.py
    ``demo_builds``) and loaded for every test of that day; with the time its build started."""
    from django.db import transaction

    from trialdesk.studies.models import Study

    today = request.param
    with django_db_blocker.unblock(), transaction.atomic():
        loaded = demo_builds.load(seed=SEED, today=today)
        yield Study.objects.get(), today, loaded.built_at
        transaction.set_rollback(True)


@pytest.fixture
def study(built, db):
    return built[0]


@pytest.fixture
def now(built):
    """Eight in the morning (UTC) of the demo's today: the same date at every French site."""
    return dt.datetime.combine(built[1], dt.time(8, 0), tzinfo=dt.UTC)


def _user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def _work(study, now):
    """Every site's worklist, as the data manager (all sites) reads it."""
    from trialdesk.deviations.services import worklist

    return [worklist(_user("datamanager"), study, site, now=now) for site in study.sites.order_by("code")]


def test_a_follow_up_call_is_due_within_the_week_and_not_yet_made(study, now):
    from trialdesk.clinical.calendar import FOLLOW_UP_CALL

    today = now.date()
    calls = [
        (subject, item)
        for work in _work(study, now)
        for subject, item in work.due_today + work.this_week
        if item.kind == FOLLOW_UP_CALL
    ]
    assert calls, "no follow-up call due this week"
    for subject, item in calls:
        assert item.done_on is None and item.open
        assert item.due_on < today + D(days=7)
        assert subject.status == "enrolled" and subject.treatment_ended_on is not None  # in follow-up


def test_the_coordinators_home_counts_the_call_due_at_the_sponsors_site(study, now):
    from trialdesk.studies.access import study_access
    from trialdesk.workspace.homes import Builder

    coordinator = _user("coordinator.nantes")
    homes = Builder(coordinator, study, study_access(coordinator, study), now=now).homes()
    lines = {line.key: line for home in homes for section in home.sections for line in section.lines}
    assert lines["calls-due"].cells["NTE"].value >= 1


def test_infusions_are_due_this_week_and_one_is_overdue(study, now):
    from trialdesk.clinical.calendar import INFUSION, RELOAD

    work = _work(study, now)
    due = {s.pk for w in work for s, item in w.due_today + w.this_week if item.kind in (INFUSION, RELOAD)}
    overdue = {s.pk for w in work for s, item in w.overdue if item.kind in (INFUSION, RELOAD)}
    assert len(overdue) == 1
    assert 1 <= len(due) <= 2 and not due & overdue


def test_the_subject_followed_up_has_no_deviation(study, now):
    from trialdesk.clinical.calendar import FOLLOW_UP_CALL
    from trialdesk.deviations.services import deviation_rows

    followed = {
        s.pk
        for w in _work(study, now)
        for s, item in w.due_today + w.this_week
        if item.kind == FOLLOW_UP_CALL
    }
    rows = deviation_rows(_user("datamanager"), study, now=now)
    assert followed and not [r for r in rows if r.subject.pk in followed]


def test_the_monitor_has_signed_a_visit_report_of_the_sponsors_site_with_findings_and_a_follow_up(study, now):
    from trialdesk.monitoring.models import MonitoringVisit, ReportStatus
    from trialdesk.monitoring.services import signature_intact

    lead = study.protocol.sites[0].code
    reports = list(
        MonitoringVisit.objects.system("test").filter(study=study, site__code=lead, status=ReportStatus.SIGNED)
    )
    assert len(reports) == 1
    report = reports[0]
    assert report.status == ReportStatus.SIGNED and signature_intact(report)
    assert report.monitor.username == "monitor" and report.printed_name == report.monitor.get_full_name()
    assert report.visit_date < now.date() and report.visit_date <= timezone.localdate()
    assert report.findings.count() >= 1
    follow_up = report.follow_ups.get()
    assert follow_up.state == "open" and follow_up.due_on > report.visit_date and follow_up.responsible


def test_the_monitor_is_at_the_sponsors_site_today_and_has_verified_eligibility_and_infusions(study, built):
    """Today's visit, its report a draft: what the monitor verified against source during the
    build (the true time, today) is what the draft lists, and the site's SDV progress shows it."""
    from trialdesk.crf.models import FormRecord
    from trialdesk.monitoring.models import MonitoringVisit, ReportStatus
    from trialdesk.monitoring.services import verified_lines
    from trialdesk.queries.models import SourceVerification
    from trialdesk.queries.services import sdv_progress_by_site

    lead = study.sites.get(code=study.protocol.sites[0].code)
    draft = MonitoringVisit.objects.system("test").get(study=study, site=lead, status=ReportStatus.DRAFT)
    assert draft.visit_date == lead.today() and draft.monitor.username == "monitor"
    infusions = {ref.form for ref in study.protocol.concept("dose_date")}
    wanted = FormRecord.objects.system("test").filter(
        subject__site=lead, form_code__in=infusions | {study.protocol.eligibility.form}, voided_at__isnull=True
    )
    marks = SourceVerification.objects.system("test").filter(record__subject__site=lead)
    assert wanted.count() > 0 and {m.record_id for m in marks} == set(wanted.values_list("pk", flat=True))
    assert len(verified_lines(draft)) == wanted.count()
    progress = sdv_progress_by_site(_user("monitor"), study)
    assert 0 < progress[lead.code].field_percent < 100
    assert all(p.verified_fields == 0 for code, p in progress.items() if code != lead.code)


def test_the_reports_trail_is_at_the_true_time_of_the_build(built, study):
    from trialdesk.audit.models import AuditEvent

    started = built[2]
    events = AuditEvent.objects.filter(study_id=study.pk, action="monitoring_visit_sign")
    assert events.count() >= 1 and all(e.occurred_at >= started for e in events)


def test_the_database_snapshot_equals_the_simulators_for_every_subject(built, study):
    """The demo in progress (its timed follow-up included) is the simulated cohort, record for
    record, on the common projection of both snapshots (tests/datacut/test_demo_snapshot.py)."""
    from trialdesk.datacut import build_snapshot
    from trialdesk.simulate import simulate_cohort
    from trialdesk.snapshot.from_simulation import (
        common_projection,
        planned_dates_disagreeing,
        snapshot_from_simulation,
    )

    today = built[1]
    database = {s.screening_number: s for s in build_snapshot(study, cutoff=today).subjects()}
    cohort = simulate_cohort(study.protocol, seed=SEED, today=today)
    simulated = snapshot_from_simulation(cohort, study.protocol, protocol_sha256=study.protocol_sha256)
    simulated = {s.screening_number: s for s in simulated.subjects()}
    assert sorted(database) == sorted(simulated)
    for number, subject in simulated.items():
        assert common_projection(database[number]) == common_projection(subject), number
        assert planned_dates_disagreeing(database[number], subject) == []
