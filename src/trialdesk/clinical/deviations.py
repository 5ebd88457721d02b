"""Protocol deviations computed from the data by the clinical rules (pure), never typed.

Each deviation has a **stable key**: its rule code and the identity of the record it is
about (``late_dose:infusion#4``, ``assessment_out_of_window:M2``), so that the same data
computed again, or a record saved again, gives the same key and an acknowledgement stays
attached to it. The rules are the clinical functions': the dose given against the
prescription (``dosing.check_deviation``), the interval since the previous dose
(``dosing.classify_interval``: too early, late, missed and the reload it needs), the
assessment windows (``calendar.check_window``), the cardiac holds and the minimum treatment
duration (``calendar.plan_treatment``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from trialdesk.clinical.calendar import (
    ASPIRATE,
    DONE_OUT_OF_WINDOW,
    FOLLOW_UP_CALL,
    LVEF,
    NOT_MET,
    REPEAT_LVEF,
    AssessmentDone,
    CalendarItem,
    DoseGiven,
    HoldPeriod,
    interval_window,
    plan_treatment,
)
from trialdesk.clinical.dosing import check_deviation, classify_interval
from trialdesk.clinical.exposure import DoseValue, Exposure, exposure
from trialdesk.protocol.formdata import Message, gettext_noop

__all__ = [
    "RULES",
    "Deviation",
    "TreatmentFacts",
    "calendar_of",
    "deviations_of",
    "exposure_of",
]

DOSE_ERROR = "dose_error"
DOSE_TOO_EARLY = "dose_too_early"
LATE_DOSE = "late_dose"
MISSED_DOSE = "missed_dose"
RELOAD_NOT_GIVEN = "reload_not_given"
DOSE_DURING_HOLD = "dose_during_hold"
ASSESSMENT_OUT_OF_WINDOW = "assessment_out_of_window"
SHORT_TREATMENT = "short_treatment"

#: every rule, in the order a listing shows them, with its title (translated by the shell)
RULES: dict[str, str] = {
    DOSE_ERROR: gettext_noop("Dose given away from the prescription"),
    DOSE_TOO_EARLY: gettext_noop("Dose given too early"),
    LATE_DOSE: gettext_noop("Late dose"),
    MISSED_DOSE: gettext_noop("Missed dose"),
    RELOAD_NOT_GIVEN: gettext_noop("Reload not given after a missed dose"),
    DOSE_DURING_HOLD: gettext_noop("Dose given during a cardiac hold"),
    ASSESSMENT_OUT_OF_WINDOW: gettext_noop("Assessment outside its window"),
    SHORT_TREATMENT: gettext_noop("Treatment shorter than the minimum without a recorded reason"),
}


def _m(template: str, **params: Any) -> Message:
    return Message(
        template, **{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in params.items()}
    )


@dataclass(frozen=True)
class TreatmentFacts:
    """What the calendar, the exposure and the deviations of one subject are computed from."""

    first_dose_on: dt.date | None = None
    planned_first_dose_on: dt.date | None = None
    doses: Sequence[DoseValue] = ()
    assessments: Sequence[AssessmentDone] = ()
    treatment_ended_on: dt.date | None = None
    end_reason_recorded: bool = False
    end_ref: str = ""  # the end-of-treatment record
    holds: Sequence[HoldPeriod] = ()
    lvef_done_on: Sequence[dt.date] = field(default_factory=tuple)
    off_study_on: dt.date | None = None  # death or end of study


@dataclass(frozen=True)
class Deviation:
    key: str  # rule code and record identity: stable across recomputation and re-saves
    rule: str
    on: dt.date | None  # the day it happened
    ref: str  # the record it is about ("" for the subject as a whole)
    explanation: Message

    @property
    def title(self) -> str:
        return RULES[self.rule]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "rule": self.rule,
            "title": self.title,
            "on": self.on.isoformat() if self.on else None,
            "record": self.ref,
            "explanation": str(self.explanation),
        }


def calendar_of(rules: Any, facts: TreatmentFacts, today: dt.date) -> list[CalendarItem]:
    return plan_treatment(
        rules,
        today=today,
        first_dose_on=facts.first_dose_on,
        planned_first_dose_on=facts.planned_first_dose_on,
        doses=[DoseGiven(d.given_on, d.loading, d.ref) for d in facts.doses],
        assessments=facts.assessments,
        treatment_ended_on=facts.treatment_ended_on,
        end_reason_recorded=facts.end_reason_recorded,
        holds=facts.holds,
        lvef_done_on=facts.lvef_done_on,
        off_study_on=facts.off_study_on,
    )


def exposure_of(rules: Any, facts: TreatmentFacts) -> Exposure:
    return exposure(rules, facts.doses, holds=len(facts.holds))


def _key(rule: str, ref: str) -> str:
    return f"{rule}:{ref}" if ref else rule


def deviations_of(
    rules: Any, facts: TreatmentFacts, today: dt.date, *, calendar: Iterable[CalendarItem] | None = None
) -> list[Deviation]:
    """Every deviation of one subject on ``today``, in the order they happened."""
    found: list[Deviation] = []
    doses = sorted(facts.doses, key=lambda d: (d.given_on, d.ref))
    previous: DoseValue | None = None
    for number, dose in enumerate(doses, start=1):
        ref = dose.ref or f"dose{number}"
        if dose.prescribed_mg and dose.given_mg is not None:
            check = check_deviation(dose.prescribed_mg, dose.given_mg, rules)
            if check.deviation:
                found.append(
                    Deviation(
                        _key(DOSE_ERROR, ref),
                        DOSE_ERROR,
                        dose.given_on,
                        ref,
                        _m(
                            gettext_noop(
                                "%(given)s mg given for %(prescribed)s mg prescribed (%(pct)+.1f %%): "
                                "more than %(limit)s %% away"
                            ),
                            given=f"{dose.given_mg:g}",
                            prescribed=f"{dose.prescribed_mg:g}",
                            pct=check.difference_pct,
                            limit=f"{check.threshold_pct:g}",
                        ),
                    )
                )
        if previous is not None:
            interval = classify_interval(previous.given_on, dose.given_on, rules)
            previous_ref = previous.ref or f"dose{number - 1}"
            if interval.status == "too_early":
                found.append(
                    Deviation(
                        _key(DOSE_TOO_EARLY, ref), DOSE_TOO_EARLY, dose.given_on, ref, interval.explanation
                    )
                )
            elif interval.status == "late":
                found.append(
                    Deviation(_key(LATE_DOSE, ref), LATE_DOSE, dose.given_on, ref, interval.explanation)
                )
            elif interval.status == "missed":
                # keyed by the dose before the gap: the same key whether the next dose came or not
                found.append(
                    Deviation(
                        _key(MISSED_DOSE, f"after:{previous_ref}"),
                        MISSED_DOSE,
                        dose.given_on,
                        previous_ref,
                        interval.explanation,
                    )
                )
                if dose.loading is False:
                    found.append(
                        Deviation(
                            _key(RELOAD_NOT_GIVEN, ref),
                            RELOAD_NOT_GIVEN,
                            dose.given_on,
                            ref,
                            _m(
                                gettext_noop(
                                    "%(days)d days since the last dose: a new loading dose was due, "
                                    "a maintenance dose was given"
                                ),
                                days=interval.days_since,
                            ),
                        )
                    )
        for hold in facts.holds:
            if hold.covers(dose.given_on):
                found.append(
                    Deviation(
                        _key(DOSE_DURING_HOLD, ref),
                        DOSE_DURING_HOLD,
                        dose.given_on,
                        ref,
                        _m(
                            gettext_noop("dose given on %(day)s during the cardiac hold of %(start)s"),
                            day=dose.given_on,
                            start=hold.started_on,
                        ),
                    )
                )
                break
        previous = dose

    # a gap still open: no dose for longer than a missed dose, treatment going on, no hold
    if previous is not None:
        window = interval_window(rules)
        since = (today - previous.given_on).days
        ended = (facts.treatment_ended_on is not None and facts.treatment_ended_on <= today) or (
            facts.off_study_on is not None and facts.off_study_on <= today
        )
        on_hold = any(h.covers(today) or (h.started_on > previous.given_on) for h in facts.holds)
        if since > window.late_until and not ended and not on_hold:
            previous_ref = previous.ref or f"dose{len(doses)}"
            found.append(
                Deviation(
                    _key(MISSED_DOSE, f"after:{previous_ref}"),
                    MISSED_DOSE,
                    previous.given_on + dt.timedelta(days=window.late_until + 1),
                    previous_ref,
                    _m(
                        gettext_noop("%(days)d days since the last dose on %(day)s, no dose since"),
                        days=since,
                        day=previous.given_on,
                    ),
                )
            )

    items = list(calendar) if calendar is not None else calendar_of(rules, facts, today)
    for item in items:
        if item.kind in (ASPIRATE, LVEF, FOLLOW_UP_CALL, REPEAT_LVEF) and item.status == DONE_OUT_OF_WINDOW:
            ref = item.ref or item.key
            found.append(
                Deviation(
                    _key(ASSESSMENT_OUT_OF_WINDOW, ref),
                    ASSESSMENT_OUT_OF_WINDOW,
                    item.done_on,
                    ref,
                    item.explanation,
                )
            )
        elif item.status == NOT_MET:
            found.append(
                Deviation(
                    SHORT_TREATMENT,
                    SHORT_TREATMENT,
                    facts.treatment_ended_on,
                    facts.end_ref,
                    item.explanation,
                )
            )
    order = list(RULES)
    return sorted(found, key=lambda d: (d.on or dt.date.max, order.index(d.rule), d.key))
