"""The visit calendar of a subject, planned from the protocol's schedule and its anchors (pure).

Day 0 is the first dose (DESIGN §3: "day 1" in clinical wording): visits anchored on
``first_dose`` are planned from the planned first dose at enrollment, and again from the
actual first infusion once it is given; visits anchored on ``end_of_treatment`` are
planned once treatment ends. A visit that already took place (it has an actual date) or
holds data keeps its dates when the calendar is planned again: re-planning moves only
what has not happened yet.

``plan_calendar`` is the one implementation; the enrollment service, the infusion and
end-of-treatment subscribers, the simulator and the analysis call it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from trialdesk.protocol.formdata import Message, gettext_noop

FIRST_DOSE = "first_dose"
END_OF_TREATMENT = "end_of_treatment"


@dataclass(frozen=True)
class VisitState:
    """What a subject's visit holds now, as far as planning is concerned."""

    code: str
    planned_date: dt.date | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    actual_date: dt.date | None = None
    has_data: bool = False

    @property
    def frozen(self) -> bool:
        """Taken place or holding data: its dates are history, not a plan."""
        return self.actual_date is not None or self.has_data


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    title: str
    sequence: int
    anchor: str
    day: int | None
    planned_date: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    kept: bool = False  # dates left as they were (the visit took place or holds data)
    explanation: str = ""


def _target(visit: Any, anchor_date: dt.date | None) -> tuple[dt.date | None, dt.date | None, dt.date | None]:
    if anchor_date is None or visit.day is None:
        return None, None, None
    planned = anchor_date + dt.timedelta(days=visit.day)
    return (
        planned,
        planned - dt.timedelta(days=visit.window_before),
        planned + dt.timedelta(days=visit.window_after),
    )


def plan_calendar(
    schedule: Any,
    anchors: Mapping[str, dt.date | None],
    current: Iterable[VisitState] = (),
    *,
    fixed: Mapping[str, dt.date] | None = None,
) -> list[PlannedVisit]:
    """Every visit of the schedule with its planned date and window.

    ``anchors`` gives the date of each anchor that is known (``first_dose``,
    ``end_of_treatment``); a visit whose anchor is unknown, or an event-driven visit
    (``day: None``), has no planned date. ``fixed`` pins visits whose date does not come
    from an anchor (the screening visit on its screening date). ``current`` is what the
    subject's visits hold now: a visit that took place or holds data keeps its dates.
    """
    states = {state.code: state for state in current}
    pinned = dict(fixed or {})
    planned: list[PlannedVisit] = []
    for sequence, visit in enumerate(schedule.expanded_visits(), start=1):
        state = states.get(visit.code)
        anchor_date = anchors.get(visit.anchor)
        if state is not None and state.frozen and state.planned_date is None and visit.code not in pinned:
            # Took place or holds data before its anchor was known (the end-of-treatment visit
            # whose own form dates the end of treatment): its plan is filled in, nothing moves.
            target, start, end = _target(visit, anchor_date)
            if target is not None:
                planned.append(
                    PlannedVisit(
                        visit.code, visit.title, sequence, visit.anchor, visit.day, target, start, end, kept=True,
                        explanation=f"kept; its plan filled in: day {visit.day} from the "
                        f"{visit.anchor.replace('_', ' ')} on {anchor_date.isoformat()}",
                    )
                )
                continue
        if state is not None and state.frozen:
            planned.append(
                PlannedVisit(
                    visit.code, visit.title, sequence, visit.anchor, visit.day,
                    state.planned_date, state.window_start, state.window_end, kept=True,
                    explanation="kept: the visit took place or holds data",
                )
            )
            continue
        if visit.code in pinned:
            day = pinned[visit.code]
            before = dt.timedelta(days=visit.window_before)
            after = dt.timedelta(days=visit.window_after)
            planned.append(
                PlannedVisit(visit.code, visit.title, sequence, visit.anchor, visit.day, day, day - before, day + after,
                             explanation="on its own date")
            )
            continue
        target, start, end = _target(visit, anchor_date)
        if target is None:
            why = "event-driven: planned when it happens" if visit.day is None else f"waits for its anchor ({visit.anchor})"
        else:
            why = f"day {visit.day} from the {visit.anchor.replace('_', ' ')} on {anchor_date.isoformat()}"
        planned.append(
            PlannedVisit(visit.code, visit.title, sequence, visit.anchor, visit.day, target, start, end, explanation=why)
        )
    return planned


