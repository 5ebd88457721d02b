"""The monitoring visit report: what was verified comes from the monitor's SDV marks of the
period, signing needs the monitor's password, a signed report never changes, an addendum
references the report it corrects, and every write is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import PASSWORD
from tests.monitoring.conftest import days_ago, mark, query

from trialdesk.audit.models import AuditEvent
from trialdesk.monitoring import services
from trialdesk.monitoring.models import Finding, FollowUp, MonitoringVisit, ReportStatus
from trialdesk.queries.services import verify_source


def _reload(visit):
    return MonitoringVisit.objects.system("tests").get(pk=visit.pk)


def test_the_verified_list_holds_the_monitors_marks_of_the_period(cast, nantes, screening_record, draft):
    mark(cast.monitor, screening_record, "ecog")
    mark(cast.monitor, screening_record, "lvef_pct")
    lines = services.verified_lines(draft)
    assert len(lines) == 1
    assert lines[0].subject == screening_record.subject.label
    assert lines[0].where == "Screening"  # the visit's title, not its code
    # the fields' labels from the protocol file, never their codes
    assert lines[0].fields == ["ECOG performance status", "Left ventricular ejection fraction (LVEF)"]
    assert not lines[0].whole_form


def test_a_verified_log_entry_says_which_entry_it_is(cast, nantes, enrolled_subject, draft):
    from django.utils import translation

    from trialdesk.crf.services import save_form

    for day in ("2026-11-20", "2026-11-24"):
        save_form(
            cast.investigator_nantes,
            enrolled_subject,
            "transfusion",
            {"transfusion_date": day, "product": "red_cells", "units": 2},
        )
    second = enrolled_subject.form_records.get(form_code="transfusion", repeat=2)
    verify_source(cast.monitor, second)
    (line,) = services.verified_lines(draft)
    assert (line.where, line.form, line.whole_form) == ("entry 2", "Transfusion", True)
    with translation.override("fr"):
        assert services.verified_lines(draft)[0].where == "saisie nº 2"


def test_marks_before_the_previous_signed_visit_are_not_in_the_next_report(cast, nantes, screening_record):
    mark(cast.monitor, screening_record, "ecog", on=days_ago(20))
    first = services.create_visit(
        cast.monitor, nantes, visit_date=nantes.today() - dt.timedelta(days=10), kind="remote"
    )
    first = services.sign_visit(cast.monitor, first, password=PASSWORD)
    assert [e["fields"] for e in first.verified] == [["ecog"]]

    mark(cast.monitor, screening_record, "lvef_pct", on=days_ago(2))
    second = services.create_visit(cast.monitor, nantes, visit_date=nantes.today(), kind="on_site")
    assert [e["fields"] for e in services.verified_in_period(second)] == [["lvef_pct"]]
    assert services.last_visit_date(cast.monitor, nantes) == first.visit_date


def test_a_mark_made_the_day_of_the_previous_visit_belongs_to_that_visit(cast, nantes, screening_record):
    """Boundary: the period is (previous visit date, this visit date], dates at the site."""
    previous_day = nantes.today() - dt.timedelta(days=5)
    first = services.create_visit(cast.monitor, nantes, visit_date=previous_day, kind="on_site")
    services.sign_visit(cast.monitor, first, password=PASSWORD)
    import zoneinfo

    zone = zoneinfo.ZoneInfo(nantes.time_zone)
    late_that_evening = dt.datetime.combine(previous_day, dt.time(23, 30), tzinfo=zone)
    mark(cast.monitor, screening_record, "ecog", on=late_that_evening)
    second = services.create_visit(cast.monitor, nantes, visit_date=nantes.today(), kind="on_site")
    assert services.verified_in_period(second) == []
    assert [e["fields"] for e in _reload(first).verified] == []  # frozen at signing, before the mark


def test_another_monitors_marks_are_not_in_my_report(cast, study, nantes, screening_record, draft):
    from tests.conftest import _member

    other = _member(study, "monitor.two", "monitor", ["NTE"])
    mark(other, screening_record, "ecog")
    assert services.verified_in_period(draft) == []


def test_the_queries_raised_in_the_period_are_listed_and_frozen_at_signing(cast, screening_record, draft):
    raised = query(cast.monitor, screening_record, "ecog")
    assert [q["query_id"] for q in services.queries_in_period(draft)] == [raised.pk]
    signed = services.sign_visit(cast.monitor, draft, password=PASSWORD)
    assert [q["query_id"] for q in signed.queries_raised] == [raised.pk]
    assert services.query_lines(signed)[0]["summary"] == raised.summary


def test_signing_freezes_what_was_verified(cast, screening_record, draft):
    mark(cast.monitor, screening_record, "ecog")
    signed = services.sign_visit(cast.monitor, draft, password=PASSWORD)
    mark(cast.monitor, screening_record, "lvef_pct")
    assert [e["fields"] for e in _reload(signed).verified] == [["ecog"]]
    assert len(services.verified_lines(_reload(signed))[0].fields) == 1


def test_it_refuses_a_wrong_password_and_changes_nothing(cast, draft):
    before = AuditEvent.objects.filter(action="monitoring_visit_sign").count()
    with pytest.raises(services.MonitoringRefused) as refused:
        services.sign_visit(cast.monitor, draft, password="not-my-password")
    assert "password" in refused.value.message
    visit = _reload(draft)
    assert visit.status == ReportStatus.DRAFT and visit.signed_at is None and visit.content_sha256 == ""
    assert AuditEvent.objects.filter(action="monitoring_visit_sign").count() == before
    failed = AuditEvent.objects.filter(action="sign_failed", object_type="monitoring_visit").get()
    assert failed.reason == "password not confirmed"


def test_failed_signatures_count_towards_the_casebook_signing_limit(cast, draft):
    from trialdesk.signatures.services import SIGN_FAILURE_LIMIT

    for _ in range(SIGN_FAILURE_LIMIT):
        with pytest.raises(services.MonitoringRefused):
            services.sign_visit(cast.monitor, draft, password="wrong")
    with pytest.raises(services.MonitoringRefused) as refused:
        services.sign_visit(cast.monitor, draft, password=PASSWORD)
    assert "blocked" in refused.value.message
    assert _reload(draft).status == ReportStatus.DRAFT


def test_the_signature_holds_the_name_time_meaning_and_hash(cast, signed):
    assert signed.status == ReportStatus.SIGNED
    assert signed.printed_name == "Monitor"
    assert signed.signed_at is not None and signed.meaning_text
    assert len(signed.content_sha256) == 64 and services.signature_intact(signed)
    event = AuditEvent.objects.get(action="monitoring_visit_sign")
    assert event.new_value["content_sha256"] == signed.content_sha256 and event.role == "monitor"


def test_a_signed_report_cannot_change(cast, signed):
    finding = Finding.objects.system("tests").get(visit=signed)
    follow_up = FollowUp.objects.system("tests").get(visit=signed)
    attempts = [
        lambda: services.update_visit(cast.monitor, signed, visit_date=signed.visit_date, kind="remote"),
        lambda: services.add_finding(cast.monitor, signed, category="other", severity="minor", text="late"),
        lambda: services.remove_finding(cast.monitor, signed, finding.pk),
        lambda: services.add_follow_up(cast.monitor, signed, text="x", responsible="y", due_on=None),
        lambda: services.set_follow_up_state(cast.monitor, signed, follow_up.pk, "done"),
        lambda: services.remove_follow_up(cast.monitor, signed, follow_up.pk),
        lambda: services.sign_visit(cast.monitor, signed, password=PASSWORD),
    ]
    before = AuditEvent.objects.count()
    for attempt in attempts:
        with pytest.raises(services.MonitoringRefused) as refused:
            attempt()
        assert "addendum" in refused.value.message
    assert AuditEvent.objects.count() == before
    assert services.signature_intact(_reload(signed))
    assert _reload(signed).kind == "on_site"


def test_an_addendum_references_the_signed_report_and_is_signed_in_its_turn(cast, signed):
    addendum = services.start_addendum(
        cast.monitor, signed, reason="The due date of the re-consent was wrong."
    )
    assert addendum.amends_id == signed.pk and addendum.version == 2 and addendum.is_draft
    assert addendum.verified == signed.verified
    assert [f.text for f in Finding.objects.system("tests").filter(visit=addendum)] == [
        "Consent form version 2 signed after the screening marrow."
    ]
    follow_up = FollowUp.objects.system("tests").get(visit=addendum)
    services.set_follow_up_state(cast.monitor, addendum, follow_up.pk, "done")
    addendum = services.sign_visit(cast.monitor, addendum, password=PASSWORD)
    assert addendum.status == ReportStatus.SIGNED
    assert FollowUp.objects.system("tests").get(visit=signed).state == "open"  # the original is untouched
    assert services.signature_intact(_reload(signed))
    assert services.latest_version(_reload(signed)).pk == addendum.pk
    event = AuditEvent.objects.get(action="monitoring_visit_addendum")
    assert event.new_value["amends"] == signed.pk and event.reason.startswith("The due date")
    with pytest.raises(services.MonitoringRefused):
        services.start_addendum(cast.monitor, signed, reason="a second branch")


def test_an_addendum_needs_a_reason(cast, signed):
    with pytest.raises(services.MonitoringRefused):
        services.start_addendum(cast.monitor, signed, reason="  ")
    assert not MonitoringVisit.objects.system("tests").filter(amends=signed).exists()


def test_every_write_of_a_draft_is_audited(cast, draft):
    services.update_visit(
        cast.monitor, draft, visit_date=draft.visit_date, kind="remote", summary="Remote review"
    )
    finding = services.add_finding(
        cast.monitor, draft, category="data_quality", severity="minor", text="Late entry"
    )
    services.remove_finding(cast.monitor, draft, finding.pk)
    follow_up = services.add_follow_up(cast.monitor, draft, text="Enter C1", responsible="Nurse", due_on=None)
    services.set_follow_up_state(cast.monitor, draft, follow_up.pk, "done")
    actions = list(
        AuditEvent.objects.filter(object_type="monitoring_visit", object_id=str(draft.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "monitoring_visit_create",
        "monitoring_visit_change",
        "monitoring_finding_add",
        "monitoring_finding_remove",
        "monitoring_follow_up_add",
        "monitoring_follow_up_change",
    ]
    removed = AuditEvent.objects.get(action="monitoring_finding_remove")
    assert removed.old_value["text"] == "Late entry"


def test_it_refuses_a_visit_date_after_today_at_the_site(cast, nantes):
    with pytest.raises(services.MonitoringRefused):
        services.create_visit(
            cast.monitor, nantes, visit_date=nantes.today() + dt.timedelta(days=1), kind="on_site"
        )
    services.create_visit(
        cast.monitor, nantes, visit_date=nantes.today(), kind="on_site"
    )  # today itself is fine


def test_it_refuses_a_follow_up_due_before_the_visit(cast, draft):
    with pytest.raises(services.MonitoringRefused):
        services.add_follow_up(
            cast.monitor, draft, text="x", responsible="y", due_on=draft.visit_date - dt.timedelta(days=1)
        )
    services.add_follow_up(cast.monitor, draft, text="x", responsible="y", due_on=draft.visit_date)


def test_it_refuses_an_unknown_category_or_an_empty_finding(cast, draft):
    for values in (
        {"category": "gossip", "severity": "minor", "text": "x"},
        {"category": "other", "severity": "huge", "text": "x"},
        {"category": "other", "severity": "minor", "text": "  "},
    ):
        with pytest.raises(services.MonitoringRefused):
            services.add_finding(cast.monitor, draft, **values)
    assert not Finding.objects.system("tests").filter(visit=draft).exists()


def test_only_the_monitor_edits_the_draft(cast, draft):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.add_finding(cast.data_manager, draft, category="other", severity="minor", text="x")
    with pytest.raises(PermissionDenied):
        services.create_visit(
            cast.investigator_nantes, draft.site, visit_date=draft.visit_date, kind="on_site"
        )


def test_last_visit_date_is_none_before_any_signed_visit(cast, nantes, draft):
    assert services.last_visit_date(cast.monitor, nantes) is None  # a draft is not a visit yet


def test_a_mark_made_after_the_visit_date_is_not_in_a_report_of_an_earlier_visit(
    cast, nantes, screening_record
):
    """Boundary: a report written a few days after the visit lists only what was verified up to
    the end of the visit's day at the site."""
    import zoneinfo

    visit_day = nantes.today() - dt.timedelta(days=3)
    zone = zoneinfo.ZoneInfo(nantes.time_zone)
    mark(
        cast.monitor,
        screening_record,
        "ecog",
        on=dt.datetime.combine(visit_day, dt.time(23, 59), tzinfo=zone),
    )
    next_morning = dt.datetime.combine(visit_day + dt.timedelta(days=1), dt.time(0, 1), tzinfo=zone)
    mark(cast.monitor, screening_record, "lvef_pct", on=next_morning)
    report = services.create_visit(cast.monitor, nantes, visit_date=visit_day, kind="on_site")
    assert [e["fields"] for e in services.verified_in_period(report)] == [["ecog"]]


