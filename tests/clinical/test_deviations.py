"""Protocol deviations computed from the data, each with a stable key (issue 9, "Protocol deviations").

Thresholds are the protocol's: a dose more than 10 % away from the prescription is a
deviation; on time 5 to 9 days after the previous dose, late up to 14, missed after it
(trastuzumab label, dose_rules); aspirate windows +/- 7 days (schedule M); minimum 8 weeks
(registry: "at least 2 months").
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from trialdesk.clinical.calendar import (
    FIRST_DOSE,
    AssessmentDone,
    HoldPeriod,
    assessment_kinds,
    plan_calendar,
)
from trialdesk.clinical.deviations import (
    ASSESSMENT_OUT_OF_WINDOW,
    DOSE_DURING_HOLD,
    DOSE_ERROR,
    DOSE_TOO_EARLY,
    LATE_DOSE,
    MISSED_DOSE,
    RELOAD_NOT_GIVEN,
    SHORT_TREATMENT,
    TreatmentFacts,
    deviations_of,
)
from trialdesk.clinical.exposure import DoseValue
from trialdesk.protocol import default_protocol_path, load_protocol

PROTOCOL = load_protocol(default_protocol_path())
RULES = PROTOCOL.dose_rules
DAY0 = dt.date(2026, 9, 7)
KINDS = assessment_kinds(PROTOCOL)


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def dose(n: int, number: int, *, given: float = 140, prescribed: float = 140, loading: bool | None = None):
    return DoseValue(
        day(n), given, 70, prescribed, n == 0 if loading is None else loading, f"infusion#{number}"
    )


def facts(*doses, **kwargs) -> TreatmentFacts:
    return TreatmentFacts(first_dose_on=DAY0, doses=list(doses), **kwargs)


def keys(found) -> set[str]:
    return {d.key for d in found}


def test_a_dose_more_than_10_percent_from_the_prescription_is_a_deviation_and_10_percent_is_not():
    exactly = deviations_of(RULES, facts(dose(0, 1, given=308, prescribed=280)), day(3))
    over = deviations_of(RULES, facts(dose(0, 1, given=309, prescribed=280)), day(3))
    assert not exactly
    assert keys(over) == {"dose_error:infusion#1"} and over[0].rule == DOSE_ERROR


def test_doses_4_10_and_15_days_after_the_previous_are_too_early_late_and_missed_and_9_is_on_time():
    found = deviations_of(
        RULES,
        facts(
            dose(0, 1, given=280, prescribed=280),
            dose(9, 2),
            dose(13, 3),
            dose(23, 4),
            dose(38, 5, given=280, prescribed=280, loading=True),
        ),
        day(40),
    )
    assert keys(found) == {
        "dose_too_early:infusion#3",
        "late_dose:infusion#4",
        "missed_dose:after:infusion#4",
    }
    rules = {d.key: d.rule for d in found}
    assert rules["dose_too_early:infusion#3"] == DOSE_TOO_EARLY and rules["late_dose:infusion#4"] == LATE_DOSE
    assert rules["missed_dose:after:infusion#4"] == MISSED_DOSE


def test_a_missed_dose_given_as_maintenance_is_a_reload_not_given():
    found = deviations_of(
        RULES, facts(dose(0, 1, given=280, prescribed=280), dose(15, 2, loading=False)), day(16)
    )
    assert keys(found) == {"missed_dose:after:infusion#1", "reload_not_given:infusion#2"}
    assert next(d for d in found if d.rule == RELOAD_NOT_GIVEN).explanation.startswith("15 days since")


def test_a_gap_still_open_is_a_missed_dose_with_the_key_it_keeps_once_the_reload_is_given():
    open_gap = deviations_of(RULES, facts(dose(0, 1, given=280, prescribed=280)), day(15))
    on_day_14 = deviations_of(RULES, facts(dose(0, 1, given=280, prescribed=280)), day(14))
    closed = deviations_of(
        RULES,
        facts(dose(0, 1, given=280, prescribed=280), dose(20, 2, given=280, prescribed=280, loading=True)),
        day(21),
    )
    assert not on_day_14
    assert keys(open_gap) == keys(closed) == {"missed_dose:after:infusion#1"}


def test_a_dose_during_a_cardiac_hold_is_a_deviation_and_after_its_lifting_is_not():
    hold = HoldPeriod(day(10), day(20), day(38), "hold#1")
    found = deviations_of(
        RULES,
        facts(dose(0, 1, given=280, prescribed=280), dose(7, 2), dose(14, 3), dose(20, 4), holds=[hold]),
        day(22),
    )
    assert {d.key for d in found if d.rule == DOSE_DURING_HOLD} == {"dose_during_hold:infusion#3"}


def test_an_assessment_outside_its_window_is_a_deviation_and_on_the_last_day_is_not():
    def assessments(done_on):
        return [
            AssessmentDone(
                v.code,
                v.title,
                KINDS[v.code],
                v.planned_date,
                v.window_start,
                v.window_end,
                done_on if v.code == "M1" else None,
                ref=v.code,
            )
            for v in plan_calendar(PROTOCOL.schedule, {FIRST_DOSE: DAY0})
            if v.code == "M1"
        ]

    weekly = [
        dose(7 * n, n + 1, given=280 if n == 0 else 140, prescribed=280 if n == 0 else 140) for n in range(6)
    ]
    inside = deviations_of(RULES, facts(*weekly, assessments=assessments(day(35))), day(36))
    outside = deviations_of(RULES, facts(*weekly, assessments=assessments(day(36))), day(37))
    assert not inside
    assert keys(outside) == {"assessment_out_of_window:M1"} and outside[0].rule == ASSESSMENT_OUT_OF_WINDOW


def test_a_treatment_shorter_than_8_weeks_is_a_deviation_without_a_reason_only():
    weekly = [
        dose(7 * n, n + 1, given=280 if n == 0 else 140, prescribed=280 if n == 0 else 140) for n in range(7)
    ]
    without = deviations_of(
        RULES, facts(*weekly, treatment_ended_on=day(45), end_ref="end_of_treatment#1"), day(50)
    )
    with_reason = deviations_of(
        RULES, facts(*weekly, treatment_ended_on=day(45), end_reason_recorded=True), day(50)
    )
    eight = [*weekly, dose(49, 8)]
    full = deviations_of(RULES, facts(*eight, treatment_ended_on=day(52)), day(60))
    assert [d.rule for d in without] == [SHORT_TREATMENT] and without[0].ref == "end_of_treatment#1"
    assert not with_reason and not full


def test_keys_survive_recomputation_and_a_re_saved_record():
    first = facts(dose(0, 1, given=280, prescribed=280), dose(11, 2, given=100))
    again = deviations_of(RULES, first, day(12))
    # the same infusion saved again with another dose, still a deviation: same record, same key
    resaved = dataclasses.replace(
        first, doses=[first.doses[0], dataclasses.replace(first.doses[1], given_mg=90)]
    )
    assert (
        keys(again)
        == keys(deviations_of(RULES, first, day(12)))
        == keys(deviations_of(RULES, resaved, day(12)))
    )
    assert keys(again) == {"late_dose:infusion#2", "dose_error:infusion#2"}


def test_a_deviation_is_plain_data_for_the_report_and_exports():
    found = deviations_of(RULES, facts(dose(0, 1, given=280, prescribed=200)), day(1))
    assert found[0].as_dict() == {
        "key": "dose_error:infusion#1",
        "rule": DOSE_ERROR,
        "title": "Dose given away from the prescription",
        "on": day(0).isoformat(),
        "record": "infusion#1",
        "explanation": "280 mg given for 200 mg prescribed (+40.0 %): more than 10 % away",
    }


def test_no_missed_dose_is_counted_after_the_subject_left_the_study():
    assert not deviations_of(
        RULES, facts(dose(0, 1, given=280, prescribed=280), off_study_on=day(10)), day(30)
    )
