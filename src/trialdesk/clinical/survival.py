"""Survival times of one subject, as plain data (pure; DESIGN §4).

- **Overall survival**: from enrollment to death from any cause; a subject not known to
  have died is censored at the last date known alive.
- **Leukemia-free survival**: responders only, from the first response to relapse or
  progression or death, whichever comes first; a responder without such an event is
  censored at the last assessment of the disease.

The functions read clinical concepts (``date_of_death``, ``last_known_alive``,
``contacted_on``, ``reported_alive``, ``disease_progressing``, ``disease_relapsed``, the
dating concept of each form), never a trial's field codes. The first response and the
marrow relapse or progression come from the response series of the marrow assessments
(the assessments' course of disease: its confirmed ``first_response_on`` and
``failure_on``); they are arguments here. Each result carries its explanation.
Kaplan–Meier and the median belong to ``trialdesk.stats``; this module only says, per
subject, how long and whether the event happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trialdesk.protocol.crossrecord import death_fields, stated_death_date
from trialdesk.protocol.values import as_date as _as_date

__all__ = [
    "SurvivalFacts",
    "SurvivalTime",
    "leukemia_free_survival",
    "leukemia_free_survival_of",
    "overall_survival",
    "survival_facts",
]

#: days in a month, for times in months (365.25 / 12)
DAYS_PER_MONTH = 30.4375

Records = Iterable[tuple[str, Mapping[str, Any]]]


@dataclass(frozen=True)
class SurvivalTime:
    """A time to event: from ``start`` to ``end``; ``event`` True when the event happened
    on ``end``, False when the subject is censored there."""

    start: dt.date
    end: dt.date
    event: bool
    explanation: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def months(self) -> float:
        return self.days / DAYS_PER_MONTH

    @property
    def censored(self) -> bool:
        return not self.event


@dataclass(frozen=True)
class SurvivalFacts:
    """What a subject's records say about their survival and their disease after treatment."""

    death_date: dt.date | None
    last_known_alive: dt.date | None
    #: the first follow-up contact reporting relapse or progression
    follow_up_failure_on: dt.date | None
    #: the last follow-up contact that assessed the disease (a status other than 'not assessed')
    last_follow_up_assessment_on: dt.date | None


def _concept(protocol: Any, name: str, form: str, data: Mapping[str, Any]) -> Any:
    return protocol.read_concept(name, form, data) if protocol.has_concept(name) else None


def survival_facts(protocol: Any, records: Records) -> SurvivalFacts:
    """The survival facts of one subject from their records (``(form code, data)``, not
    voided, the most recent first as the death date's precedence reads them).

    The death date is the one the forms that report the death state (the concept's
    precedence). The last date known alive is the latest of: the ``last_known_alive``
    values, the contacts reporting the subject alive, and the date of every record of a
    form that does not report the death (an assessment, a dose, … shows the patient alive
    that day), never after the death."""
    records = list(records)
    death = stated_death_date(protocol, records)
    reporting = set(death_fields(protocol))
    alive: list[dt.date] = []
    failures: list[dt.date] = []
    assessed: list[dt.date] = []
    for form, data in records:
        seen = _as_date(_concept(protocol, "last_known_alive", form, data))
        if seen is not None:
            alive.append(seen)
        contact = _as_date(_concept(protocol, "contacted_on", form, data))
        if contact is not None and _concept(protocol, "reported_alive", form, data):
            alive.append(contact)
        if form not in reporting:
            date_field = protocol.date_concept_field(form)
            day = _as_date(data.get(date_field)) if date_field else None
            if day is not None:
                alive.append(day)
        if contact is not None:
            if _concept(protocol, "disease_progressing", form, data) or _concept(
                protocol, "disease_relapsed", form, data
            ):
                failures.append(contact)
            status_known = any(
                _concept(protocol, name, form, data) is not None
                for name in (
                    "disease_progressing",
                    "disease_relapsed",
                    "disease_in_remission",
                    "disease_stable",
                )
            )
            if status_known and not _concept(protocol, "disease_not_assessed", form, data):
                assessed.append(contact)
    if death is not None:
        alive = [day for day in alive if day <= death]
    return SurvivalFacts(
        death_date=death,
        last_known_alive=max(alive, default=None),
        follow_up_failure_on=min(failures, default=None),
        last_follow_up_assessment_on=max(assessed, default=None),
    )


