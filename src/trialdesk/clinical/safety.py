"""Safety reporting rules (pure): expectedness against the reference safety information,
relatedness, SUSARs and their reporting deadline, the events shown apart (infusion reactions,
cardiac events) and their counts for tolerance, the death a grade 5 event implies.

Every function reads a protocol's ``safety`` section and its clinical concepts: no trial's
field codes or choice values. The shell (``trialdesk.safety``), the simulator and the
analysis call these, never their own copy.

- An SAE is **expected** when the reference safety information lists its CTCAE term (by
  MedDRA code), up to the grade it lists; otherwise it is unexpected (ICH E2A II.C).
- It is **related** when its causality is one of ``safety.related_causalities``.
- A related and unexpected SAE is a **SUSAR**, to report within
  ``susar_deadlines.fatal_or_life_threatening_days`` (7) of the day the sponsor became aware
  when it is fatal or life-threatening, else within ``other_days`` (15). Day 0 is the day of
  awareness: the deadline is that day plus the days, and a report on the deadline day is on time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trialdesk.protocol.formdata import gettext_noop

__all__ = [
    "Expectedness",
    "HighlightCount",
    "Tolerance",
    "assess_expectedness",
    "days_left",
    "fatal_event_problem",
    "highlights_of",
    "is_fatal_or_life_threatening",
    "is_related",
    "is_susar",
    "susar_deadline",
    "tolerance",
]

#: the AE concepts these rules read
TERM, MEDDRA, SOC, GRADE, SERIOUS = (
    "adverse_event_term",
    "adverse_event_meddra",
    "adverse_event_soc",
    "adverse_event_grade",
    "adverse_event_serious",
)
DEATH_CRITERION, LIFE_THREATENING, FATAL_OUTCOME = (
    "seriousness_death",
    "seriousness_life_threatening",
    "outcome_fatal",
)
END = "adverse_event_resolved_on"

LISTED, LISTED_UP_TO, MORE_SEVERE, NOT_LISTED, NO_TERM = (
    "listed",
    "listed_up_to_grade",
    "more_severe_than_listed",
    "not_listed",
    "no_term",
)


@dataclass(frozen=True)
class Expectedness:
    expected: bool
    why: str  # LISTED, LISTED_UP_TO, MORE_SEVERE, NOT_LISTED or NO_TERM
    reference: str  # the reference safety information it was assessed against
    max_grade: int | None = None  # the grade the reference lists the reaction up to

    @property
    def explanation(self) -> str:
        if self.why == LISTED:
            return f"listed in {self.reference}"
        if self.why == LISTED_UP_TO:
            return f"listed in {self.reference} up to grade {self.max_grade}"
        if self.why == MORE_SEVERE:
            return f"listed in {self.reference} only up to grade {self.max_grade}: more severe than listed"
        if self.why == NO_TERM:
            return "no CTCAE term recorded"
        return f"not listed in {self.reference}"


def _code(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def assess_expectedness(safety: Any, meddra_code: Any, grade: int | None) -> Expectedness:
    """Whether an event of this MedDRA code and grade is expected by the reference safety
    information (``protocol.safety``)."""
    reference = safety.reference_document
    code = _code(meddra_code)
    if code is None:
        return Expectedness(False, NO_TERM, reference)
    reaction = safety.expected_reaction(code)
    if reaction is None:
        return Expectedness(False, NOT_LISTED, reference)
    if reaction.max_grade is None:
        return Expectedness(True, LISTED, reference)
    if grade is not None and grade > reaction.max_grade:
        return Expectedness(False, MORE_SEVERE, reference, reaction.max_grade)
    return Expectedness(True, LISTED_UP_TO, reference, reaction.max_grade)


def is_related(protocol: Any, form_code: str, data: Mapping[str, Any]) -> bool | None:
    """Whether the event's causality counts as related to the study drug (None: not assessed)."""
    safety = protocol.safety
    answers = [protocol.read_concept(name, form_code, data) for name in safety.related_causalities]
    if all(answer is None for answer in answers):
        return None
    return any(answer is True for answer in answers)


def is_fatal_or_life_threatening(protocol: Any, form_code: str, data: Mapping[str, Any]) -> bool:
    """Fatal (death as a criterion, a fatal outcome or grade 5) or life-threatening."""
    for name in (DEATH_CRITERION, LIFE_THREATENING, FATAL_OUTCOME):
        if protocol.has_concept(name) and protocol.read_concept(name, form_code, data) is True:
            return True
    grade = protocol.read_concept(GRADE, form_code, data) if protocol.has_concept(GRADE) else None
    return grade == 5


