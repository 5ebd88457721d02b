"""A subject's course of disease from their marrow assessments (pure).

Each assessment after the baseline gets its **derived** response
(:func:`trialdesk.clinical.response.classify_response`, the nadir and best response so
far carried from one to the next) and its **confirmed** response: the investigator's
own assessment where the investigator confirmed it with a justification, else the
derived one. The confirmed responses feed the endpoints; both series are given.

Per subject: the best overall response (CR > CRp > PR > NR > PD), the date of the first
response, the date of relapse or progression (the first after the baseline), the nadir
of the marrow blasts on treatment, the cytogenetic response (an abnormal baseline
karyotype that becomes normal) and the HER2-positive blasts over time.

The baseline is the last marrow on or before the first dose (the earliest marrow when
there is no first dose yet); marrows before it are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trialdesk.clinical.response import (
    MarrowAssessment,
    Nadir,
    ResponseCategory,
    ResponseResult,
    best_response,
    classify_response,
    track_nadir,
)
from trialdesk.protocol.model import Protocol, ResponseCriteria

__all__ = [
    "AssessedMarrow",
    "CourseOfDisease",
    "CytogeneticResponse",
    "INVESTIGATOR_CONCEPTS",
    "MarrowRecord",
    "ResponseSeries",
    "course_of_disease",
    "investigator_assessment",
]

#: the choice concepts of the investigator's assessment and the category each names
#: (``assessed_baseline``: the baseline marrow, no category)
INVESTIGATOR_CONCEPTS: dict[str, ResponseCategory] = {
    "assessed_cr": ResponseCategory.CR,
    "assessed_crp": ResponseCategory.CRP,
    "assessed_pr": ResponseCategory.PR,
    "assessed_no_response": ResponseCategory.NO_RESPONSE,
    "assessed_progression": ResponseCategory.PROGRESSION,
    "assessed_relapse": ResponseCategory.RELAPSE,
}

#: best overall response: a response first, then no response, then progression
_OVERALL_RANK = {
    ResponseCategory.CR: 5,
    ResponseCategory.CRP: 4,
    ResponseCategory.PR: 3,
    ResponseCategory.NO_RESPONSE: 2,
    ResponseCategory.PROGRESSION: 1,
    ResponseCategory.RELAPSE: 0,
}


def investigator_assessment(
    protocol: Protocol, form: str, data: Mapping[str, Any]
) -> ResponseCategory | None:
    """The category the investigator chose on a record (None: none, or the baseline)."""
    for concept, category in INVESTIGATOR_CONCEPTS.items():
        if protocol.has_concept(concept) and protocol.read_concept(concept, form, data):
            return category
    return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value


@dataclass(frozen=True)
class MarrowRecord:
    """One marrow assessment as recorded, with what the investigator said of it."""

    on: dt.date
    assessment: MarrowAssessment
    investigator: ResponseCategory | None = None
    #: the investigator confirmed their assessment with a justification (where it differs)
    confirmed: bool = False
    her2_positive_blasts: float | None = None
    karyotype_performed: bool | None = None
    abnormal_karyotype: bool | None = None
    key: Any = None  # the caller's identifier of the record

    @classmethod
    def from_record(
        cls,
        protocol: Protocol,
        form: str,
        data: Mapping[str, Any],
        *,
        confirmed: bool = False,
        key: Any = None,
    ) -> MarrowRecord | None:
        """The marrow of one record of ``form`` (None without a date or a blast count)."""

        def read(name: str) -> Any:
            return protocol.read_concept(name, form, data) if protocol.has_concept(name) else None

        on = _date(read("marrow_assessed_on"))
        if on is None or read("marrow_blasts") is None:
            return None
        her2 = read("her2_positive_blasts")
        return cls(
            on=on,
            assessment=MarrowAssessment.from_record(protocol, form, data),
            investigator=investigator_assessment(protocol, form, data),
            confirmed=confirmed,
            her2_positive_blasts=None if her2 is None else float(her2),
            karyotype_performed=read("karyotype_performed"),
            abnormal_karyotype=read("abnormal_karyotype"),
            key=key,
        )


@dataclass(frozen=True)
class AssessedMarrow:
    record: MarrowRecord
    derived: ResponseResult
    #: the response that feeds the endpoints: the investigator's where confirmed, else derived
    confirmed: ResponseCategory
    nadir_before: Nadir

    @property
    def discordant(self) -> bool:
        """The investigator's assessment differs from the derived response."""
        return self.record.investigator is not None and self.record.investigator != self.derived.category

    @property
    def confirmed_by_investigator(self) -> bool:
        return self.discordant and self.record.confirmed

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.record.key,
            "date": self.record.on.isoformat(),
            "derived": self.derived.category.value,
            "explanation": self.derived.explanation,
            "investigator": None if self.record.investigator is None else self.record.investigator.value,
            "discordant": self.discordant,
            "confirmed_by_investigator": self.confirmed_by_investigator,
            "confirmed": self.confirmed.value,
            "marrow_blasts": self.record.assessment.marrow_blasts,
        }


@dataclass(frozen=True)
class ResponseSeries:
    """What one series of categories (derived, or confirmed) gives for the subject."""

    best: ResponseCategory | None  # None: no assessment after the baseline
    first_response_on: dt.date | None
    failure: ResponseCategory | None  # the first relapse or progression
    failure_on: dt.date | None

    @property
    def responder(self) -> bool:
        return self.best is not None and self.best.is_response

    def as_dict(self) -> dict[str, Any]:
        return {
            "best": None if self.best is None else self.best.value,
            "responder": self.responder,
            "first_response_on": None
            if self.first_response_on is None
            else self.first_response_on.isoformat(),
            "failure": None if self.failure is None else self.failure.value,
            "failure_on": None if self.failure_on is None else self.failure_on.isoformat(),
        }