def _cut(day: dt.date | None, cutoff: dt.date | None) -> dt.date | None:
    """A date known at the cut-off (None when after it)."""
    return None if day is None or (cutoff is not None and day > cutoff) else day


def overall_survival(
    enrolled_on: dt.date, facts: SurvivalFacts, *, cutoff: dt.date | None = None
) -> SurvivalTime:
    """Enrollment to death from any cause; censored at the last date known alive (at
    enrollment when nothing later is known). Facts after ``cutoff`` are not known yet."""
    death = _cut(facts.death_date, cutoff)
    if death is not None:
        return SurvivalTime(
            enrolled_on,
            death,
            True,
            f"died on {death.isoformat()}, {(death - enrolled_on).days} days after enrollment",
        )
    last = _cut(facts.last_known_alive, cutoff)
    if last is None or last < enrolled_on:
        return SurvivalTime(enrolled_on, enrolled_on, False, "censored at enrollment: nothing known after it")
    return SurvivalTime(
        enrolled_on,
        last,
        False,
        f"censored on {last.isoformat()}, last known alive, {(last - enrolled_on).days} days after enrollment",
    )


def leukemia_free_survival(
    first_response_on: dt.date | None,
    facts: SurvivalFacts,
    *,
    failure_on: dt.date | None = None,
    last_assessment_on: dt.date | None = None,
    cutoff: dt.date | None = None,
) -> SurvivalTime | None:
    """First response to relapse or progression (``failure_on``, from the marrow; or a
    follow-up contact reporting it) or death, the first of them; censored at the last
    assessment of the disease (the last marrow, ``last_assessment_on``, or the last
    follow-up contact that assessed the disease). None for a subject who never responded."""
    start = _cut(first_response_on, cutoff)
    if start is None:
        return None
    events = [
        (day, what)
        for day, what in (
            (_cut(failure_on, cutoff), "relapse or progression"),
            (_cut(facts.follow_up_failure_on, cutoff), "relapse or progression reported at follow-up"),
            (_cut(facts.death_date, cutoff), "the death"),
        )
        if day is not None and day >= start
    ]
    if events:
        day, what = min(events, key=lambda pair: pair[0])
        return SurvivalTime(
            start,
            day,
            True,
            f"{what} on {day.isoformat()}, {(day - start).days} days after the first response",
        )
    assessments = [
        day
        for day in (_cut(last_assessment_on, cutoff), _cut(facts.last_follow_up_assessment_on, cutoff))
        if day is not None and day >= start
    ]
    last = max(assessments, default=start)
    return SurvivalTime(
        start,
        last,
        False,
        f"censored on {last.isoformat()}, the last assessment of the disease, {(last - start).days} days after the first response",
    )


def leukemia_free_survival_of(
    course: Any, facts: SurvivalFacts, *, confirmed: bool = True, cutoff: dt.date | None = None
) -> SurvivalTime | None:
    """Leukemia-free survival from a subject's course of disease
    (:func:`trialdesk.clinical.course_of_disease.course_of_disease`): its confirmed response
    series (or the derived one) gives the first response and the relapse or progression;
    its last marrow assessment is the last assessment of the disease."""
    series = course.confirmed if confirmed else course.derived
    last_marrow = max((assessed.record.on for assessed in course.assessments), default=None)
    return leukemia_free_survival(
        series.first_response_on,
        facts,
        failure_on=series.failure_on,
        last_assessment_on=last_marrow,
        cutoff=cutoff,
    )
