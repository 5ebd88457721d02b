"""Log forms as first-class records: voiding, cross-record edit checks and their re-run,
several records of a form at one visit, one record label."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.crossrecord import first_dose_date, previous_record, rule_values
from trialdesk.crf.events import RecordVoided, form_saved
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import FormSaveRefused, Locked, save_form, void_record
from trialdesk.queries.models import Query, QueryStatus

REASON = "Entered twice: the same infusion as entry #1"


def infusion(day: str, weight: float, **changes) -> dict:
    data = {
        "infusion_date": day,
        "weight_kg": weight,
        "loading": False,
        "dose_mg_per_kg": 2,
        "prescribed_dose_mg": round(2 * weight, 1),
        "administered_dose_mg": round(2 * weight, 1),
        "infusion_reaction": False,
    }
    data.update(changes)
    return data


def add(user, subject, data) -> FormRecord:
    return save_form(user, subject, "infusion", data).record


def queries_of(record: FormRecord, check: str, *statuses: str):
    found = Query.objects.system("test").filter(record=record, check_code=check)
    return list(found.filter(status__in=statuses) if statuses else found)


def unresolved(record: FormRecord, check: str):
    return queries_of(record, check, QueryStatus.OPEN, QueryStatus.ANSWERED)


@pytest.fixture
def nurse(cast):
    return cast.coordinator_nantes


# --------------------------------------------------------------------------- voiding


def test_it_voids_a_log_entry_with_who_when_and_why_and_keeps_it(nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    voided = void_record(nurse, entry, REASON)
    stored = FormRecord.objects.system("test").get(pk=entry.pk)
    assert stored.voided and stored.voided_by == nurse and stored.void_reason == REASON
    assert stored.version == entry.version + 1
    assert stored.data == entry.data  # nothing erased
    assert voided.pk == entry.pk


def test_a_void_is_audited_with_its_own_action_and_reason(nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    void_record(nurse, entry, REASON)
    event = AuditEvent.objects.get(object_type="form_record", object_id=str(entry.pk), action="void")
    assert event.reason == REASON and event.username == nurse.username
    assert event.object_label == entry.label


def test_it_refuses_a_void_without_a_reason(nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    for blank in ("", "   "):
        with pytest.raises(FormSaveRefused):
            void_record(nurse, entry, blank)
    assert not FormRecord.objects.system("test").get(pk=entry.pk).voided


def test_it_refuses_a_void_by_a_monitor(cast, nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    with pytest.raises((PermissionDenied, Http404)):
        void_record(cast.monitor, entry, REASON)
    with pytest.raises((PermissionDenied, Http404)):
        void_record(cast.investigator_rennes, entry, REASON)


def test_it_refuses_to_void_a_locked_entry(nurse, enrolled_subject):
    from django.utils import timezone

    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    FormRecord.objects.system("test").filter(pk=entry.pk).update(locked_at=timezone.now())
    with pytest.raises(Locked):
        void_record(nurse, entry, REASON)


def test_it_refuses_to_void_twice_and_to_change_a_voided_entry(nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    void_record(nurse, entry, REASON)
    with pytest.raises(FormSaveRefused):
        void_record(nurse, entry, REASON)
    with pytest.raises(FormSaveRefused):
        save_form(
            nurse, enrolled_subject, "infusion", infusion("2026-11-24", 71), repeat=entry.repeat,
            expected_version=entry.version + 1, reason="transcription_error", reason_detail="x",
        )


def test_a_void_is_published_to_the_subscribers_as_record_voided(nurse, enrolled_subject):
    seen = []
    form_saved.subscribe(seen.append)
    try:
        entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
        void_record(nurse, entry, REASON)
    finally:
        form_saved._subscribers.remove(seen.append)
    voids = [e for e in seen if isinstance(e, RecordVoided)]
    assert len(voids) == 1 and voids[0].void_reason == REASON and voids[0].changes == {}


def test_a_void_closes_the_queries_of_the_entry(nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70, administered_dose_mg=100))
    assert unresolved(entry, "DOSE-DEVIATION")  # the dosing rules' query (trialdesk.treatment)
    void_record(nurse, entry, REASON)
    assert not unresolved(entry, "DOSE-DEVIATION")
    assert queries_of(entry, "DOSE-DEVIATION", QueryStatus.CLOSED)


def test_a_void_voids_the_signature_of_the_casebook(cast, nurse, enrolled_subject):
    from tests.conftest import PASSWORD

    from trialdesk.signatures.models import SignatureStatus
    from trialdesk.signatures.services import sign

    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    signature = sign(cast.investigator_nantes, enrolled_subject, password=PASSWORD)
    void_record(nurse, entry, REASON)
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.VOIDED


# --------------------------------------------------------------------------- previous.


def test_previous_is_the_entry_before_by_date_then_repeat(nurse, enrolled_subject):
    first = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    late = add(nurse, enrolled_subject, infusion("2026-12-10", 70))
    between = add(nurse, enrolled_subject, infusion("2026-12-03", 70))  # entered last, dated before `late`
    same_day = add(nurse, enrolled_subject, infusion("2026-12-10", 70))
    assert previous_record(enrolled_subject, "infusion", late.repeat, late.data) == between
    assert previous_record(enrolled_subject, "infusion", between.repeat, between.data) == first
    assert previous_record(enrolled_subject, "infusion", same_day.repeat, same_day.data) == late
    assert previous_record(enrolled_subject, "infusion", first.repeat, first.data) is None


def test_it_leaves_a_voided_infusion_out_of_previous(nurse, enrolled_subject):
    first = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    wrong = add(nurse, enrolled_subject, infusion("2026-12-03", 50))
    third = add(nurse, enrolled_subject, infusion("2026-12-10", 70))
    assert rule_values(third)["previous.weight_kg"] == 50
    void_record(nurse, wrong, REASON)
    assert rule_values(third)["previous.weight_kg"] == 70
    assert previous_record(enrolled_subject, "infusion", third.repeat, third.data) == first


def test_a_weight_change_over_ten_percent_from_the_previous_infusion_raises_a_query(nurse, enrolled_subject):
    add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    within = add(nurse, enrolled_subject, infusion("2026-12-03", 77))  # exactly 10 %
    beyond = add(nurse, enrolled_subject, infusion("2026-12-10", 84.8))  # 10.1 % over 77
    assert not unresolved(within, "INF-WEIGHT")
    [query] = unresolved(beyond, "INF-WEIGHT")
    assert query.field_code == "weight_kg" and query.fields == ["weight_kg"]


def test_the_first_infusion_has_no_previous_and_its_weight_check_is_unknown(nurse, enrolled_subject):
    first = add(nurse, enrolled_subject, infusion("2026-11-24", 140))
    assert rule_values(first)["previous.weight_kg"] is None
    assert not unresolved(first, "INF-WEIGHT")


def test_a_voided_entry_is_not_edit_checked_again(nurse, enrolled_subject):
    add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    wrong = add(nurse, enrolled_subject, infusion("2026-12-03", 90))
    void_record(nurse, wrong, REASON)
    add(nurse, enrolled_subject, infusion("2026-11-28", 50))  # a new entry just before it
    assert not unresolved(wrong, "INF-WEIGHT")


def test_voiding_the_entry_a_query_compares_with_closes_the_query_of_the_next(nurse, enrolled_subject):
    add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    wrong = add(nurse, enrolled_subject, infusion("2026-12-03", 50))
    third = add(nurse, enrolled_subject, infusion("2026-12-10", 70))
    assert unresolved(third, "INF-WEIGHT")
    void_record(nurse, wrong, REASON)
    assert not unresolved(third, "INF-WEIGHT")


def test_correcting_the_previous_infusion_runs_the_checks_of_the_next_again(nurse, enrolled_subject):
    first = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    second = add(nurse, enrolled_subject, infusion("2026-12-03", 80))
    assert unresolved(second, "INF-WEIGHT")
    save_form(
        nurse, enrolled_subject, "infusion", infusion("2026-11-24", 78), repeat=first.repeat,
        expected_version=first.version, reason="transcription_error", reason_detail="weighed again",
    )
    assert not unresolved(second, "INF-WEIGHT")
    assert queries_of(second, "INF-WEIGHT", QueryStatus.CLOSED)
    first.refresh_from_db()
    save_form(
        nurse, enrolled_subject, "infusion", infusion("2026-11-24", 60), repeat=first.repeat,
        expected_version=first.version, reason="transcription_error", reason_detail="wrong patient's weight",
    )
    assert unresolved(second, "INF-WEIGHT")


def test_a_new_entry_between_two_runs_the_checks_of_the_one_after_it(nurse, enrolled_subject):
    add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    last = add(nurse, enrolled_subject, infusion("2026-12-10", 70))
    assert not unresolved(last, "INF-WEIGHT")
    add(nurse, enrolled_subject, infusion("2026-12-03", 90))
    assert unresolved(last, "INF-WEIGHT")


def test_two_infusions_on_one_day_raise_a_query_on_the_second(nurse, enrolled_subject):
    first = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    twice = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    assert unresolved(twice, "INF-SAME-DAY") and not unresolved(first, "INF-SAME-DAY")


def test_an_infusion_dated_before_the_consent_fails_its_consent_check(enrolled_subject):
    from trialdesk.crf.crossrecord import check_context
    from trialdesk.protocol.formdata import validate_form_data

    form = enrolled_subject.study.protocol.form("infusion")
    context = check_context(enrolled_subject, "infusion", repeat=None)  # consent on 2026-11-19

    def failed(day):
        return [f.code for f in validate_form_data(form, infusion(day, 70), context).check_failures]

    assert "INF-CONSENT" in failed("2026-11-18")
    assert "INF-CONSENT" not in failed("2026-11-19")


def _baseline(nurse, subject, weight):
    visit = subject.visits.get(code="D1")
    data = {
        "assessment_date": "2026-11-24", "weight_kg": weight, "height_cm": 170, "diagnosis_date": "2025-01-10",
        "prior_lines": 2, "prior_allograft": False, "extramedullary_disease": False,
    }
    return save_form(nurse, subject, "baseline", data, visit=visit).record


def test_the_first_infusion_weight_is_checked_against_the_baseline_weight(nurse, enrolled_subject):
    baseline = _baseline(nurse, enrolled_subject, 70)
    first = add(nurse, enrolled_subject, infusion("2026-11-24", 80))
    assert rule_values(first)["baseline.weight_kg"] == 70
    assert unresolved(first, "INF-BASELINE-WEIGHT")
    save_form(
        nurse, enrolled_subject, "baseline", {**baseline.data, "weight_kg": 79}, visit=baseline.visit,
        repeat=1, expected_version=baseline.version, reason="transcription_error", reason_detail="x",
    )
    assert not unresolved(first, "INF-BASELINE-WEIGHT")


def test_the_first_dose_date_is_none_while_the_subject_has_none(enrolled_subject):
    assert first_dose_date(enrolled_subject) is None or isinstance(first_dose_date(enrolled_subject), dt.date)

    class Bare:
        pass

    assert first_dose_date(Bare()) is None


def test_a_check_reading_an_absent_first_dose_date_is_unknown_never_failing():
    from trialdesk.protocol.formdata import validate_form_data
    from trialdesk.protocol.model import EditCheck, Field, Form

    form = Form(
        code="log", title="Log", source="registry",
        fields=[Field(code="when", label="When", type="date")],
        edit_checks=[EditCheck(code="C", rule="days_between(subject.first_dose_date, when) >= 0",
                               message="m", severity="error", source="registry")],
    )
    result = validate_form_data(form, {"when": "2026-01-01"}, {"subject.first_dose_date": None})
    assert result.ok and not result.check_failures
    result = validate_form_data(form, {"when": "2026-01-01"}, {"subject.first_dose_date": dt.date(2026, 2, 1)})
    assert [f.code for f in result.check_failures] == ["C"] and result.errors == {"when": ["m"]}


# --------------------------------------------------------------------------- one label


def test_a_record_keeps_one_audit_label_from_its_creation_to_its_changes_after_enrollment(cast, screened_subject):
    from trialdesk.subjects.services import enroll

    record = FormRecord.objects.system("test").get(subject=screened_subject, form_code="screening")
    enroll(
        cast.investigator_nantes, screened_subject, consent_date=dt.date(2026, 11, 19),
        enrolled_on=dt.date(2026, 11, 24), today=dt.date(2026, 11, 25),
    )
    record.refresh_from_db()
    save_form(
        cast.investigator_nantes, record.subject, "screening", {**record.data, "ecog": 0}, visit=record.visit,
        repeat=1, expected_version=record.version, reason="transcription_error", reason_detail="x",
    )
    events = AuditEvent.objects.filter(object_type="form_record", object_id=str(record.pk))
    labels = {e.object_label for e in events}
    assert {e.action for e in events} >= {"create", "change"}
    assert labels == {record.label}
    assert record.label == f"{screened_subject.screening_number} SCR screening"


def test_a_log_entry_label_names_its_repeat(nurse, enrolled_subject):
    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    assert entry.label == f"{enrolled_subject.screening_number} log #1 infusion"


def test_the_locks_and_the_trail_name_a_record_by_its_label(nurse, enrolled_subject):
    from trialdesk.locks.services import label_of

    entry = add(nurse, enrolled_subject, infusion("2026-11-24", 70))
    assert label_of(entry) == entry.label
