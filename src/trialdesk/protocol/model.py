"""The protocol as code: pydantic models of everything a trial's protocol file holds.

Every element that states a fact or a rule carries ``source``: ``registry`` when the
trial's registry record states it, ``operational`` when the protocol author chose it
(the registry is silent); an operational element must say why in ``rationale``.

All models are frozen and refuse unknown keys. Cross-references (a visit naming a
form, a rule naming a field) are checked by :func:`trialdesk.protocol.checks.check_protocol`,
which the loader runs after the models validate.

Day convention of the schedule: ``Visit.day`` is an offset in days from the visit's
anchor. For ``anchor: first_dose`` the first dose ("day 1" in clinical wording) has
offset 0, screening offsets are negative; the target date of a visit is
``anchor_date + timedelta(days=day)``, acceptable from ``day - window_before`` to
``day + window_after``. ``day: null`` marks an event-driven visit (it happens when
its event happens, e.g. the end of study).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic import (
    Field as PydanticField,
)

from trialdesk.protocol.concepts import CONCEPTS

__all__ = [
    "Arm",
    "CardiacHold",
    "Choice",
    "ChoicePlacement",
    "ChoiceRef",
    "Concepts",
    "Criterion",
    "Decision",
    "DosePreparation",
    "DoseRules",
    "DoseTiming",
    "EditCheck",
    "Eligibility",
    "Endpoint",
    "Enrollment",
    "Field",
    "FieldRef",
    "Form",
    "Identification",
    "Intervention",
    "Protocol",
    "Repeat",
    "RepeatLvef",
    "ResponseCriteria",
    "Schedule",
    "Site",
    "Source",
    "Sourced",
    "StatisticalDesign",
    "Visit",
]

Source = Literal["registry", "operational"]

#: identifiers usable in expressions: form codes, field codes
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
#: visit codes, upper case (expanded repeats append a number: M -> M1, M2, …)
VisitCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
#: site codes: three upper-case letters
SiteCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
#: criterion, edit check, endpoint, decision codes
RuleCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")]
#: a month-precision date as the registry gives it ("November 2006" -> "2006-11")
YearMonth = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Model):
    """An element that is a fact or a rule: where it comes from, and why if chosen."""

    source: Source
    rationale: str | None = PydanticField(default=None, validate_default=True)

    @field_validator("rationale")
    @classmethod
    def _operational_needs_rationale(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("source") == "operational" and not (value and value.strip()):
            raise ValueError("an operational element needs a one-line rationale (why it was chosen)")
        return value

    @property
    def from_registry(self) -> bool:
        return self.source == "registry"


# --------------------------------------------------------------------------- identification


class Enrollment(_Model):
    count: int = PydanticField(ge=0)
    type: Literal["actual", "anticipated"]


class Decision(Sourced):
    """How the protocol file reads an ambiguous passage of the registry record."""

    code: RuleCode
    topic: NonEmpty
    registry_text: NonEmpty
    decision: NonEmpty


class Identification(Sourced):
    nct_id: Annotated[str, StringConstraints(pattern=r"^NCT\d{8}$")]
    other_ids: list[str] = []
    brief_title: NonEmpty
    official_title: NonEmpty
    sponsor: NonEmpty
    responsible_party: NonEmpty
    collaborators: list[str] = []
    phase: NonEmpty
    study_type: Literal["interventional", "observational"]
    intervention_model: str | None = None
    masking: str | None = None
    primary_purpose: str | None = None
    overall_status: NonEmpty
    why_stopped: str | None = None
    start_date: YearMonth | None = None
    primary_completion_date: YearMonth | None = None
    completion_date: YearMonth | None = None
    first_posted: dt.date | None = None
    last_update_posted: dt.date | None = None
    last_verified: YearMonth | None = None
    enrollment: Enrollment
    conditions: list[str] = []
    keywords: list[str] = []
    mesh_terms: list[str] = []
    sexes: Literal["all", "female", "male"] = "all"
    minimum_age: str | None = None
    maximum_age: str | None = None
    healthy_volunteers: bool = False
    brief_summary: str | None = None
    decisions: list[Decision] = []


# --------------------------------------------------------------------------- sites


class Site(Sourced):
    code: SiteCode
    name: NonEmpty
    city: NonEmpty
    postcode: NonEmpty
    country: NonEmpty
    # IANA time zone of the hospital (it follows from the city): the site's "today"
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Paris)") from None
        return value


# --------------------------------------------------------------------------- arms, interventions


class RepeatLvef(Sourced):
    """The repeat LVEF a cardiac hold asks for: within ``within_days`` of the LVEF that
    started the hold (its due date is that assessment's date + ``within_days``)."""

    within_days: int = PydanticField(gt=0)


class CardiacHold(Sourced):
    """When trastuzumab is withheld for a fall of the LVEF (points are absolute % of LVEF):
    a drop of ``drop_points`` or more from baseline, or a value below ``below_pct``
    with a drop of ``drop_points_when_below`` or more."""

    drop_points: float = PydanticField(gt=0)
    below_pct: float = PydanticField(gt=0, le=100)
    drop_points_when_below: float = PydanticField(gt=0)
    #: how soon the LVEF is measured again once the subject is on hold
    repeat_lvef: RepeatLvef


class DoseTiming(Sourced):
    """When a dose may be given, counted in days since the previous dose: fewer than
    ``minimum_interval_days`` is too early; more than ``late_after_days`` is a late dose
    (still maintenance); more than ``DoseRules.reload_after_days`` is a missed dose."""

    minimum_interval_days: int = PydanticField(gt=0)
    late_after_days: int = PydanticField(gt=0)


class DosePreparation(Sourced):
    """How a computed dose is prepared: rounded to the nearest ``round_to_mg``, from
    vials of ``vial_mg`` (as many as the dose needs)."""

    round_to_mg: float = PydanticField(gt=0)
    vial_mg: float = PydanticField(gt=0)


class DoseRules(Sourced):
    loading_mg_per_kg: float = PydanticField(gt=0)
    maintenance_mg_per_kg: float = PydanticField(gt=0)
    interval_days: int = PydanticField(gt=0)
    minimum_duration_weeks: int = PydanticField(ge=0)
    reload_if_late_by_more_than_days: int = PydanticField(ge=0)
    weight_change_recompute_pct: float = PydanticField(gt=0)
    deviation_pct: float = PydanticField(gt=0)
    route: NonEmpty
    stop_on: list[NonEmpty] = []
    cardiac_hold: CardiacHold | None = None
    timing: DoseTiming
    preparation: DosePreparation

    @property
    def reload_after_days(self) -> int:
        """More than this many days since the previous dose is a missed dose: a new loading
        dose is given (due after ``interval_days``, late by more than the allowed delay)."""
        return self.interval_days + self.reload_if_late_by_more_than_days

    @model_validator(mode="after")
    def _days_in_order(self) -> DoseRules:
        t = self.timing
        if not t.minimum_interval_days <= self.interval_days <= t.late_after_days <= self.reload_after_days:
            raise ValueError(
                "dose_rules: the days must be in order: timing.minimum_interval_days <= interval_days "
                "<= timing.late_after_days <= interval_days + reload_if_late_by_more_than_days"
            )
        return self


class Intervention(Sourced):
    name: NonEmpty
    type: NonEmpty
    description: NonEmpty
    other_names: list[str] = []
    dose_rules: DoseRules | None = None


class Arm(Sourced):
    code: RuleCode
    title: NonEmpty
    type: NonEmpty
    interventions: list[NonEmpty]
    description: str | None = None


# --------------------------------------------------------------------------- forms

FieldType = Literal["integer", "decimal", "text", "boolean", "date", "choice", "ctcae_term"]


class CtcaeLinks(_Model):
    """The fields of its form a ``ctcae_term`` field fills or checks. The term is picked from
    the CTCAE v5.0 list (its name or its MedDRA code, nothing else); ``meddra`` and ``soc``
    are filled from the list; a grade the term does not define is refused; ``specify``
    holds the event's own words, required for an "Other, specify" term and refused otherwise."""

    meddra_field: Code | None = None
    soc_field: Code | None = None
    grade_field: Code | None = None
    specify_field: Code | None = None

    def linked(self) -> list[str]:
        return [c for c in (self.meddra_field, self.soc_field, self.grade_field, self.specify_field) if c]


class Choice(_Model):
    value: Annotated[str, StringConstraints(min_length=1)]
    label: NonEmpty
    label_fr: str | None = None


class Field(_Model):
    """One item of a form. ``condition``: the field applies only when it holds."""

    code: Code
    label: NonEmpty
    label_fr: str | None = None
    type: FieldType
    unit: str | None = None
    #: the unit in French where it is a word ("ans" for years); symbols (kg, %) need none
    unit_fr: str | None = None
    #: the possible range (hard): a value outside it cannot be true and is refused
    min: float | None = None
    max: float | None = None
    #: the physiological range (soft): a value outside it is possible but unusual; it is
    #: saved and raises a query. It lies within the possible range.
    expected_min: float | None = None
    expected_max: float | None = None
    required: bool = False
    choices: list[Choice] = []
    help: str | None = None
    help_fr: str | None = None
    condition: str | None = None
    max_length: int | None = PydanticField(default=None, gt=0)
    #: for a ``ctcae_term`` field: the fields it fills (MedDRA code, SOC) and checks (grade, specify)
    ctcae: CtcaeLinks | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Field:
        if self.ctcae is not None and self.type != "ctcae_term":
            raise ValueError(f"field {self.code!r}: ctcae links belong to a ctcae_term field only")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"field {self.code!r} is a choice but lists no choices")
        if self.type != "choice" and self.choices:
            raise ValueError(f"field {self.code!r} lists choices but its type is {self.type!r}, not 'choice'")
        if (self.min is not None or self.max is not None) and self.type not in ("integer", "decimal"):
            raise ValueError(f"field {self.code!r}: min/max apply to integer and decimal fields only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"field {self.code!r}: min {self.min} is above max {self.max}")
        self._coherent_expected_range()
        if self.max_length is not None and self.type not in ("text", "ctcae_term"):
            raise ValueError(f"field {self.code!r}: max_length applies to text fields only")
        return self

    def _coherent_expected_range(self) -> None:
        low, high = self.expected_min, self.expected_max
        if low is None and high is None:
            return
        if self.type not in ("integer", "decimal"):
            raise ValueError(
                f"field {self.code!r}: expected_min/expected_max apply to integer and decimal fields only"
            )
        if low is not None and high is not None and low > high:
            raise ValueError(f"field {self.code!r}: expected_min {low:g} is above expected_max {high:g}")
        for name, value in (("expected_min", low), ("expected_max", high)):
            if value is None:
                continue
            if self.min is not None and value < self.min:
                raise ValueError(
                    f"field {self.code!r}: {name} {value:g} is below min {self.min:g} "
                    "(the expected range lies within the possible range)"
                )
            if self.max is not None and value > self.max:
                raise ValueError(
                    f"field {self.code!r}: {name} {value:g} is above max {self.max:g} "
                    "(the expected range lies within the possible range)"
                )

    @property
    def choice_values(self) -> list[str]:
        return [choice.value for choice in self.choices]

    def choice(self, value: str) -> Choice:
        for choice in self.choices:
            if choice.value == value:
                return choice
        raise KeyError(value)


class EditCheck(Sourced):
    """``rule`` states what must hold; the check fails when it evaluates FALSE
    (UNKNOWN does not fail). ``error`` blocks saving, ``query`` saves and raises a query."""

    code: RuleCode
    rule: NonEmpty
    message: NonEmpty
    message_fr: str | None = None
    severity: Literal["error", "query"]
    #: a fact of the trial that answers the query in advance when it holds for the record —
    #: e.g. ``validated_prescription``: an investigator validated the dose computed from the
    #: values the check doubts. The apps that know the fact register it
    #: (``trialdesk.queries.answers``); the check then raises no query while it holds.
    answered_by: Code | None = None


class Form(Sourced):
    """A form's content. Whether it repeats is not said here but by the schedule, the one
    source of truth: a form is a log form (any number of records, outside the visits) when
    ``schedule.log_forms`` lists it, and is collected more than once at a visit when that
    visit's ``max_per_visit`` says so. How often and where a form is collected is a fact of
    the schedule; the same form may be collected once at one visit and several times at
    another. (A ``repeating`` key here is refused by the validator with that explanation.)"""

    code: Code
    title: NonEmpty
    title_fr: str | None = None
    fields: list[Field]
    edit_checks: list[EditCheck] = []

    def field(self, code: str) -> Field:
        for field in self.fields:
            if field.code == code:
                return field
        raise KeyError(f"form {self.code!r} has no field {code!r}")

    @property
    def field_codes(self) -> list[str]:
        return [field.code for field in self.fields]


# --------------------------------------------------------------------------- schedule


class Repeat(_Model):
    every_days: int = PydanticField(gt=0)
    count: int = PydanticField(gt=0)


class Visit(Sourced):
    code: VisitCode
    title: NonEmpty
    title_fr: str | None = None
    anchor: Literal["first_dose", "end_of_treatment"] = "first_dose"
    day: int | None = None
    window_before: int = PydanticField(default=0, ge=0)
    window_after: int = PydanticField(default=0, ge=0)
    forms: list[Code]
    #: forms collected more than once at this visit: form code -> the most records per visit
    #: (2 or more; the others are collected once). The validator checks each is in ``forms``.
    max_per_visit: dict[Code, Annotated[int, PydanticField(ge=2)]] = {}
    repeat: Repeat | None = None
    #: for an expanded repeat: its number (1, 2, …) and the code of the visit it came from
    number: int | None = None
    series: VisitCode | None = None

    @model_validator(mode="after")
    def _repeat_needs_day(self) -> Visit:
        if self.repeat is not None and self.day is None:
            raise ValueError(f"visit {self.code!r} repeats but has no day to start from")
        return self

    def records_allowed(self, form_code: str) -> int:
        """How many records of ``form_code`` this visit holds at most (0 if it does not collect it)."""
        if form_code not in self.forms:
            return 0
        return self.max_per_visit.get(form_code, 1)

    @property
    def earliest(self) -> int | None:
        return None if self.day is None else self.day - self.window_before

    @property
    def latest(self) -> int | None:
        return None if self.day is None else self.day + self.window_after

    def expand(self) -> Iterator[Visit]:
        """The concrete visits: itself, or one per repetition (codes M1, M2, …)."""
        if self.repeat is None:
            yield self
            return
        assert self.day is not None
        for number in range(1, self.repeat.count + 1):
            yield self.model_copy(
                update={
                    "code": f"{self.code}{number}",
                    "title": f"{self.title} {number}",
                    "title_fr": f"{self.title_fr} {number}" if self.title_fr else None,
                    "day": self.day + (number - 1) * self.repeat.every_days,
                    "repeat": None,
                    "number": number,
                    "series": self.code,
                }
            )


_EXPANDED: dict[int, tuple[list, tuple]] = {}


class Schedule(_Model):
    visits: list[Visit]
    #: forms not tied to a visit (infusions, transfusions, adverse events, …)
    log_forms: list[Code] = []

    def expanded_visits(self) -> Iterator[Visit]:
        # Expanded once per list of visits (every form save asks which forms a visit holds).
        # Keyed by the identity of the list, kept alive by the entry: a copy of the schedule
        # with other visits (model_copy) gets its own expansion.
        entry = _EXPANDED.get(id(self.visits))
        if entry is None or entry[0] is not self.visits:
            entry = (self.visits, tuple(expanded for visit in self.visits for expanded in visit.expand()))
            if len(_EXPANDED) >= 64:
                _EXPANDED.pop(next(iter(_EXPANDED)))
            _EXPANDED[id(self.visits)] = entry
        return iter(entry[1])

    def visit(self, code: str) -> Visit:
        for visit in self.expanded_visits():
            if visit.code == code:
                return visit
        for visit in self.visits:
            if visit.code == code:
                return visit
        raise KeyError(f"no visit {code!r} in the schedule")


# --------------------------------------------------------------------------- eligibility


class Criterion(Sourced):
    """``rule`` states what must hold for the subject to be ELIGIBLE under this criterion
    (an exclusion "FEVG < 50%" has the rule ``lvef_pct >= 50``)."""

    code: RuleCode
    kind: Literal["inclusion", "exclusion"]
    text: NonEmpty
    rule: NonEmpty
    #: how the criterion is applied, in plain words for the users (the page shows it under the
    #: registry's wording); ``decision`` is the authors' note and is not shown to users
    applied_as: NonEmpty
    applied_as_fr: str | None = None
    decision: str | None = None


class Eligibility(Sourced):
    form: Code
    #: screening assessments must be at most this many days old at the first dose
    window_days: int = PydanticField(gt=0)
    criteria: list[Criterion]

    def criterion(self, code: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.code == code:
                return criterion
        raise KeyError(f"no eligibility criterion {code!r}")

    @property
    def inclusion(self) -> list[Criterion]:
        return [c for c in self.criteria if c.kind == "inclusion"]

    @property
    def exclusion(self) -> list[Criterion]:
        return [c for c in self.criteria if c.kind == "exclusion"]


# --------------------------------------------------------------------------- response, endpoints


class ResponseCriteria(Sourced):
    """Thresholds of the response definitions (ALL, monthly marrow with same-day count)."""

    reference: NonEmpty
    cr_marrow_blasts_below_pct: float = PydanticField(gt=0, le=100)
    anc_min: float = PydanticField(gt=0)
    anc_unit: str = "10^9/L"
    platelets_min: float = PydanticField(gt=0)
    platelets_unit: str = "10^9/L"
    pr_marrow_blasts_max_pct: float = PydanticField(gt=0, le=100)
    pr_min_decrease_pct: float = PydanticField(gt=0, le=100)
    progression_increase_pct: float = PydanticField(gt=0)
    relapse_marrow_blasts_min_pct: float = PydanticField(gt=0, le=100)
    #: a progression needs at least these marrow blasts besides the relative increase over the nadir
    progression_marrow_blasts_min_pct: float = PydanticField(default=5, gt=0, le=100)
    responses: list[Literal["CR", "CRp", "PR"]] = ["CR", "CRp", "PR"]


EndpointDerivation = Literal[
    "response_rate",
    "overall_survival",
    "leukemia_free_survival",
    "transfusion_needs",
    "cytogenetic_response",
    "tolerance",
]


class Endpoint(Sourced):
    code: RuleCode
    kind: Literal["primary", "secondary"]
    title: NonEmpty
    derivation: EndpointDerivation
    description: str | None = None
    #: settings of the derivation (periods, confidence level, …), operational details
    parameters: dict[str, int | float | str] = {}


class StatisticalDesign(Sourced):
    design: Literal["single_stage", "simon_two_stage"]
    alpha: float = PydanticField(gt=0, lt=1)
    power: float = PydanticField(gt=0, lt=1)
    p0: float = PydanticField(gt=0, lt=1)
    p1: float = PydanticField(gt=0, lt=1)
    n1: int | None = PydanticField(default=None, gt=0)
    r1: int | None = PydanticField(default=None, ge=0)
    n: int = PydanticField(gt=0)
    r: int = PydanticField(ge=0)


# --------------------------------------------------------------------------- clinical concepts

#: where a concept is recorded: ``form.field``
Placement = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]


class FieldRef(NamedTuple):
    """A field of a form: where a field concept is recorded."""

    form: str
    field: str


class ChoiceRef(NamedTuple):
    """One choice value of a choice field: what a choice concept means in this protocol."""

    form: str
    field: str
    value: str


def _split(placement: str) -> FieldRef:
    form, field = placement.split(".", 1)
    return FieldRef(form, field)


class ChoicePlacement(_Model):
    field: Placement
    value: NonEmpty

    @property
    def ref(self) -> ChoiceRef:
        form, field = _split(self.field)
        return ChoiceRef(form, field, self.value)


class Concepts(Sourced):
    """Where the protocol records each clinical concept the core reads
    (:mod:`trialdesk.protocol.concepts` lists them). ``fields``: a field concept's places,
    in order of precedence; ``choices``: the choice value a choice concept is."""

    fields: dict[Code, list[Placement]] = {}
    choices: dict[Code, ChoicePlacement] = {}

    def places(self) -> ConceptPlaces:
        """The placements split once into lookups (the model is frozen: computed on first use,
        again only if ``fields`` was replaced, as ``model_copy(update=...)`` does)."""
        index = self.__dict__.get("_places")
        if index is None or index.fields is not self.fields or index.choices is not self.choices:
            index = ConceptPlaces.of(self.fields, self.choices)
            self.__dict__["_places"] = index
        return index


class ConceptPlaces(NamedTuple):
    """The field concepts' placements as lookups: each concept's places in order of precedence,
    the field a concept is recorded in on a form (its first place there), and the field that
    dates each form's records (the first date concept placed on it)."""

    fields: dict[str, list[str]]  # what was indexed
    choices: dict[str, ChoicePlacement]
    refs: dict[str, tuple[FieldRef, ...]]
    field_on_form: dict[tuple[str, str], str]
    date_field: dict[str, str]
    choice_refs: dict[str, ChoiceRef]
    #: (concept, form) -> (the field read, the choice value it must hold; None for a field concept)
    reading: dict[tuple[str, str], tuple[str, str | None]]

    @classmethod
    def of(cls, fields: dict[str, list[str]], choices: dict[str, ChoicePlacement]) -> ConceptPlaces:
        refs: dict[str, tuple[FieldRef, ...]] = {}
        field_on_form: dict[tuple[str, str], str] = {}
        date_field: dict[str, str] = {}
        for name, placements in fields.items():
            refs[name] = tuple(_split(placement) for placement in placements)
            spec = CONCEPTS.get(name)
            for ref in refs[name]:
                field_on_form.setdefault((name, ref.form), ref.field)
                if spec is not None and spec.kind == "date":
                    date_field.setdefault(ref.form, ref.field)
        choice_refs = {name: placement.ref for name, placement in choices.items()}
        reading: dict[tuple[str, str], tuple[str, str | None]] = {
            (name, ref.form): (ref.field, ref.value) for name, ref in choice_refs.items()
        }
        for (name, form), field in field_on_form.items():
            if name not in choice_refs:
                reading[(name, form)] = (field, None)
        return cls(fields, choices, refs, field_on_form, date_field, choice_refs, reading)


# --------------------------------------------------------------------------- consent versions


class ConsentVersion(Sourced):
    """A version of the informed-consent form and the day from which sites use it."""

    version: NonEmpty
    effective_from: dt.date
    title: str | None = None
    title_fr: str | None = None


def _consent_versions_in_order(versions: list[ConsentVersion]) -> list[ConsentVersion]:
    seen: set[str] = set()
    for previous, current in zip(versions, versions[1:], strict=False):
        if current.effective_from <= previous.effective_from:
            raise ValueError(
                f"consent version {current.version!r} takes effect on {current.effective_from.isoformat()}, "
                f"not after version {previous.version!r} ({previous.effective_from.isoformat()}): "
                "list the versions in the order they took effect"
            )
    for version in versions:
        if version.version in seen:
            raise ValueError(f"duplicate consent version {version.version!r}")
        seen.add(version.version)
    return versions


ConsentVersions = Annotated[list[ConsentVersion], AfterValidator(_consent_versions_in_order)]


def consent_version_on(protocol: Protocol, day: dt.date) -> ConsentVersion | None:
    """The consent form in force on ``day``: the latest version effective on or before it."""
    current = None
    for version in protocol.consent_versions:
        if version.effective_from <= day:
            current = version
    return current


# --------------------------------------------------------------------------- safety reporting


class ExpectedReaction(_Model):
    """A reaction the reference safety information lists (a CTCAE v5.0 term by its MedDRA
    code): an event of that term is expected up to ``max_grade`` (every grade when absent);
    a more severe one is unexpected by its severity (ICH E2A)."""

    meddra_code: int
    term: NonEmpty
    max_grade: int | None = PydanticField(default=None, ge=1, le=5)

    @model_validator(mode="after")
    def _a_ctcae_term(self) -> ExpectedReaction:
        from trialdesk.clinical import ctcae

        found = ctcae.find_term(self.meddra_code)
        if found is None:
            raise ValueError(f"no CTCAE v{ctcae.VERSION} term has MedDRA code {self.meddra_code}")
        if found.term != self.term:
            raise ValueError(f"MedDRA code {self.meddra_code} is {found.term!r} in CTCAE, not {self.term!r}")
        return self


class SafetyHighlight(Sourced):
    """A kind of adverse event shown apart and counted for tolerance (infusion reactions,
    cardiac events): the CTCAE terms (MedDRA codes) and system organ classes it gathers."""

    code: Code
    label: NonEmpty
    label_fr: str | None = None
    meddra_codes: list[int] = []
    socs: list[NonEmpty] = []


class SusarDeadlines(Sourced):
    """Days from the day the sponsor became aware of a SUSAR to its expedited report."""

    fatal_or_life_threatening_days: int = PydanticField(gt=0)
    other_days: int = PydanticField(gt=0)


class Safety(Sourced):
    """The reference safety information (the reactions the label lists, against which the
    sponsor assesses expectedness), which causalities count as related, the SUSAR deadlines
    and the kinds of events shown apart."""

    reference_document: NonEmpty
    expected_reactions: list[ExpectedReaction]
    #: choice concepts of the causality field that make an event related to the study drug
    related_causalities: list[Code]
    susar_deadlines: SusarDeadlines
    highlights: list[SafetyHighlight] = []

    def expected_reaction(self, meddra_code: int) -> ExpectedReaction | None:
        return next((r for r in self.expected_reactions if r.meddra_code == meddra_code), None)


# --------------------------------------------------------------------------- protocol


class Protocol(_Model):
    identification: Identification
    sites: list[Site]
    arms: list[Arm]
    interventions: list[Intervention]
    forms: list[Form]
    schedule: Schedule
    eligibility: Eligibility
    response_criteria: ResponseCriteria
    endpoints: list[Endpoint]
    statistical_design: StatisticalDesign | None = None
    concepts: Concepts | None = None
    consent_versions: ConsentVersions = []
    safety: Safety | None = None

    @property
    def nct_id(self) -> str:
        return self.identification.nct_id

    def form(self, code: str) -> Form:
        for form in self.forms:
            if form.code == code:
                return form
        raise KeyError(f"no form {code!r} in protocol {self.nct_id}")

    def site(self, code: str) -> Site:
        for site in self.sites:
            if site.code == code:
                return site
        raise KeyError(f"no site {code!r} in protocol {self.nct_id}")

    def visit(self, code: str) -> Visit:
        """A concrete visit by code (``M3``), or a repeating visit's definition (``M``)."""
        return self.schedule.visit(code)

    def intervention(self, name: str) -> Intervention:
        for intervention in self.interventions:
            if intervention.name == name:
                return intervention
        raise KeyError(f"no intervention {name!r} in protocol {self.nct_id}")

    def endpoint(self, code: str) -> Endpoint:
        for endpoint in self.endpoints:
            if endpoint.code == code:
                return endpoint
        raise KeyError(f"no endpoint {code!r} in protocol {self.nct_id}")

    @property
    def screening_form(self) -> Form:
        return self.form(self.eligibility.form)

    @property
    def dose_rules(self) -> DoseRules:
        """The dose rules of the (first) intervention that has some."""
        for intervention in self.interventions:
            if intervention.dose_rules is not None:
                return intervention.dose_rules
        raise KeyError(f"no intervention of protocol {self.nct_id} has dose rules")

    @property
    def log_forms(self) -> list[Form]:
        return [self.form(code) for code in self.schedule.log_forms]

    def is_log_form(self, code: str) -> bool:
        """Whether ``code`` is a log form (the schedule decides: see :class:`Form`)."""
        return code in self.schedule.log_forms

    def date_concept_field(self, form: str) -> str | None:
        """The field of ``form`` that dates its records: the first date concept the concepts
        map places on it (``dose_date`` on the infusion form). Log entries are ordered by it."""
        if self.concepts is None:
            return None
        return self.concepts.places().date_field.get(form)

    @property
    def baseline_forms(self) -> list[str]:
        """The forms whose values ``baseline.<field>`` reads: the forms of the visits before or
        on the first dose (screening, day 1), the visit nearest the first dose first, each
        visit's forms in its order (the first form with a value wins)."""
        ordered: list[str] = []
        for visit in self.baseline_visits:
            ordered += [code for code in visit.forms if code not in ordered]
        return ordered

    @property
    def baseline_visits(self) -> list[Visit]:
        """The visits before or on the first dose (not repeating), the nearest to it first."""
        visits = [
            v
            for v in self.schedule.visits
            if v.anchor == "first_dose" and v.day is not None and v.day <= 0 and v.repeat is None
        ]
        return sorted(visits, key=lambda v: -(v.day or 0))

    # ------------------------------------------------------------------ clinical concepts

    def has_concept(self, name: str) -> bool:
        """Whether the protocol maps the concept (a field concept or a choice concept)."""
        concepts = self.concepts
        return concepts is not None and (name in concepts.fields or name in concepts.choices)

    def concept(self, name: str) -> list[FieldRef]:
        """Where a field concept is recorded, in order of precedence (``KeyError`` if unmapped)."""
        if self.concepts is None or name not in self.concepts.fields:
            raise KeyError(f"protocol {self.nct_id} maps no field concept {name!r}")
        return list(self.concepts.places().refs[name])

    def concept_field(self, name: str, form: str) -> str | None:
        """The field that records a field concept on ``form``, or None if that form does not."""
        if self.concepts is None:
            return None
        return self.concepts.places().field_on_form.get((name, form))

    def concept_form(self, name: str) -> str:
        """The form of a concept's first place (its preferred form)."""
        if self.concepts is not None and name in self.concepts.choices:
            return self.concepts.choices[name].ref.form
        return self.concept(name)[0].form

    def choice_concept(self, name: str) -> ChoiceRef:
        """The choice value a choice concept is in this protocol (``KeyError`` if unmapped)."""
        if self.concepts is None or name not in self.concepts.choices:
            raise KeyError(f"protocol {self.nct_id} maps no choice concept {name!r}")
        return self.concepts.places().choice_refs[name]

    def choice_value(self, name: str) -> str:
        """The stored value of a choice concept (``red_cell_transfusion`` -> ``"red_cells"``)."""
        return self.choice_concept(name).value

    def read_concept(self, name: str, form: str, data: Mapping[str, Any]) -> Any:
        """A concept's value in one record of ``form``: the value of its field for a field
        concept, whether its value is chosen (True/False) for a choice concept; None when
        the form does not record the concept or the record has no value for it."""
        if self.concepts is None:
            return None
        reading = self.concepts.places().reading.get((name, form))
        if reading is None:
            return None
        field, choice = reading
        value = data.get(field)
        if choice is None or value is None:
            return value
        return value == choice

    def read_concept_first(self, name: str, records: Mapping[str, Mapping[str, Any]]) -> Any:
        """A field concept's value from several records (form code -> data), by the
        concept's precedence: the first place whose record has a value."""
        for ref in self.concept(name):
            data = records.get(ref.form)
            if data is not None and data.get(ref.field) is not None:
                return data[ref.field]
        return None

    def concept_data(self, form: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """A record of ``form`` from values named by concept: a field concept's value goes to
        its field on that form; a choice concept set to True puts its value in its field.
        Concepts the form does not record are left out, and so are None values."""
        data: dict[str, Any] = {}
        concepts = self.concepts
        if concepts is None:
            return data
        for name, value in values.items():
            if value is None:
                continue
            if name in concepts.choices:
                ref = concepts.choices[name].ref
                if ref.form == form and value is True:
                    data[ref.field] = ref.value
                continue
            field = self.concept_field(name, form)
            if field is not None:
                data[field] = value
        return data

    def decisions(self) -> list[Decision | Criterion]:
        """Every ambiguity the protocol file decided: the identification's decisions,
        then the criteria that carry a decision."""
        return [*self.identification.decisions, *(c for c in self.eligibility.criteria if c.decision)]

    def elements(self) -> Iterator[tuple[str, Sourced]]:
        """Every sourced element with a readable path (``eligibility.criteria[I2]``)."""
        yield "identification", self.identification
        for decision in self.identification.decisions:
            yield f"identification.decisions[{decision.code}]", decision
        for site in self.sites:
            yield f"sites[{site.code}]", site
        for arm in self.arms:
            yield f"arms[{arm.code}]", arm
        for intervention in self.interventions:
            yield f"interventions[{intervention.name}]", intervention
            if intervention.dose_rules is not None:
                yield f"interventions[{intervention.name}].dose_rules", intervention.dose_rules
                yield f"interventions[{intervention.name}].dose_rules.timing", intervention.dose_rules.timing
                yield (
                    f"interventions[{intervention.name}].dose_rules.preparation",
                    intervention.dose_rules.preparation,
                )
                if intervention.dose_rules.cardiac_hold is not None:
                    yield (
                        f"interventions[{intervention.name}].dose_rules.cardiac_hold",
                        intervention.dose_rules.cardiac_hold,
                    )
                    yield (
                        f"interventions[{intervention.name}].dose_rules.cardiac_hold.repeat_lvef",
                        intervention.dose_rules.cardiac_hold.repeat_lvef,
                    )
        for form in self.forms:
            yield f"forms[{form.code}]", form
            for check in form.edit_checks:
                yield f"forms[{form.code}].edit_checks[{check.code}]", check
        for visit in self.schedule.visits:
            yield f"schedule.visits[{visit.code}]", visit
        yield "eligibility", self.eligibility
        for criterion in self.eligibility.criteria:
            yield f"eligibility.criteria[{criterion.code}]", criterion
        yield "response_criteria", self.response_criteria
        for endpoint in self.endpoints:
            yield f"endpoints[{endpoint.code}]", endpoint
        if self.statistical_design is not None:
            yield "statistical_design", self.statistical_design
        if self.concepts is not None:
            yield "concepts", self.concepts
        if self.safety is not None:
            yield "safety", self.safety
            yield "safety.susar_deadlines", self.safety.susar_deadlines
            for highlight in self.safety.highlights:
                yield f"safety.highlights[{highlight.code}]", highlight

    def registry_elements(self) -> list[tuple[str, Sourced]]:
        """The elements the registry record states (the rest is operational)."""
        return [(path, element) for path, element in self.elements() if element.source == "registry"]

    def operational_elements(self) -> list[tuple[str, Sourced]]:
        return [(path, element) for path, element in self.elements() if element.source == "operational"]