@dataclass(frozen=True)
class WindowCheck:
    ok: bool
    explanation: str


def screening_window_check(screened_on: dt.date, first_dose: dt.date, window_days: int) -> WindowCheck:
    """Eligibility is assessed within ``window_days`` before the first dose (the protocol's
    eligibility window): checked at enrollment against the planned first dose, and again
    at the first infusion against the actual one."""
    days = (first_dose - screened_on).days
    if days < 0:
        return WindowCheck(False, f"the first dose ({first_dose}) is before screening ({screened_on})")
    if days > window_days:
        return WindowCheck(
            False,
            f"screening on {screened_on} is {days} days before the first dose on {first_dose}, "
            f"more than the {window_days} days of the screening window",
        )
    return WindowCheck(True, f"screening {days} days before the first dose (at most {window_days})")


# --------------------------------------------------------------------------- treatment calendar
#
# Planned against actual, from plain values: the weekly infusions (their windows come from
# the dose rules through ``dosing.classify_interval``, never re-stated here), the visits of
# the schedule that hold an assessment (marrow aspirates, LVEF, follow-up calls) with their
# windows, the minimum treatment duration, and the repeat LVEF a cardiac hold asks for.
# Explanations are ``Message``s: English, with their template for the shell to translate.

#: item kinds
INFUSION = "infusion"
RELOAD = "reload"
ASPIRATE = "aspirate"
LVEF = "lvef"
REPEAT_LVEF = "repeat_lvef"
FOLLOW_UP_CALL = "follow_up_call"
MINIMUM_TREATMENT = "minimum_treatment"

#: item statuses
DONE_IN_WINDOW = "done_in_window"
DONE_OUT_OF_WINDOW = "done_out_of_window"
PLANNED = "planned"  # not due yet
DUE = "due"  # in its window, not done
OVERDUE = "overdue"  # its window has passed, not done
NOT_MET = "not_met"  # the minimum treatment: stopped before it without a recorded reason
NOT_APPLICABLE = "not_applicable"

#: the clinical concepts whose forms make a visit an assessment of each kind
ASSESSMENT_CONCEPTS = {ASPIRATE: "marrow_assessed_on", LVEF: "lvef_assessed_on", FOLLOW_UP_CALL: "contacted_on"}


def _m(template: str, **params: Any) -> Message:
    return Message(template, **{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()})


@dataclass(frozen=True)
class WindowVerdict:
    """Whether an assessment's date is inside its window (first and last day included)."""

    in_window: bool
    days_outside: int  # 0 inside; negative before the window, positive after it
    explanation: Message


def check_window(done_on: dt.date, window_start: dt.date, window_end: dt.date) -> WindowVerdict:
    """The one rule of "an assessment outside its window": the query raised at save and
    the deviation listing both ask it."""
    if done_on < window_start:
        days = (done_on - window_start).days
        return WindowVerdict(False, days, _m(
            gettext_noop("done on %(done)s, %(days)d day(s) before its window (%(start)s to %(end)s)"),
            done=done_on, days=-days, start=window_start, end=window_end))
    if done_on > window_end:
        days = (done_on - window_end).days
        return WindowVerdict(False, days, _m(
            gettext_noop("done on %(done)s, %(days)d day(s) after its window (%(start)s to %(end)s)"),
            done=done_on, days=days, start=window_start, end=window_end))
    return WindowVerdict(True, 0, _m(gettext_noop("done on %(done)s, within its window (%(start)s to %(end)s)"),
                                     done=done_on, start=window_start, end=window_end))


def assessment_kinds(protocol: Any) -> dict[str, str]:
    """Visit code -> the kind of assessment it holds, for the dated on-treatment and
    follow-up visits of the schedule (the screening and day-1 visits are the baseline)."""
    forms: dict[str, str] = {}
    for kind, concept in ASSESSMENT_CONCEPTS.items():
        if protocol.has_concept(concept):
            forms.setdefault(protocol.concept_form(concept), kind)
    kinds: dict[str, str] = {}
    for visit in protocol.schedule.expanded_visits():
        if visit.day is None or (visit.anchor == FIRST_DOSE and visit.day <= 0):
            continue
        for form in visit.forms:
            if form in forms:
                kinds[visit.code] = forms[form]
                break
    return kinds


def assessment_form(protocol: Any, kind: str) -> str | None:
    """The form that records an assessment of ``kind`` (None if the protocol has none)."""
    concept = ASSESSMENT_CONCEPTS.get(kind)
    if concept is None or not protocol.has_concept(concept):
        return None
    return protocol.concept_form(concept)


