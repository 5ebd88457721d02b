"""Response of acute lymphoblastic leukemia on one marrow assessment (pure).

The definitions are those of DESIGN §4 (ASH criteria for ALL, as tabulated in
Biol Blood Marrow Transplant 2010;16:1187, Table 4a); every threshold comes from the
protocol's ``response_criteria``:

- **relapse** (after a CR or CRp): marrow blasts at or above the relapse threshold, or
  circulating blasts, or new extramedullary disease;
- **progression**: a relative increase of the marrow blasts, or of the circulating
  blasts, at or above the progression threshold over their nadir (circulating blasts
  reappearing after none is such an increase), or new extramedullary disease;
- **CR**: marrow blasts below the CR threshold, no circulating blasts, no extramedullary
  disease, ANC and platelets at or above their minimums;
- **CRp**: a CR but for platelets below their minimum;
- **PR**: marrow blasts from the CR threshold up to the PR maximum, decreased by at
  least the PR decrease from baseline, with the blood-count criteria of a CR (ANC and
  platelets at their minimums, no circulating blasts) and no extramedullary disease;
- otherwise **no response**.

While in CR or CRp (``prior_best``) a rise of blasts is a relapse, not a progression.
"New" extramedullary disease is disease the baseline assessment did not have.

Assessments are read from a form's data through the protocol's clinical concepts
(:meth:`MarrowAssessment.from_record`), never by field code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from trialdesk.protocol.model import Protocol, ResponseCriteria

__all__ = [
    "MarrowAssessment",
    "Nadir",
    "ResponseCategory",
    "ResponseResult",
    "best_response",
    "classify_response",
    "track_nadir",
]


class ResponseCategory(StrEnum):
    """The response categories of DESIGN §4 (CR, CRp and PR are the usual abbreviations)."""

    CR = "CR"
    CRP = "CRp"
    PR = "PR"
    PROGRESSION = "progression"
    RELAPSE = "relapse"
    NO_RESPONSE = "no_response"

    @property
    def is_remission(self) -> bool:
        """A complete remission (CR or CRp): what a relapse comes after."""
        return self in (ResponseCategory.CR, ResponseCategory.CRP)


_RANK = {ResponseCategory.CR: 3, ResponseCategory.CRP: 2, ResponseCategory.PR: 1}


def best_response(best: ResponseCategory | None, category: ResponseCategory) -> ResponseCategory | None:
    """The best response so far after one more category (CR over CRp over PR; None: no
    response yet). Progression, relapse and no response do not change it."""
    if category not in _RANK:
        return best
    if best is None or _RANK[category] > _RANK.get(best, 0):
        return category
    return best


@dataclass(frozen=True)
class MarrowAssessment:
    """One marrow aspirate with the blood count of the same day.

    ``circulating_blasts``: the percentage of circulating blasts, 0 when there are none,
    None when they are present but not counted."""

    marrow_blasts: float
    circulating_blasts: float | None = 0.0
    extramedullary: bool = False
    neutrophil_count: float | None = None
    platelet_count: float | None = None

    @property
    def circulating_present(self) -> bool:
        return self.circulating_blasts is None or self.circulating_blasts > 0

    @classmethod
    def from_record(cls, protocol: Protocol, form: str, data: Mapping[str, Any]) -> MarrowAssessment:
        """The assessment recorded by one record of ``form`` (read through the concepts)."""

        def read(name: str) -> Any:
            return protocol.read_concept(name, form, data) if protocol.has_concept(name) else None

        blasts = read("marrow_blasts")
        if blasts is None:
            raise ValueError(f"the {form} record has no marrow blast percentage")
        seen = read("circulating_blasts_seen")
        counted = read("circulating_blasts")
        if seen is False:
            circulating: float | None = 0.0
        elif counted is not None:
            circulating = float(counted)
        else:
            circulating = None if seen else 0.0
        return cls(
            marrow_blasts=float(blasts),
            circulating_blasts=circulating,
            extramedullary=bool(read("extramedullary")),
            neutrophil_count=_float(read("neutrophil_count")),
            platelet_count=_float(read("platelet_count")),
        )


@dataclass(frozen=True)
class Nadir:
    """The lowest marrow and circulating blasts so far (baseline included)."""

    marrow_blasts: float
    circulating_blasts: float

    @classmethod
    def of(cls, assessment: MarrowAssessment) -> Nadir:
        return cls(assessment.marrow_blasts, assessment.circulating_blasts or 0.0)


def track_nadir(nadir: Nadir, assessment: MarrowAssessment) -> Nadir:
    """The nadir after one more assessment."""
    circulating = nadir.circulating_blasts
    if assessment.circulating_blasts is not None:
        circulating = min(circulating, assessment.circulating_blasts)
    return Nadir(min(nadir.marrow_blasts, assessment.marrow_blasts), circulating)


@dataclass(frozen=True)
class ResponseResult:
    category: ResponseCategory
    #: why, in a clinician's words, with the values and thresholds that decided
    explanation: str
    #: the thresholds the decision used (name -> value), and their reference
    thresholds: dict[str, float] = field(default_factory=dict)
    reference: str = ""

    @property
    def is_response(self) -> bool:
        return self.category in (ResponseCategory.CR, ResponseCategory.CRP, ResponseCategory.PR)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _at_least(value: float, threshold: float) -> bool:
    """``value >= threshold``, exact at the boundary despite binary fractions (20 x 1.25)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)