def _series(dated: list[tuple[dt.date, ResponseCategory]]) -> ResponseSeries:
    best = max((c for _, c in dated), key=_OVERALL_RANK.__getitem__, default=None)
    first = next((on for on, c in dated if c.is_response), None)
    failure = next(((on, c) for on, c in dated if c.is_failure), None)
    return ResponseSeries(best, first, failure[1] if failure else None, failure[0] if failure else None)


@dataclass(frozen=True)
class CytogeneticResponse:
    abnormal_at_baseline: bool | None  # None: no baseline karyotype
    normalised_on: dt.date | None  # the first normal karyotype on treatment

    @property
    def assessable(self) -> bool:
        """Only an abnormal baseline karyotype can respond."""
        return self.abnormal_at_baseline is True

    @property
    def achieved(self) -> bool | None:
        return None if not self.assessable else self.normalised_on is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "abnormal_at_baseline": self.abnormal_at_baseline,
            "assessable": self.assessable,
            "achieved": self.achieved,
            "normalised_on": None if self.normalised_on is None else self.normalised_on.isoformat(),
        }


@dataclass(frozen=True)
class CourseOfDisease:
    baseline: MarrowRecord | None
    assessments: tuple[AssessedMarrow, ...]
    derived: ResponseSeries
    confirmed: ResponseSeries
    nadir_marrow_blasts: float | None  # on treatment; None before the first assessment
    nadir_on: dt.date | None
    cytogenetic: CytogeneticResponse
    her2: tuple[tuple[dt.date, float], ...] = field(default_factory=tuple)  # baseline included

    def assessment_of(self, key: Any) -> AssessedMarrow | None:
        return next((a for a in self.assessments if a.record.key == key), None)

    @property
    def discordances(self) -> list[AssessedMarrow]:
        return [a for a in self.assessments if a.discordant]

    @property
    def best_blast_change_pct(self) -> float | None:
        """The best (lowest) relative change of the marrow blasts on treatment from the
        baseline, in % (80 % then 40 % then 3 %: (3 - 80) / 80 = -96.25 %); None without a
        baseline, without an assessment after it, or with a baseline of 0 % blasts."""
        if self.baseline is None or self.nadir_marrow_blasts is None:
            return None
        base = self.baseline.assessment.marrow_blasts
        if not base:
            return None
        return (self.nadir_marrow_blasts - base) / base * 100

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": None
            if self.baseline is None
            else {
                "date": self.baseline.on.isoformat(),
                "marrow_blasts": self.baseline.assessment.marrow_blasts,
            },
            "assessments": [a.as_dict() for a in self.assessments],
            "derived": self.derived.as_dict(),
            "confirmed": self.confirmed.as_dict(),
            "nadir_marrow_blasts_pct": self.nadir_marrow_blasts,
            "nadir_on": None if self.nadir_on is None else self.nadir_on.isoformat(),
            "cytogenetic": self.cytogenetic.as_dict(),
            "her2_positive_blasts": [{"date": on.isoformat(), "pct": pct} for on, pct in self.her2],
        }


def course_of_disease(
    marrows: Iterable[MarrowRecord],
    criteria: ResponseCriteria,
    *,
    first_dose: dt.date | None = None,
    baseline_abnormal_karyotype: bool | None = None,
) -> CourseOfDisease:
    """The course of disease of one subject from their marrows (in any order).

    ``baseline_abnormal_karyotype``: the baseline karyotype when the baseline marrow does
    not record one (the screening form's)."""
    ordered = sorted(marrows, key=lambda m: m.on)
    if first_dose is not None:
        before = [m for m in ordered if m.on <= first_dose]
        baseline = before[-1] if before else None
    else:
        baseline = ordered[0] if ordered else None
    empty = ResponseSeries(None, None, None, None)
    if baseline is None:
        return CourseOfDisease(
            None, (), empty, empty, None, None, CytogeneticResponse(baseline_abnormal_karyotype, None)
        )
    after = [m for m in ordered if m.on > baseline.on]
    nadir = Nadir.of(baseline.assessment)
    best: ResponseCategory | None = None
    assessed: list[AssessedMarrow] = []
    for m in after:
        result = classify_response(m.assessment, baseline.assessment, nadir, best, criteria)
        investigator_confirmed = (
            m.confirmed and m.investigator is not None and m.investigator != result.category
        )
        confirmed = (
            m.investigator if investigator_confirmed and m.investigator is not None else result.category
        )
        assessed.append(AssessedMarrow(m, result, confirmed, nadir))
        nadir = track_nadir(nadir, m.assessment)
        best = best_response(best, result.category)
    lowest = min(after, key=lambda m: m.assessment.marrow_blasts, default=None)
    abnormal = baseline.abnormal_karyotype if baseline.karyotype_performed is not False else None
    if abnormal is None:
        abnormal = baseline_abnormal_karyotype
    normalised = next(
        (m.on for m in after if m.karyotype_performed and m.abnormal_karyotype is False),
        None,
    )
    her2 = tuple(
        (m.on, m.her2_positive_blasts) for m in [baseline, *after] if m.her2_positive_blasts is not None
    )
    return CourseOfDisease(
        baseline=baseline,
        assessments=tuple(assessed),
        derived=_series([(a.record.on, a.derived.category) for a in assessed]),
        confirmed=_series([(a.record.on, a.confirmed) for a in assessed]),
        nadir_marrow_blasts=None if lowest is None else lowest.assessment.marrow_blasts,
        nadir_on=None if lowest is None else lowest.on,
        cytogenetic=CytogeneticResponse(abnormal, normalised if abnormal else None),
        her2=her2,
    )