@dataclass(frozen=True)
class DoseGiven:
    """One dose given: its date, whether it was given as a loading dose, and the record it is
    in (``ref``: a stable identity such as ``infusion#3``, for the deviation keys)."""

    given_on: dt.date
    loading: bool | None = None
    ref: str = ""


@dataclass(frozen=True)
class AssessmentDone:
    """A scheduled assessment visit: its window, and when it was done (None: not yet)."""

    visit_code: str
    title: str
    kind: str
    planned_on: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    done_on: dt.date | None = None
    ref: str = ""
    anchor: str = FIRST_DOSE


@dataclass(frozen=True)
class HoldPeriod:
    """A cardiac hold: from ``started_on`` until ``lifted_on`` (None: still on hold); the repeat
    LVEF is due by ``repeat_lvef_due``."""

    started_on: dt.date
    lifted_on: dt.date | None = None
    repeat_lvef_due: dt.date | None = None
    ref: str = ""

    def covers(self, day: dt.date) -> bool:
        return self.started_on <= day and (self.lifted_on is None or day < self.lifted_on)


@dataclass(frozen=True)
class CalendarItem:
    kind: str
    key: str  # stable within the subject: the item's rule and record identity
    title: Message
    due_on: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    done_on: dt.date | None
    status: str
    explanation: Message
    ref: str = ""

    @property
    def open(self) -> bool:
        """Still to be done (due, overdue or planned)."""
        return self.status in (DUE, OVERDUE, PLANNED)


@dataclass(frozen=True)
class IntervalWindow:
    """The days after the previous dose a weekly dose is on time, and the last day it is
    still a (late) maintenance dose, as ``dosing.classify_interval`` classifies them."""

    due_after: int
    earliest: int  # first on-time day
    latest: int  # last on-time day
    late_until: int  # last day given as a late maintenance dose; after it, a missed dose


def interval_window(rules: Any) -> IntervalWindow:
    """Read the on-time, late and missed days from ``dosing.classify_interval`` itself (the
    one implementation of the dose-interval rule), one day after the previous dose at a time."""
    from trialdesk.clinical.dosing import classify_interval

    start = dt.date(2000, 1, 3)
    statuses: dict[int, str] = {}
    for days in range(0, 366):
        statuses[days] = classify_interval(start, start + dt.timedelta(days=days), rules).status
        if statuses[days] == "missed":
            break
    on_time = [d for d, s in statuses.items() if s == "on_time"]
    late = [d for d, s in statuses.items() if s == "late"]
    if not on_time:
        raise ValueError("the dose rules allow no day for a weekly dose")
    return IntervalWindow(rules.interval_days, min(on_time), max(on_time), max(late or on_time))


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def _open_status(today: dt.date, start: dt.date | None, end: dt.date | None) -> str:
    if start is not None and today < start:
        return PLANNED
    if end is not None and today > end:
        return OVERDUE
    return DUE


_TITLE_FIRST = gettext_noop("first dose (loading)")
_TITLE_WEEKLY = gettext_noop("weekly dose")
_TITLE_RELOAD = gettext_noop("reload (loading dose)")


