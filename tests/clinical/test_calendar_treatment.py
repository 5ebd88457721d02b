"""The treatment calendar of a subject, planned against actual (issue 9, "Treatment calendar").

Windows come from the protocol: a weekly dose is due 7 days after the previous one, on time
from day 5 to day 9, late up to day 14, missed after it (trastuzumab label; DoseRules.timing);
marrow aspirates every 28 days +/- 7, LVEF every 84 days +/- 14 (schedule.visits M and C).
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from trialdesk.clinical.calendar import (
    ASPIRATE,
    DONE_IN_WINDOW,
    DONE_OUT_OF_WINDOW,
    DUE,
    FIRST_DOSE,
    INFUSION,
    LVEF,
    MINIMUM_TREATMENT,
    NOT_APPLICABLE,
    NOT_MET,
    OVERDUE,
    PLANNED,
    RELOAD,
    REPEAT_LVEF,
    AssessmentDone,
    DoseGiven,
    HoldPeriod,
    assessment_kinds,
    check_window,
    interval_window,
    plan_calendar,
    plan_treatment,
)
from trialdesk.protocol import default_protocol_path, load_protocol

PROTOCOL = load_protocol(default_protocol_path())
RULES = PROTOCOL.dose_rules
DAY0 = dt.date(2026, 9, 7)
KINDS = assessment_kinds(PROTOCOL)


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def doses(*days: int) -> list[DoseGiven]:
    return [DoseGiven(day(n), n == 0, f"infusion#{i}") for i, n in enumerate(days, start=1)]


def assessments(done: dict[str, dt.date] | None = None, first: dt.date = DAY0) -> list[AssessmentDone]:
    """The scheduled assessments of the protocol, planned from ``first`` (plan_calendar)."""
    done = done or {}
    return [
        AssessmentDone(
            v.code,
            v.title,
            KINDS[v.code],
            v.planned_date,
            v.window_start,
            v.window_end,
            done.get(v.code),
            ref=v.code,
            anchor=v.anchor,
        )
        for v in plan_calendar(PROTOCOL.schedule, {FIRST_DOSE: first})
        if v.code in KINDS
    ]


def items_by_key(items):
    return {item.key: item for item in items}


def test_the_protocol_schedules_aspirates_lvef_and_follow_up_calls():
    assert KINDS["M1"] == ASPIRATE and KINDS["C1"] == LVEF and KINDS["FU1"] == "follow_up_call"
    assert "SCR" not in KINDS and "D1" not in KINDS  # the baseline is not a calendar item


def test_the_weekly_dose_window_is_read_from_the_dose_rules():
    # trastuzumab label: on time 5 to 9 days after the previous dose, late to 14, missed after
    assert interval_window(RULES) == interval_window(RULES).__class__(7, 5, 9, 14)


def test_the_first_and_last_day_of_a_window_are_in_and_the_day_outside_is_out():
    start, end = day(21), day(35)  # M1: day 28 +/- 7
    assert check_window(start, start, end).in_window
    assert check_window(end, start, end).in_window
    before = check_window(day(20), start, end)
    after = check_window(day(36), start, end)
    assert not before.in_window and before.days_outside == -1 and "1 day(s) before" in before.explanation
    assert not after.in_window and after.days_outside == 1 and "1 day(s) after" in after.explanation


def test_an_aspirate_on_the_last_day_of_its_window_is_in_and_the_next_day_is_out():
    last = items_by_key(
        plan_treatment(
            RULES, today=day(40), first_dose_on=DAY0, doses=doses(0), assessments=assessments({"M1": day(35)})
        )
    )
    late = items_by_key(
        plan_treatment(
            RULES, today=day(40), first_dose_on=DAY0, doses=doses(0), assessments=assessments({"M1": day(36)})
        )
    )
    assert last["aspirate:M1"].status == DONE_IN_WINDOW
    assert late["aspirate:M1"].status == DONE_OUT_OF_WINDOW


def test_an_assessment_not_done_is_planned_then_due_then_overdue():
    def status(today):
        return items_by_key(
            plan_treatment(RULES, today=today, first_dose_on=DAY0, assessments=assessments())
        )["aspirate:M1"].status

    assert status(day(20)) == PLANNED
    assert status(day(21)) == DUE and status(day(35)) == DUE
    assert status(day(36)) == OVERDUE


def test_the_next_dose_is_due_on_days_5_to_9_and_overdue_from_day_10():
    def nxt(today):
        return items_by_key(plan_treatment(RULES, today=today, first_dose_on=DAY0, doses=doses(0)))[
            "infusion:next"
        ]

    assert nxt(day(4)).status == PLANNED
    assert nxt(day(5)).status == DUE and nxt(day(9)).status == DUE and nxt(day(9)).due_on == day(7)
    assert nxt(day(10)).status == OVERDUE and nxt(day(10)).kind == INFUSION
    assert nxt(day(14)).kind == INFUSION
    reload = nxt(day(15))
    assert reload.kind == RELOAD and reload.status == OVERDUE and "new loading dose" in reload.explanation


def test_a_dose_given_after_a_gap_over_14_days_is_a_reload_and_on_day_14_is_not():
    items = plan_treatment(RULES, today=day(60), first_dose_on=DAY0, doses=doses(0, 14, 29))
    by_key = items_by_key(items)
    assert (
        by_key["infusion:infusion#2"].kind == INFUSION
        and by_key["infusion:infusion#2"].status == DONE_OUT_OF_WINDOW
    )
    assert (
        by_key["infusion:infusion#3"].kind == RELOAD and "missed" in by_key["infusion:infusion#3"].explanation
    )


def test_no_dose_is_proposed_during_a_cardiac_hold_and_a_repeat_lvef_is_asked():
    hold = HoldPeriod(day(20), None, day(48), "hold#1")
    by_key = items_by_key(
        plan_treatment(RULES, today=day(30), first_dose_on=DAY0, doses=doses(0, 7, 14), holds=[hold])
    )
    assert (
        by_key["infusion:next"].status == NOT_APPLICABLE
        and "cardiac hold" in by_key["infusion:next"].explanation
    )
    repeat = by_key["repeat_lvef:hold#1"]
    assert repeat.kind == REPEAT_LVEF and repeat.status == DUE and repeat.window_end == day(48)
    done = items_by_key(
        plan_treatment(
            RULES,
            today=day(50),
            first_dose_on=DAY0,
            doses=doses(0, 7, 14),
            holds=[hold],
            lvef_done_on=[day(-7), day(40)],
        )
    )
    assert done["repeat_lvef:hold#1"].status == DONE_IN_WINDOW and done["repeat_lvef:hold#1"].done_on == day(
        40
    )


def test_the_minimum_treatment_of_8_weeks_is_met_by_8_weekly_doses():
    """8 doses on days 0..49 cover 49 + 7 = 56 days = 8 weeks (dose_rules.minimum_duration_weeks: 8)."""
    eight = plan_treatment(
        RULES,
        today=day(60),
        first_dose_on=DAY0,
        doses=doses(0, 7, 14, 21, 28, 35, 42, 49),
        treatment_ended_on=day(56),
    )
    assert items_by_key(eight)["minimum_treatment"].status == DONE_IN_WINDOW
    seven = plan_treatment(
        RULES,
        today=day(60),
        first_dose_on=DAY0,
        doses=doses(0, 7, 14, 21, 28, 35, 42),
        treatment_ended_on=day(50),
    )
    assert items_by_key(seven)["minimum_treatment"].status == NOT_MET
    with_reason = plan_treatment(
        RULES,
        today=day(60),
        first_dose_on=DAY0,
        doses=doses(0, 7, 14, 21, 28, 35, 42),
        treatment_ended_on=day(50),
        end_reason_recorded=True,
    )
    assert items_by_key(with_reason)["minimum_treatment"].status == NOT_APPLICABLE


def test_assessments_after_the_end_of_treatment_are_not_applicable():
    by_key = items_by_key(
        plan_treatment(
            RULES,
            today=day(100),
            first_dose_on=DAY0,
            doses=doses(0, 7),
            assessments=assessments(),
            treatment_ended_on=day(21),
            end_reason_recorded=True,
        )
    )
    assert by_key["aspirate:M1"].status == OVERDUE  # its window opened on day 21, the last day of treatment
    assert by_key["aspirate:M2"].status == NOT_APPLICABLE  # opens on day 49
    assert by_key["infusion:next"].status == NOT_APPLICABLE


def test_item_keys_do_not_change_when_the_calendar_is_computed_again():
    args = dict(
        today=day(40), first_dose_on=DAY0, doses=doses(0, 7, 20), assessments=assessments({"M1": day(30)})
    )
    assert [i.key for i in plan_treatment(RULES, **args)] == [i.key for i in plan_treatment(RULES, **args)]


# ------------------------------------------------------------------ properties (hypothesis)

gaps = st.lists(st.integers(min_value=0, max_value=30), min_size=0, max_size=12)


def _dose_days(gap_list):
    days = [0]
    for gap in gap_list:
        days.append(days[-1] + gap)
    return days


@given(gap_list=gaps, wait=st.integers(min_value=0, max_value=40))
def test_no_weekly_dose_is_planned_closer_than_5_days_and_a_closer_one_is_out_of_window(gap_list, wait):
    given_days = _dose_days(gap_list)
    items = plan_treatment(
        RULES, today=day(given_days[-1] + wait), first_dose_on=DAY0, doses=doses(*given_days)
    )
    nxt = items_by_key(items)["infusion:next"]
    assert nxt.window_start >= day(given_days[-1] + 5)
    given_items = [i for i in items if i.kind in (INFUSION, RELOAD) and i.done_on is not None]
    for previous, item in zip(given_days, given_items[1:], strict=False):
        assert item.window_start >= day(previous + 5)
        if (item.done_on - day(previous)).days < 5:
            assert item.status == DONE_OUT_OF_WINDOW


@given(gap_list=gaps, wait=st.integers(min_value=0, max_value=40))
def test_a_reload_always_follows_a_gap_over_14_days(gap_list, wait):
    given_days = _dose_days(gap_list)
    items = plan_treatment(
        RULES, today=day(given_days[-1] + wait), first_dose_on=DAY0, doses=doses(*given_days)
    )
    given_items = [i for i in items if i.kind in (INFUSION, RELOAD) and i.done_on is not None]
    for previous, item in zip(given_days, given_items[1:], strict=False):
        assert (item.kind == RELOAD) == ((item.done_on - day(previous)).days > 14)
    assert (items_by_key(items)["infusion:next"].kind == RELOAD) == (wait > 14)


@given(
    first=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2080, 1, 1)),
    offsets=st.dictionaries(
        st.sampled_from([c for c, k in KINDS.items() if k == ASPIRATE]),
        st.integers(min_value=-10, max_value=10),
    ),
)
def test_the_aspirates_stay_within_their_windows(first, offsets):
    """Every aspirate is planned inside its own window (28 days apart, +/- 7: the windows never
    overlap), and one done inside it is in window, outside it out of window."""
    planned = {a.visit_code: a for a in assessments(first=first)}
    done = {code: planned[code].planned_on + dt.timedelta(days=off) for code, off in offsets.items()}
    items = items_by_key(
        plan_treatment(
            RULES,
            today=first + dt.timedelta(days=400),
            first_dose_on=first,
            assessments=assessments(done, first=first),
        )
    )
    aspirates = sorted((a for a in planned.values() if a.kind == ASPIRATE), key=lambda a: a.planned_on)
    for earlier, later in zip(aspirates, aspirates[1:], strict=False):
        assert earlier.window_end < later.window_start
    for code, visit in planned.items():
        if visit.kind != ASPIRATE:
            continue
        assert visit.window_start <= visit.planned_on <= visit.window_end
        item = items[f"aspirate:{code}"]
        if code in done:
            inside = visit.window_start <= done[code] <= visit.window_end
            assert item.status == (DONE_IN_WINDOW if inside else DONE_OUT_OF_WINDOW)
            assert inside == (abs(offsets[code]) <= 7)
        else:
            assert item.status == OVERDUE


def test_the_minimum_treatment_item_is_dated_8_weeks_after_the_first_dose():
    items = items_by_key(plan_treatment(RULES, today=DAY0, first_dose_on=DAY0, doses=doses(0)))
    assert (
        items["minimum_treatment"].due_on == day(56) and items["minimum_treatment"].kind == MINIMUM_TREATMENT
    )


def test_after_the_subject_left_the_study_what_was_still_to_do_is_not_applicable():
    by_key = items_by_key(
        plan_treatment(
            RULES,
            today=day(120),
            first_dose_on=DAY0,
            doses=doses(0, 7),
            assessments=assessments(),
            off_study_on=day(40),
        )
    )
    assert by_key["aspirate:M1"].status == OVERDUE  # its window closed on day 35, before
    assert (
        by_key["aspirate:M2"].status == NOT_APPLICABLE
        and "left the study" in by_key["aspirate:M2"].explanation
    )
    assert by_key["infusion:next"].status == NOT_APPLICABLE


def test_a_record_that_reports_the_end_of_the_study_before_a_window_is_not_a_visit_made_early():
    # the demo's follow-up call that learns of a death weeks before its window opened: the visit
    # was no longer due once the subject left the study, so no window deviation (M1: days 21-35)
    def status(done: int, left: int | None):
        items = plan_treatment(
            RULES, today=day(60), first_dose_on=DAY0, doses=doses(0),
            assessments=assessments({"M1": day(done)}), off_study_on=None if left is None else day(left),
        )
        return items_by_key(items)["aspirate:M1"].status

    assert status(10, None) == DONE_OUT_OF_WINDOW  # early, the subject still on study
    assert status(10, 10) == NOT_APPLICABLE  # left the study that day
    assert status(20, 21) == NOT_APPLICABLE  # left on the day the window opened
    assert status(10, 22) == DONE_OUT_OF_WINDOW  # still on study when the window opened
    assert status(36, 10) == DONE_OUT_OF_WINDOW  # late is late
