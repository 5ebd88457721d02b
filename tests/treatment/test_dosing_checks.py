"""The dosing checks of an infusion's save: system queries from the clinical rules, and the
prescribed fields that only a validated prescription sets."""

from __future__ import annotations

import pytest
from tests.treatment.conftest import day

from trialdesk.crf.services import FormInvalid, save_form
from trialdesk.queries.models import Query, QueryStatus

pytestmark = pytest.mark.django_db


def open_codes(rec) -> set[str]:
    return set(
        Query.objects.system("test")
        .filter(
            record=rec, status__in=(QueryStatus.OPEN, QueryStatus.ANSWERED), check_code__startswith="DOSE-"
        )
        .values_list("check_code", flat=True)
    )


def test_a_dose_given_as_prescribed_on_time_raises_no_query(enrolled_subject, prescribe, give):
    first = give(prescribe(enrolled_subject, day(0), 70))
    second = give(prescribe(enrolled_subject, day(7), 70))
    assert open_codes(first) == set() and open_codes(second) == set()


@pytest.mark.parametrize(("given", "query"), [(126, False), (125, True), (154, False), (155, True)])
def test_a_dose_more_than_10_percent_from_the_prescription_is_queried(
    enrolled_subject, prescribe, give, given, query
):
    give(prescribe(enrolled_subject, day(0), 70))
    rec = give(prescribe(enrolled_subject, day(7), 70), given=given)  # 140 mg prescribed: 126-154 within 10 %
    assert ("DOSE-DEVIATION" in open_codes(rec)) is query


def test_a_corrected_dose_closes_its_deviation_query(enrolled_subject, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    p = prescribe(enrolled_subject, day(7), 70)
    rec = give(p, given=100)
    [query] = Query.objects.system("test").filter(record=rec, check_code="DOSE-DEVIATION")
    assert "100 mg given for 140 mg prescribed" in query.messages.first().text
    give(p, given=140, reason="transcription_error")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert open_codes(rec) == set()


@pytest.mark.parametrize(
    ("days", "expected"),
    [(4, {"DOSE-TOO-EARLY"}), (5, set()), (9, set()), (10, {"DOSE-LATE"}), (14, {"DOSE-LATE"})],
)
def test_the_interval_since_the_last_dose_is_checked(enrolled_subject, prescribe, give, days, expected):
    give(prescribe(enrolled_subject, day(0), 70))
    rec = give(prescribe(enrolled_subject, day(days), 70))
    assert open_codes(rec) == expected


def test_a_reload_after_a_missed_dose_raises_no_missed_query(enrolled_subject, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    p = prescribe(enrolled_subject, day(15), 70)
    assert p.kind == "loading"
    assert open_codes(give(p)) == set()


def test_a_missed_dose_given_without_reload_is_queried(enrolled_subject, cast, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    data = {
        "infusion_date": day(15),
        "weight_measured_kg": 70,
        "weight_kg": 70,
        "loading": False,
        "dose_mg_per_kg": 2,
        "prescribed_dose_mg": 140,
        "administered_dose_mg": 140,
        "vials_used": 1,
        "infusion_reaction": False,
    }
    rec = save_form(cast.coordinator_nantes, enrolled_subject, "infusion", data).record
    assert open_codes(rec) == {"DOSE-MISSED-NO-RELOAD", "DOSE-NO-PRESCRIPTION"}


def test_a_dose_given_during_a_cardiac_hold_is_queried(enrolled_subject, cast, prescribe, give):
    p = prescribe(enrolled_subject, day(7), 70)  # validated before the LVEF fell
    give(prescribe(enrolled_subject, day(0), 70))
    lvef = {"assessment_date": day(5).isoformat(), "lvef_pct": 40, "method": "echo", "symptoms": False}
    save_form(
        cast.investigator_nantes, enrolled_subject, "lvef", lvef, visit=enrolled_subject.visits.get(code="C1")
    )
    rec = give(p)
    assert "DOSE-CARDIAC-HOLD" in open_codes(rec)


def test_the_nurse_cannot_change_a_prescribed_value(enrolled_subject, prescribe, give):
    p = prescribe(enrolled_subject, day(0), 70)
    with pytest.raises(FormInvalid) as refused:
        give(p, prescribed_dose_mg=300)
    assert "prescribed_dose_mg" in refused.value.validation.errors
    assert (
        "validated by the investigator (280 mg)" in refused.value.validation.errors["prescribed_dose_mg"][0]
    )
    p.record.refresh_from_db()
    assert "administered_dose_mg" not in p.record.data


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("9h30", "10:00", "infusion_start_time"),
        ("09:30", "25:00", "infusion_end_time"),
        ("10:00", "09:30", "infusion_end_time"),
    ],
)
def test_it_refuses_times_that_are_not_a_start_and_a_later_end(
    enrolled_subject, prescribe, give, start, end, field
):
    p = prescribe(enrolled_subject, day(0), 70)
    with pytest.raises(FormInvalid) as refused:
        give(p, infusion_start_time=start, infusion_end_time=end)
    assert field in refused.value.validation.errors


def test_start_and_end_times_and_an_interruption_are_recorded(enrolled_subject, prescribe, give):
    rec = give(
        prescribe(enrolled_subject, day(0), 70),
        infusion_start_time="09:30",
        infusion_end_time="11:15",
        infusion_interrupted=True,
        interruption_minutes=15,
    )
    assert (
        rec.data["infusion_start_time"],
        rec.data["infusion_end_time"],
        rec.data["interruption_minutes"],
    ) == (
        "09:30",
        "11:15",
        15,
    )