def plan_treatment(
    rules: Any,
    *,
    today: dt.date,
    first_dose_on: dt.date | None,
    planned_first_dose_on: dt.date | None = None,
    doses: Iterable[DoseGiven] = (),
    assessments: Iterable[AssessmentDone] = (),
    treatment_ended_on: dt.date | None = None,
    end_reason_recorded: bool = False,
    holds: Iterable[HoldPeriod] = (),
    lvef_done_on: Iterable[dt.date] = (),
    off_study_on: dt.date | None = None,
) -> list[CalendarItem]:
    """The treatment calendar of one subject, planned against actual, on ``today`` (the site's
    date): every dose given with its interval verdict, the next dose (a reload once the gap
    is a missed dose; none while on cardiac hold or after the end of treatment), each
    scheduled assessment in or out of its window, the minimum duration, the repeat LVEF of
    each hold. Each item says why it has its status. Once the subject has left the study
    (``off_study_on``: death, end of study), what was still to do by then is not applicable;
    what was overdue before stays overdue."""
    from trialdesk.clinical.dosing import classify_interval

    window = interval_window(rules)
    given = sorted(doses, key=lambda d: (d.given_on, d.ref))
    hold_list = sorted(holds, key=lambda h: h.started_on)
    items: list[CalendarItem] = []
    first = first_dose_on or (given[0].given_on if given else None)

    # ---- the doses given
    previous: DoseGiven | None = None
    for number, dose in enumerate(given, start=1):
        key = f"infusion:{dose.ref or number}"
        if previous is None:
            due = planned_first_dose_on or dose.given_on
            items.append(CalendarItem(INFUSION, key, _m(_TITLE_FIRST), due, None, None, dose.given_on,
                                      DONE_IN_WINDOW, _m(gettext_noop("first dose, given on %(day)s"), day=dose.given_on),
                                      dose.ref))
        else:
            verdict = classify_interval(previous.given_on, dose.given_on, rules)
            missed = verdict.status == "missed"
            items.append(CalendarItem(
                RELOAD if missed else INFUSION, key, _m(_TITLE_RELOAD if missed else _TITLE_WEEKLY),
                previous.given_on + _days(window.due_after), previous.given_on + _days(window.earliest),
                previous.given_on + _days(window.latest), dose.given_on,
                DONE_IN_WINDOW if verdict.status == "on_time" else DONE_OUT_OF_WINDOW, verdict.explanation, dose.ref,
            ))
        previous = dose

    on_hold = next((h for h in hold_list if h.covers(today)), None)
    ended = treatment_ended_on is not None and treatment_ended_on <= today

    # ---- the next dose
    if first is None:
        if planned_first_dose_on is not None and not ended:
            items.append(CalendarItem(
                INFUSION, "infusion:next", _m(_TITLE_FIRST), planned_first_dose_on, planned_first_dose_on,
                planned_first_dose_on, None, _open_status(today, planned_first_dose_on, planned_first_dose_on),
                _m(gettext_noop("the first dose is planned on %(day)s"), day=planned_first_dose_on),
            ))
    elif previous is not None:
        due = previous.given_on + _days(window.due_after)
        start = previous.given_on + _days(window.earliest)
        end = previous.given_on + _days(window.latest)
        since = (today - previous.given_on).days
        if ended:
            items.append(CalendarItem(INFUSION, "infusion:next", _m(_TITLE_WEEKLY), due, start, end, None,
                                      NOT_APPLICABLE, _m(gettext_noop("treatment ended on %(day)s"),
                                                         day=treatment_ended_on)))
        elif on_hold is not None:
            items.append(CalendarItem(
                INFUSION, "infusion:next", _m(_TITLE_WEEKLY), due, start, end, None, NOT_APPLICABLE,
                _m(gettext_noop("on cardiac hold since %(day)s: no dose until the hold is lifted"),
                   day=on_hold.started_on), on_hold.ref,
            ))
        elif since > window.late_until:
            items.append(CalendarItem(
                RELOAD, "infusion:next", _m(_TITLE_RELOAD), due, start, end, None, OVERDUE,
                _m(gettext_noop("%(days)d days since the last dose on %(day)s, more than %(limit)d: "
                                "a missed dose, the next one is a new loading dose"),
                   days=since, day=previous.given_on, limit=window.late_until),
            ))
        else:
            status = _open_status(today, start, end)
            if status == OVERDUE:
                why = _m(gettext_noop("due on %(due)s, on time until %(end)s: %(days)d days since the last dose"),
                         due=due, end=end, days=since)
            else:
                why = _m(gettext_noop("%(interval)d days after the last dose on %(day)s, on time %(start)s to %(end)s"),
                         interval=window.due_after, day=previous.given_on, start=start, end=end)
            items.append(CalendarItem(INFUSION, "infusion:next", _m(_TITLE_WEEKLY), due, start, end, None, status, why))

    # ---- the scheduled assessments
    for visit in assessments:
        key = f"{visit.kind}:{visit.visit_code}"
        title = _m(visit.title)
        if visit.done_on is not None:
            if visit.window_start is None or visit.window_end is None:
                status, why = DONE_IN_WINDOW, _m(gettext_noop("done on %(day)s"), day=visit.done_on)
            else:
                check = check_window(visit.done_on, visit.window_start, visit.window_end)
                status, why = (DONE_IN_WINDOW if check.in_window else DONE_OUT_OF_WINDOW), check.explanation
                if (not check.in_window and off_study_on is not None and visit.done_on < visit.window_start
                        and off_study_on <= visit.window_start):
                    # the record reports the end (a follow-up call that learnt of the death): the
                    # visit was no longer due, so it is not one made early
                    status, why = NOT_APPLICABLE, _m(
                        gettext_noop("recorded on %(done)s; the subject left the study on %(day)s, "
                                     "before its window opened"),
                        done=visit.done_on, day=off_study_on)
            items.append(CalendarItem(visit.kind, key, title, visit.planned_on, visit.window_start,
                                      visit.window_end, visit.done_on, status, why, visit.ref))
            continue
        if visit.planned_on is None:
            continue  # waits for its anchor
        if (visit.anchor == FIRST_DOSE and treatment_ended_on is not None and visit.window_start is not None
                and visit.window_start > treatment_ended_on):
            # an on-treatment assessment whose window opens after the end of treatment
            items.append(CalendarItem(visit.kind, key, title, visit.planned_on, visit.window_start, visit.window_end,
                                      None, NOT_APPLICABLE,
                                      _m(gettext_noop("treatment ended on %(day)s"), day=treatment_ended_on),
                                      visit.ref))
            continue
        status = _open_status(today, visit.window_start, visit.window_end)
        if status == OVERDUE:
            why = _m(gettext_noop("its window (%(start)s to %(end)s) has passed: not done"),
                     start=visit.window_start, end=visit.window_end)
        elif status == DUE:
            why = _m(gettext_noop("due on %(due)s, window %(start)s to %(end)s"),
                     due=visit.planned_on, start=visit.window_start, end=visit.window_end)
        else:
            why = _m(gettext_noop("planned on %(due)s, its window opens on %(start)s"),
                     due=visit.planned_on, start=visit.window_start)
        items.append(CalendarItem(visit.kind, key, title, visit.planned_on, visit.window_start,
                                  visit.window_end, None, status, why, visit.ref))

    # ---- the minimum treatment duration
    if first is not None:
        weeks = rules.minimum_duration_weeks
        minimum = first + _days(7 * weeks)
        # the duration on treatment: first dose to last dose, plus the interval the last one covers
        covered_until = (given[-1].given_on if given else first) + _days(rules.interval_days)
        if treatment_ended_on is not None and covered_until < minimum:
            if end_reason_recorded:
                status = NOT_APPLICABLE
                why = _m(gettext_noop("treatment ended on %(day)s, before %(weeks)d weeks, for the reason recorded"),
                         day=treatment_ended_on, weeks=weeks)
            else:
                status = NOT_MET
                why = _m(gettext_noop("treatment ended on %(day)s, before %(weeks)d weeks, with no reason recorded"),
                         day=treatment_ended_on, weeks=weeks)
        else:
            status = DONE_IN_WINDOW if today >= minimum else PLANNED
            why = _m(gettext_noop("%(weeks)d weeks of treatment on %(day)s"), weeks=weeks, day=minimum)
        items.append(CalendarItem(MINIMUM_TREATMENT, "minimum_treatment",
                                  _m(gettext_noop("minimum treatment (%(weeks)d weeks)"), weeks=weeks),
                                  minimum, None, None, minimum if status == DONE_IN_WINDOW else None, status, why))

    # ---- the repeat LVEF of each cardiac hold
    lvefs = sorted(lvef_done_on)
    for number, hold in enumerate(hold_list, start=1):
        if hold.repeat_lvef_due is None:
            continue
        key = f"repeat_lvef:{hold.ref or number}"
        done = next((day for day in lvefs if day > hold.started_on), None)
        if done is not None:
            check = check_window(done, hold.started_on, hold.repeat_lvef_due)
            status, why = (DONE_IN_WINDOW if check.in_window else DONE_OUT_OF_WINDOW), check.explanation
        elif ended:
            status, why = NOT_APPLICABLE, _m(gettext_noop("treatment ended on %(day)s"), day=treatment_ended_on)
        else:
            status = _open_status(today, hold.started_on, hold.repeat_lvef_due)
            why = _m(gettext_noop("cardiac hold since %(day)s: a repeat LVEF is due by %(due)s"),
                     day=hold.started_on, due=hold.repeat_lvef_due)
        items.append(CalendarItem(REPEAT_LVEF, key, _m(gettext_noop("repeat LVEF (cardiac hold)")),
                                  hold.repeat_lvef_due, hold.started_on, hold.repeat_lvef_due, done, status, why,
                                  hold.ref))
    if off_study_on is not None:
        left = _m(gettext_noop("the subject left the study on %(day)s"), day=off_study_on)
        items = [
            replace(item, status=NOT_APPLICABLE, explanation=left)
            if item.open
            and (item.key == "infusion:next" or (item.window_end or item.due_on or off_study_on) >= off_study_on)
            else item
            for item in items
        ]
    return items
