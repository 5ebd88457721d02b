"""The simulated cohort's plain values (frozen dataclasses, no behaviour beyond lookups)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

SubjectStatus = Literal["screen_failed", "enrolled", "completed", "withdrawn", "died"]


@dataclass(frozen=True)
class SimulatedRecord:
    """One filled form: ``data`` holds typed Python values (dates, int, float, bool, str),
    only for the fields that apply. ``visit_code`` is None for a log form; ``repeat``
    numbers a log form's entries (1, 2, …) and is 1 for a visit's form."""

    form_code: str
    visit_code: str | None
    repeat: int
    data: dict[str, Any]


@dataclass(frozen=True)
class SimulatedVisit:
    """A visit of the subject's schedule; ``actual_date`` None: planned but not done."""

    code: str
    planned_date: dt.date
    actual_date: dt.date | None


@dataclass(frozen=True)
class SimulatedSubject:
    site_code: str
    screening_number: str
    sex: str  # "F" or "M"
    year_of_birth: int
    screened_on: dt.date
    consent_date: dt.date | None
    eligible: bool
    failed_criteria: tuple[str, ...]
    enrolled_on: dt.date | None  # the enrollment date (on or before the planned first dose)
    subject_code: str | None
    status: SubjectStatus
    visits: tuple[SimulatedVisit, ...]
    records: tuple[SimulatedRecord, ...]
    death_date: dt.date | None
    #: day 0 of the calendar: planned at enrollment, then the first (loading) dose given
    planned_first_dose_on: dt.date | None = None
    first_dose_on: dt.date | None = None
    #: a short clinical summary of the simulated course ("progression at month 1", …)
    course: str = field(default="", compare=False)
    #: the marrows whose investigator's assessment differs from the derived response and
    #: that the investigator confirmed: (visit code, justification)
    confirmed_responses: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: the cardiac holds the investigator lifted: (visit code of the LVEF that started the
    #: hold, the day of the decision, its reason)
    cardiac_lifts: tuple[tuple[str, dt.date, str], ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        return self.subject_code or self.screening_number

    @property
    def treated(self) -> bool:
        return self.enrolled_on is not None

    def records_of(self, form_code: str) -> list[SimulatedRecord]:
        return [r for r in self.records if r.form_code == form_code]

    def record(self, form_code: str, visit_code: str | None = None) -> SimulatedRecord | None:
        """The first record of a form (at a visit, if given), or None."""
        for r in self.records:
            if r.form_code == form_code and (visit_code is None or r.visit_code == visit_code):
                return r
        return None

    def visit(self, code: str) -> SimulatedVisit | None:
        return next((v for v in self.visits if v.code == code), None)


@dataclass(frozen=True)
class SimulatedShipment:
    """Vials of a lot of the study drug received at a site."""

    site_code: str
    lot: str
    received_on: dt.date
    vials: int
    expires_on: dt.date


@dataclass(frozen=True)
class SimulatedDisposal:
    """Vials of a lot returned to the sponsor or destroyed at a site."""

    site_code: str
    lot: str
    on: dt.date
    vials: int
    kind: Literal["returned", "destroyed"]
    reason: str


@dataclass(frozen=True)
class SimulatedCohort:
    seed: int
    subjects: tuple[SimulatedSubject, ...]  # in screening order
    site_activation: dict[str, dt.date]
    #: the study drug at the sites (simulate.supply): the dosing records carry their lots
    shipments: tuple[SimulatedShipment, ...] = ()
    disposals: tuple[SimulatedDisposal, ...] = ()

    @property
    def treated(self) -> list[SimulatedSubject]:
        return [s for s in self.subjects if s.treated]

    @property
    def screen_failures(self) -> list[SimulatedSubject]:
        return [s for s in self.subjects if s.status == "screen_failed"]

    def subject(self, code: str) -> SimulatedSubject:
        """A subject by subject code (``NTE-001``) or screening number (``NTE-S01``)."""
        for s in self.subjects:
            if code in (s.subject_code, s.screening_number):
                return s
        raise KeyError(f"no simulated subject {code!r}")

    def records(self) -> Iterator[tuple[SimulatedSubject, SimulatedRecord]]:
        for s in self.subjects:
            for r in s.records:
                yield s, r