def _below(value: float, threshold: float) -> bool:
    return not _at_least(value, threshold)


def _pct(value: float) -> str:
    return f"{value:g} %"


def classify_response(
    assessment: MarrowAssessment,
    baseline: MarrowAssessment,
    nadir: Nadir,
    prior_best: ResponseCategory | None,
    criteria: ResponseCriteria,
) -> ResponseResult:
    """The response category of ``assessment``, with its explanation and thresholds.

    ``baseline``: the pre-treatment assessment; ``nadir``: the lowest blasts before this
    assessment (baseline included); ``prior_best``: the best category reached before it
    (None if none yet)."""
    rc = criteria
    thresholds = {
        "cr_marrow_blasts_below_pct": rc.cr_marrow_blasts_below_pct,
        "anc_min": rc.anc_min,
        "platelets_min": rc.platelets_min,
        "pr_marrow_blasts_max_pct": rc.pr_marrow_blasts_max_pct,
        "pr_min_decrease_pct": rc.pr_min_decrease_pct,
        "progression_increase_pct": rc.progression_increase_pct,
        "relapse_marrow_blasts_min_pct": rc.relapse_marrow_blasts_min_pct,
    }

    def result(category: ResponseCategory, explanation: str) -> ResponseResult:
        return ResponseResult(category, explanation, thresholds, rc.reference)

    blasts = assessment.marrow_blasts
    new_emd = assessment.extramedullary and not baseline.extramedullary

    # relapse, while in complete remission --------------------------------------------
    if prior_best is not None and prior_best.is_remission:
        reasons = []
        if _at_least(blasts, rc.relapse_marrow_blasts_min_pct):
            reasons.append(
                f"marrow blasts {_pct(blasts)}, at or above {_pct(rc.relapse_marrow_blasts_min_pct)}"
            )
        if assessment.circulating_present:
            reasons.append("circulating blasts reappeared")
        if new_emd:
            reasons.append("new extramedullary disease")
        if reasons:
            return result(
                ResponseCategory.RELAPSE, f"Relapse after {prior_best.value}: {'; '.join(reasons)}."
            )
    else:
        # progression ------------------------------------------------------------------
        reasons = []
        increase = rc.progression_increase_pct
        if nadir.marrow_blasts > 0:
            rise = 100 * (blasts - nadir.marrow_blasts) / nadir.marrow_blasts
            if _at_least(rise, increase):
                reasons.append(
                    f"marrow blasts {_pct(blasts)}, {rise:+.0f} % over the nadir of "
                    f"{_pct(nadir.marrow_blasts)} (progression from +{increase:g} %)"
                )
        elif blasts > 0:
            reasons.append(f"marrow blasts {_pct(blasts)} after a nadir of none")
        circulating = assessment.circulating_blasts
        if assessment.circulating_present:
            if nadir.circulating_blasts == 0:
                reasons.append("circulating blasts reappeared after none")
            elif circulating is not None:
                rise = 100 * (circulating - nadir.circulating_blasts) / nadir.circulating_blasts
                if _at_least(rise, increase):
                    reasons.append(
                        f"circulating blasts {_pct(circulating)}, {rise:+.0f} % over the nadir of "
                        f"{_pct(nadir.circulating_blasts)} (progression from +{increase:g} %)"
                    )
        if new_emd:
            reasons.append("new extramedullary disease")
        if reasons:
            return result(ResponseCategory.PROGRESSION, f"Progression: {'; '.join(reasons)}.")

    # complete remission -----------------------------------------------------------------
    anc, platelets = assessment.neutrophil_count, assessment.platelet_count
    anc_ok = anc is not None and _at_least(anc, rc.anc_min)
    platelets_ok = platelets is not None and _at_least(platelets, rc.platelets_min)
    anc_text = "ANC missing" if anc is None else f"ANC {anc:g} {rc.anc_unit}"
    platelets_text = (
        "platelets missing" if platelets is None else f"platelets {platelets:g} {rc.platelets_unit}"
    )
    clear_blood = not assessment.circulating_present and not assessment.extramedullary
    if _below(blasts, rc.cr_marrow_blasts_below_pct) and clear_blood and anc_ok:
        marrow = (
            f"marrow blasts {_pct(blasts)} (below {_pct(rc.cr_marrow_blasts_below_pct)}), no circulating "
            f"blasts, no extramedullary disease, {anc_text} (at least {rc.anc_min:g})"
        )
        if platelets_ok:
            return result(
                ResponseCategory.CR,
                f"Complete response: {marrow}, {platelets_text} (at least {rc.platelets_min:g}).",
            )
        return result(
            ResponseCategory.CRP,
            f"Complete response without platelet recovery: {marrow}, {platelets_text} "
            f"(below {rc.platelets_min:g}).",
        )

    # partial response -------------------------------------------------------------------
    base = baseline.marrow_blasts
    decrease = 100 * (base - blasts) / base if base > 0 else 0.0
    in_pr_range = _at_least(blasts, rc.cr_marrow_blasts_below_pct) and _at_least(
        rc.pr_marrow_blasts_max_pct, blasts
    )
    decreased = _at_least(decrease, rc.pr_min_decrease_pct)
    if in_pr_range and decreased and anc_ok and platelets_ok and clear_blood:
        return result(
            ResponseCategory.PR,
            f"Partial response: marrow blasts {_pct(blasts)} (from {_pct(rc.cr_marrow_blasts_below_pct)} "
            f"to {_pct(rc.pr_marrow_blasts_max_pct)}), {decrease:.0f} % below the baseline {_pct(base)} "
            f"(at least {rc.pr_min_decrease_pct:g} %), {anc_text}, {platelets_text}, no circulating blasts, "
            "no extramedullary disease.",
        )

    # no response ------------------------------------------------------------------------
    missing = []
    if _at_least(blasts, rc.cr_marrow_blasts_below_pct) and not in_pr_range:
        missing.append(f"marrow blasts {_pct(blasts)}, above the {_pct(rc.pr_marrow_blasts_max_pct)} of a PR")
    elif in_pr_range and not decreased:
        missing.append(
            f"marrow blasts {_pct(blasts)} only {decrease:.0f} % below the baseline {_pct(base)} "
            f"(a PR needs {rc.pr_min_decrease_pct:g} %)"
        )
    if not anc_ok:
        missing.append(f"{anc_text} (below {rc.anc_min:g})" if anc is not None else anc_text)
    if not platelets_ok and not _below(blasts, rc.cr_marrow_blasts_below_pct):
        missing.append(
            f"{platelets_text} (below {rc.platelets_min:g})" if platelets is not None else platelets_text
        )
    if assessment.circulating_present:
        missing.append("circulating blasts present")
    if assessment.extramedullary:
        missing.append("extramedullary disease")
    return result(
        ResponseCategory.NO_RESPONSE,
        f"No response: {'; '.join(missing) or 'the criteria of a response are not met'}.",
    )
