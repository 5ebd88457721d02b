"""The StudySnapshot: the trial's data as plain frozen values (pure core, never imports Django).

One snapshot feeds analysis, reports and every export (DESIGN §2). It is built from the
database (``trialdesk.datacut.build_snapshot``), read from a data-cut file
(``trialdesk.snapshot.datacut.read_datacut``) or made from the simulator
(``trialdesk.snapshot.from_simulation``).

The subjects are not held in a list: ``StudySnapshot.subjects()`` returns a fresh iterator
each time it is called (loaded in chunks from the database, or parsed one by one from a
file), so an export streams in flat memory. ``materialise()`` turns them into a tuple
when a test or a small analysis wants them all.

Form data are JSON values, as the form engine stores them: dates as ISO strings
(``2012-03-01``), numbers, booleans, strings; a pseudonymised snapshot holds them masked.
Times (``signed_at``, ``raised_at``…) are aware datetimes in UTC; dates are ``datetime.date``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProtocolIdentity:
    nct_id: str
    protocol_sha256: str
    title: str = ""
    version: str = ""


@dataclass(frozen=True)
class SiteSnapshot:
    code: str
    name: str = ""
    city: str = ""
    country: str = ""
    activated_on: dt.date | None = None
    locked_at: dt.datetime | None = None


@dataclass(frozen=True)
class VisitSnapshot:
    code: str
    planned_date: dt.date | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    actual_date: dt.date | None = None


@dataclass(frozen=True)
class RecordRef:
    """Names a form record within its subject: ``visit`` None for a log form."""

    form: str
    visit: str | None
    repeat: int


@dataclass(frozen=True)
class RecordSnapshot:
    form: str
    visit: str | None  # None: a log form's entry
    repeat: int
    data: dict[str, Any]
    status: str | None = None  # "complete" / "incomplete"; None where unknown (the simulator)
    version: int | None = None
    voided: bool = False
    locked_at: dt.datetime | None = None

    @property
    def ref(self) -> RecordRef:
        return RecordRef(self.form, self.visit, self.repeat)


@dataclass(frozen=True)
class QuerySnapshot:
    number: int
    record: RecordRef
    field: str
    status: str
    origin: str
    check_code: str = ""
    raised_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None


@dataclass(frozen=True)
class SignatureSnapshot:
    scope: str  # "subject" (the casebook) or "visit"
    visit: str | None
    printed_name: str
    meaning: str
    signed_at: dt.datetime
    status: str  # "valid" / "voided"
    content_sha256: str


@dataclass(frozen=True)
class LockSnapshot:
    """A lock: ``level`` study, site, subject or record; ``target`` names what is locked
    (the NCT id, a site code, a subject's label, or ``<form>@<visit or log>#<repeat>``)."""

    level: str
    target: str
    locked_at: dt.datetime


@dataclass(frozen=True)
class ConfirmationSnapshot:
    """The investigator's confirmation of their own response assessment where it differs from
    the derived one: ``category`` (theirs) against ``derived_category``, on ``record``. It
    holds while the record still gives those two (the analysis checks); the justification,
    free text of the site, is not carried."""

    record: RecordRef
    category: str
    derived_category: str


@dataclass(frozen=True)
class HoldDecisionSnapshot:
    """The investigator's decision on a cardiac hold: ``status`` "lifted" (treatment resumes)
    or "treatment_stopped", on ``ended_on``, with its ``reason`` (free text of the site: masked
    for a pseudonymised viewer). The hold itself is the rules' (opened by ``record``, the
    LVEF from ``started_on``): what a later infusion needs is that it was lifted, and when."""

    record: RecordRef
    started_on: dt.date
    status: str
    ended_on: dt.date
    reason: str = ""


@dataclass(frozen=True)
class HoldSnapshot:
    """A cardiac hold as the cardiac app opened it (``trialdesk.clinical.cardiac`` decided it
    on the LVEF of ``record``, dated ``started_on``), with that rule's ``criterion`` ("drop" or
    "below_with_drop") and ``explanation``, the values it compared, the day the repeat LVEF is
    due, and its end: ``status`` "active" (still on hold at the cut-off), "lifted" or
    "treatment_stopped" on ``ended_on`` with the investigator's ``reason`` (free text of the
    site: masked for a pseudonymised viewer). Holds closed as entered in error are not carried.

    Carried rather than re-derived from the LVEF records: which LVEF opens a hold depends on
    the order the data were saved (a repeat LVEF during a hold opens none, a corrected baseline
    opens no hold after the fact), state the cardiac app keeps, not a pure function of values."""

    record: RecordRef
    started_on: dt.date
    criterion: str
    explanation: str
    baseline_pct: float
    value_pct: float
    drop_points: float
    repeat_lvef_due_on: dt.date | None = None
    status: str = "active"
    ended_on: dt.date | None = None
    reason: str = ""

    @property
    def ref(self) -> str:
        """The hold's identity within its subject (the LVEF that opened it and its day)."""
        return f"cardiac_hold:{self.record.form}@{self.record.visit or 'log'}#{self.record.repeat}"


@dataclass(frozen=True)
class SaeReportSnapshot:
    """A serious adverse event's reporting state (the safety app's): the event is ``record``,
    saved as serious at ``reported_at``; the sponsor's acknowledgement (``acknowledged_at``, by
    ``acknowledged_by``, a printed name: empty for a pseudonymised viewer), the day the sponsor
    became aware (``aware_on``, day 0 of a SUSAR's deadline), the safety officer's
    ``expectedness`` ("expected", "unexpected" or "" not yet assessed) at ``assessed_at`` with
    their comment (free text: masked for a pseudonymised viewer). Whether it is a SUSAR is the
    clinical rule's (``clinical.safety.is_susar``) on the event's causality and this expectedness."""

    record: RecordRef
    reported_at: dt.datetime
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str = ""
    aware_on: dt.date | None = None
    expectedness: str = ""
    expectedness_comment: str = ""
    assessed_at: dt.datetime | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    @property
    def expected(self) -> bool | None:
        return None if not self.expectedness else self.expectedness == "expected"


@dataclass(frozen=True)
class SubjectSnapshot:
    screening_number: str
    subject_code: str | None
    site: str  # the site's code
    status: str
    sex: str = "U"
    age: int | None = None  # at screening
    year_of_birth: int | None = None  # None for a pseudonymised viewer
    initials: str = ""  # masked for a pseudonymised viewer
    screened_on: dt.date | None = None
    consent_date: dt.date | None = None
    enrolled_on: dt.date | None = None
    first_dose_on: dt.date | None = None  # the calendar's day 0, once the model records it
    screen_failure_criteria: tuple[str, ...] = ()
    visits: tuple[VisitSnapshot, ...] = ()
    records: tuple[RecordSnapshot, ...] = ()
    queries: tuple[QuerySnapshot, ...] = ()
    signatures: tuple[SignatureSnapshot, ...] = ()
    locks: tuple[LockSnapshot, ...] = ()  # of the subject and of its records
    confirmations: tuple[ConfirmationSnapshot, ...] = ()  # of its responses, oldest first
    cardiac_decisions: tuple[HoldDecisionSnapshot, ...] = ()  # on its cardiac holds, in order
    cardiac_holds: tuple[HoldSnapshot, ...] = ()  # in force or ended, by start date
    sae_reports: tuple[SaeReportSnapshot, ...] = ()  # of its serious events, by report time

    @property
    def label(self) -> str:
        return self.subject_code or self.screening_number

    def visit(self, code: str) -> VisitSnapshot | None:
        return next((v for v in self.visits if v.code == code), None)

    def records_of(self, form: str, *, include_voided: bool = False) -> list[RecordSnapshot]:
        return [r for r in self.records if r.form == form and (include_voided or not r.voided)]


@dataclass(frozen=True)
class SupplySnapshot:
    """A movement of the study drug at a site (drug accountability): ``kind`` "shipment"
    (vials of a lot received on ``on``, expiring on ``expires_on``), "returned" or
    "destroyed" (vials of a lot disposed of on ``on``, with its ``reason``, free text of the
    site: masked for a pseudonymised viewer). The infusions that drew on a lot are records."""

    site: str  # the site's code
    kind: str
    lot: str
    vials: int
    on: dt.date
    expires_on: dt.date | None = None
    reason: str = ""


SubjectSource = Callable[[], Iterable[SubjectSnapshot]]


@dataclass(frozen=True)
class StudySnapshot:
    """The trial at a cut-off, for one viewer. ``subjects()`` streams; call it again to re-read."""

    study: ProtocolIdentity
    cutoff: dt.date | None
    created_at: dt.datetime
    pseudonymised: bool
    sites: tuple[SiteSnapshot, ...]
    subject_source: SubjectSource = field(repr=False, compare=False)
    locks: tuple[LockSnapshot, ...] = ()  # of the study and its sites
    viewer: str = ""  # who it was built for ("" : the operator / system)
    supply: tuple[SupplySnapshot, ...] = ()  # the study drug received and disposed of, by site and day

    @property
    def protocol_sha256(self) -> str:
        return self.study.protocol_sha256

    def subjects(self) -> Iterator[SubjectSnapshot]:
        return iter(self.subject_source())

    def materialise(self) -> StudySnapshot:
        """The same snapshot with its subjects read once and held in memory."""
        held = tuple(self.subjects())
        return _replace_source(self, lambda: held)


def _replace_source(snapshot: StudySnapshot, source: SubjectSource) -> StudySnapshot:
    from dataclasses import replace

    return replace(snapshot, subject_source=source)


def held(subjects: Iterable[SubjectSnapshot]) -> SubjectSource:
    """A subject source over subjects already in memory."""
    items = tuple(subjects)
    return lambda: items