def is_susar(related: bool | None, expected: bool | None) -> bool:
    """A suspected unexpected serious adverse reaction: related and assessed unexpected."""
    return related is True and expected is False


def susar_deadline(deadlines: Any, aware_on: dt.date, fatal_or_life_threatening: bool) -> dt.date:
    """The last day to report a SUSAR the sponsor became aware of on ``aware_on`` (day 0)."""
    days = deadlines.fatal_or_life_threatening_days if fatal_or_life_threatening else deadlines.other_days
    return aware_on + dt.timedelta(days=days)


def days_left(deadline: dt.date, today: dt.date) -> int:
    """Days until the deadline: 0 on the deadline day (still on time), negative when overdue."""
    return (deadline - today).days


def highlights_of(safety: Any, meddra_code: Any, soc: str | None) -> list[str]:
    """The codes of the highlights (infusion reactions, cardiac events) an event belongs to."""
    if safety is None:
        return []
    code = _code(meddra_code)
    return [
        h.code
        for h in safety.highlights
        if (code is not None and code in h.meddra_codes) or (soc and soc in h.socs)
    ]


_NO_DEATH = gettext_noop(
    "A grade 5 event is a death, but no death is recorded for this patient; record the death (end of study or follow-up)."
)
_OTHER_DAY = gettext_noop(
    "A grade 5 event ends with the death: its end date (%(end)s) differs from the date of death recorded (%(died_on)s)."
)


def fatal_event_problem(
    grade: int | None, end_date: dt.date | None, death_date: dt.date | None
) -> tuple[str, dict] | None:
    """What is wrong with a grade 5 event given the death the casebook records: (template,
    parameters) of the message, or None when it is consistent (or not grade 5). A grade 5
    event implies a death record whose date is the event's end date."""
    if grade != 5:
        return None
    if death_date is None:
        return _NO_DEATH, {}
    if end_date is not None and end_date != death_date:
        return _OTHER_DAY, {"end": end_date.isoformat(), "died_on": death_date.isoformat()}
    return None


# --------------------------------------------------------------------------- tolerance counts


@dataclass
class HighlightCount:
    code: str
    label: str
    label_fr: str | None
    events: int = 0
    subjects: set = field(default_factory=set)
    serious: int = 0
    worst_grade: int | None = None

    @property
    def subject_count(self) -> int:
        return len(self.subjects)


@dataclass
class Tolerance:
    events: int = 0
    serious: int = 0
    subjects: set = field(default_factory=set)
    highlights: dict[str, HighlightCount] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "serious_events": self.serious,
            "subjects": len(self.subjects),
            "highlights": {
                code: {
                    "label": h.label,
                    "events": h.events,
                    "subjects": h.subject_count,
                    "serious_events": h.serious,
                    "worst_grade": h.worst_grade,
                }
                for code, h in self.highlights.items()
            },
        }


def tolerance(protocol: Any, events: Iterable[tuple[Any, Mapping[str, Any]]]) -> Tolerance:
    """Counts of adverse events (``(subject key, record data)`` of the AE form, voided ones
    left out by the caller): all, serious, and per highlight (events, subjects, serious,
    worst grade). Plain data for the tolerance report."""
    form_code = protocol.concept_form(TERM)
    safety = protocol.safety
    result = Tolerance()
    if safety is not None:
        for h in safety.highlights:
            result.highlights[h.code] = HighlightCount(h.code, h.label, h.label_fr)
    for subject, data in events:
        result.events += 1
        result.subjects.add(subject)
        serious = protocol.read_concept(SERIOUS, form_code, data) is True
        result.serious += serious
        grade = protocol.read_concept(GRADE, form_code, data)
        meddra = protocol.read_concept(MEDDRA, form_code, data)
        soc = protocol.read_concept(SOC, form_code, data) if protocol.has_concept(SOC) else None
        for code in highlights_of(safety, meddra, soc):
            count = result.highlights[code]
            count.events += 1
            count.subjects.add(subject)
            count.serious += serious
            if isinstance(grade, int) and (count.worst_grade is None or grade > count.worst_grade):
                count.worst_grade = grade
    return result