def test_an_addendum_does_not_move_the_last_visit_date(cast, nantes, signed):
    addendum = services.start_addendum(cast.monitor, signed, reason="typo")
    services.sign_visit(cast.monitor, addendum, password=PASSWORD)
    assert services.last_visit_date(cast.monitor, nantes) == signed.visit_date
    assert services.last_visit_date(cast.investigator_nantes, nantes) is None  # the monitor's own visits only


def test_the_next_visit_lists_the_follow_ups_still_open_from_the_signed_reports_before_it(
    cast, nantes, signed
):
    later = services.create_visit(cast.monitor, nantes, visit_date=signed.visit_date, kind="remote")
    assert services.earlier_open_follow_ups(later) == []  # same day: not an earlier visit
    MonitoringVisit.objects.system("tests move the first visit back").filter(pk=signed.pk).update(
        visit_date=signed.visit_date - dt.timedelta(days=30)
    )
    assert [f.text for f in services.earlier_open_follow_ups(later)] == ["File the re-consent in the ISF."]
    # corrected by a signed addendum that marks it done: no longer open
    addendum = services.start_addendum(cast.monitor, _reload(signed), reason="re-consent filed")
    follow_up = FollowUp.objects.system("tests").get(visit=addendum)
    services.set_follow_up_state(cast.monitor, addendum, follow_up.pk, "done")
    services.sign_visit(cast.monitor, addendum, password=PASSWORD)
    assert services.earlier_open_follow_ups(later) == []


def test_an_addendum_keeps_what_the_corrected_report_froze(cast, screening_record, signed):
    mark(cast.monitor, screening_record, "ecog")  # after the signature, the same day
    addendum = services.start_addendum(cast.monitor, signed, reason="typo")
    assert services.verified_lines(addendum) == services.verified_lines(_reload(signed)) == []
    assert services.sign_visit(cast.monitor, addendum, password=PASSWORD).verified == []
