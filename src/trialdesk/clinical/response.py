"""Response of acute lymphoblastic leukemia on one marrow assessment (pure).

The definitions are those of DESIGN §4 (ASH criteria for ALL, as tabulated in
Biol Blood Marrow Transplant 2010;16:1187, Table 4a); every threshold comes from the
protocol's ``response_criteria``. They are applied in this order, the first that holds
decides:

1. **relapse** — only after a CR or CRp (``prior_best``): marrow blasts at or above the
   relapse threshold, or circulating blasts, or new extramedullary disease;
2. **PD** (progression): marrow blasts at or above the progression threshold *and* a
   relative increase at or above the progression increase over their nadir; or a
   recorded count of circulating blasts rising by that increase over their recorded
   nadir (a nadir count above zero: circulating blasts seen without a count, or
   reappearing after none, are not a progression by themselves); or new extramedullary
   disease;
3. **CR**: marrow blasts below the CR threshold, no circulating blasts, no
   extramedullary disease, ANC and platelets at or above their minimums;
4. **CRp**: a CR but for platelets below their minimum (the ANC is still required);
5. **PR**: marrow blasts from the CR threshold up to the PR maximum, decreased by at
   least the PR decrease from baseline, with the blood-count criteria of a CR (ANC and
   platelets at their minimums, no circulating blasts) and no extramedullary disease;
6. otherwise **NR** (no response: stable or refractory disease).

Circulating blasts (seen or not) rule out CR, CRp and PR. The nadir is the lowest value
so far, the baseline included (the baseline when nothing lower was seen). "New"
extramedullary disease is disease the baseline assessment did not have.

Each result carries its explanation as data: a headline and the reasons that decided,
each an English template with its parameters (:class:`Reason`), so that the shell shows
it in the user's language; ``explanation`` is the English text.

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
    "TEMPLATES",
    "MarrowAssessment",
    "Nadir",
    "Reason",
    "ResponseCategory",
    "ResponseResult",
    "best_response",
    "classify_response",
    "track_nadir",
]


class ResponseCategory(StrEnum):
    """The response categories of DESIGN §4, by their usual abbreviations."""

    CR = "CR"
    CRP = "CRp"
    PR = "PR"
    NO_RESPONSE = "NR"
    PROGRESSION = "PD"
    RELAPSE = "relapse"

    @property
    def is_remission(self) -> bool:
        """A complete remission (CR or CRp): what a relapse comes after."""
        return self in (ResponseCategory.CR, ResponseCategory.CRP)

    @property
    def is_response(self) -> bool:
        return self in _RANK

    @property
    def is_failure(self) -> bool:
        """Progression or relapse: the end of a response (leukemia-free survival's event)."""
        return self in (ResponseCategory.PROGRESSION, ResponseCategory.RELAPSE)


_RANK = {ResponseCategory.CR: 3, ResponseCategory.CRP: 2, ResponseCategory.PR: 1}


def best_response(best: ResponseCategory | None, category: ResponseCategory) -> ResponseCategory | None:
    """The best response so far after one more category (CR over CRp over PR; None: no
    response yet). Progression, relapse and no response do not change it."""
    if category not in _RANK:
        return best
    if best is None or _RANK[category] > _RANK.get(best, 0):
        return category
    return best


# --------------------------------------------------------------------------- explanations

#: every template of an explanation, by key (English; the shell translates the template,
#: then fills in the parameters). Parameters are already formatted values ("20 %").
TEMPLATES: dict[str, str] = {
    # headlines
    "head_CR": "CR",
    "head_CRp": "CRp",
    "head_PR": "PR",
    "head_NR": "No response",
    "head_PD": "Progression",
    "head_relapse_CR": "Relapse after CR",
    "head_relapse_CRp": "Relapse after CRp",
    # relapse
    "relapse_marrow": "marrow blasts %(blasts)s, at or above %(threshold)s",
    "relapse_circulating": "circulating blasts present",
    "new_extramedullary": "new extramedullary disease",
    # progression
    "pd_marrow": "marrow blasts %(blasts)s, %(rise)s over the nadir of %(nadir)s (progression from %(increase)s)",
    "pd_marrow_from_none": "marrow blasts %(blasts)s after a nadir of none",
    "pd_circulating": (
        "circulating blasts %(circulating)s, %(rise)s over the nadir of %(nadir)s (progression from %(increase)s)"
    ),
    # complete remission
    "cr_marrow": "marrow blasts %(blasts)s (below %(threshold)s)",
    "no_circulating": "no circulating blasts",
    "no_extramedullary": "no extramedullary disease",
    "anc_ok": "ANC %(count)s (at least %(minimum)s)",
    "anc_low": "ANC %(count)s (below %(minimum)s)",
    "anc_missing": "ANC missing",
    "platelets_ok": "platelets %(count)s (at least %(minimum)s)",
    "platelets_low": "platelets %(count)s (below %(minimum)s)",
    "platelets_missing": "platelets missing",
    # partial response
    "pr_marrow": "marrow blasts %(blasts)s, a %(decrease)s decrease from %(baseline)s at baseline",
    "pr_decrease_short": (
        "marrow blasts %(blasts)s, a %(decrease)s decrease from %(baseline)s at baseline (a PR needs %(needed)s)"
    ),
    "pr_no_decrease": "marrow blasts %(blasts)s, no decrease from %(baseline)s at baseline",
    "above_pr": "marrow blasts %(blasts)s, above the %(maximum)s of a PR",
    # what rules a response out
    "circulating_present": "circulating blasts present",
    "extramedullary_present": "extramedullary disease present",
    "criteria_not_met": "the criteria of a response are not met",
}


@dataclass(frozen=True)
class Reason:
    """One part of an explanation: a template of :data:`TEMPLATES` and its parameters."""

    key: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def template(self) -> str:
        return TEMPLATES[self.key]

    @property
    def text(self) -> str:
        return self.template % self.params


def compose(headline: str, reasons: list[str]) -> str:
    """An explanation from its (translated) parts: ``"PR: reason; reason"``."""
    return f"{headline}: {'; '.join(reasons)}" if reasons else headline


# --------------------------------------------------------------------------- assessments


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
        """The assessment recorded by one record of ``form`` (read through the concepts);
        ``ValueError`` when the record has no marrow blast percentage."""

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
    """The lowest marrow blasts so far (baseline included), and the lowest recorded count
    of circulating blasts (None: none was counted)."""

    marrow_blasts: float
    circulating_blasts: float | None = None

    @classmethod
    def of(cls, assessment: MarrowAssessment) -> Nadir:
        return cls(assessment.marrow_blasts, assessment.circulating_blasts)


def track_nadir(nadir: Nadir, assessment: MarrowAssessment) -> Nadir:
    """The nadir after one more assessment."""
    circulating = nadir.circulating_blasts
    if assessment.circulating_blasts is not None:
        circulating = (
            assessment.circulating_blasts
            if circulating is None
            else min(circulating, assessment.circulating_blasts)
        )
    return Nadir(min(nadir.marrow_blasts, assessment.marrow_blasts), circulating)


@dataclass(frozen=True)
class ResponseResult:
    category: ResponseCategory
    headline: Reason
    #: the criteria that decided, in a clinician's words, with their values and thresholds
    reasons: tuple[Reason, ...] = ()
    #: the thresholds the decision used (name -> value), and their reference
    thresholds: dict[str, float] = field(default_factory=dict)
    reference: str = ""

    @property
    def explanation(self) -> str:
        """The explanation in English: ``"PR: marrow blasts 20 %, a 75 % decrease …"``."""
        return compose(self.headline.text, [r.text for r in self.reasons])

    @property
    def is_response(self) -> bool:
        return self.category.is_response

    def as_dict(self) -> dict[str, Any]:
        return {"response": self.category.value, "explanation": self.explanation}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _at_least(value: float, threshold: float) -> bool:
    """``value >= threshold``, exact at the boundary despite binary fractions (20 x 1.25)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)


def _below(value: float, threshold: float) -> bool:
    return not _at_least(value, threshold)


def _num(value: float) -> str:
    return f"{value:g}"


def _pct(value: float) -> str:
    return f"{value:g} %"


def _rel(value: float) -> str:
    """A relative change, rounded to a whole per cent unless that hides the boundary."""
    whole = round(value)
    return f"{whole:.0f} %" if math.isclose(value, whole, abs_tol=0.05) else f"{value:.1f} %"


def _rise(value: float, nadir: float) -> float:
    return 100 * (value - nadir) / nadir


def classify_response(
    assessment: MarrowAssessment,
    baseline: MarrowAssessment,
    nadir: Nadir,
    prior_best: ResponseCategory | None,
    criteria: ResponseCriteria,
) -> ResponseResult:
    """The response category of ``assessment``, with its explanation and thresholds.

    ``baseline``: the pre-treatment assessment; ``nadir``: the lowest blasts before this
    assessment (baseline included: ``Nadir.of(baseline)`` by default); ``prior_best``: the
    best category reached before it (None if none yet)."""
    rc = criteria
    thresholds = {
        "cr_marrow_blasts_below_pct": rc.cr_marrow_blasts_below_pct,
        "anc_min": rc.anc_min,
        "platelets_min": rc.platelets_min,
        "pr_marrow_blasts_max_pct": rc.pr_marrow_blasts_max_pct,
        "pr_min_decrease_pct": rc.pr_min_decrease_pct,
        "progression_increase_pct": rc.progression_increase_pct,
        "progression_marrow_blasts_min_pct": rc.progression_marrow_blasts_min_pct,
        "relapse_marrow_blasts_min_pct": rc.relapse_marrow_blasts_min_pct,
    }

    def result(category: ResponseCategory, headline: str, reasons: list[Reason]) -> ResponseResult:
        return ResponseResult(category, Reason(headline), tuple(reasons), thresholds, rc.reference)

    blasts = assessment.marrow_blasts
    new_emd = assessment.extramedullary and not baseline.extramedullary

    # 1. relapse, after a complete remission ----------------------------------------------
    if prior_best is not None and prior_best.is_remission:
        reasons = []
        if _at_least(blasts, rc.relapse_marrow_blasts_min_pct):
            reasons.append(
                Reason(
                    "relapse_marrow",
                    {"blasts": _pct(blasts), "threshold": _pct(rc.relapse_marrow_blasts_min_pct)},
                )
            )
        if assessment.circulating_present:
            reasons.append(Reason("relapse_circulating"))
        if new_emd:
            reasons.append(Reason("new_extramedullary"))
        if reasons:
            return result(ResponseCategory.RELAPSE, f"head_relapse_{prior_best.value}", reasons)

    # 2. progression -----------------------------------------------------------------------
    reasons = []
    increase = rc.progression_increase_pct
    if _at_least(blasts, rc.progression_marrow_blasts_min_pct):
        if nadir.marrow_blasts > 0:
            rise = _rise(blasts, nadir.marrow_blasts)
            if _at_least(rise, increase):
                reasons.append(
                    Reason(
                        "pd_marrow",
                        {
                            "blasts": _pct(blasts),
                            "rise": "+" + _rel(rise),
                            "nadir": _pct(nadir.marrow_blasts),
                            "increase": f"+{increase:g} %",
                        },
                    )
                )
        else:
            reasons.append(Reason("pd_marrow_from_none", {"blasts": _pct(blasts)}))
    circulating = assessment.circulating_blasts
    if circulating is not None and nadir.circulating_blasts is not None and nadir.circulating_blasts > 0:
        rise = _rise(circulating, nadir.circulating_blasts)
        if _at_least(rise, increase):
            reasons.append(
                Reason(
                    "pd_circulating",
                    {
                        "circulating": _pct(circulating),
                        "rise": "+" + _rel(rise),
                        "nadir": _pct(nadir.circulating_blasts),
                        "increase": f"+{increase:g} %",
                    },
                )
            )
    if new_emd:
        reasons.append(Reason("new_extramedullary"))
    if reasons:
        return result(ResponseCategory.PROGRESSION, "head_PD", reasons)

    # the blood count and what rules any response out ----------------------------------
    anc, platelets = assessment.neutrophil_count, assessment.platelet_count
    anc_ok = anc is not None and _at_least(anc, rc.anc_min)
    platelets_ok = platelets is not None and _at_least(platelets, rc.platelets_min)
    if anc is None:
        anc_reason = Reason("anc_missing")
    else:
        anc_reason = Reason(
            "anc_ok" if anc_ok else "anc_low", {"count": _num(anc), "minimum": _num(rc.anc_min)}
        )
    if platelets is None:
        platelets_reason = Reason("platelets_missing")
    else:
        platelets_reason = Reason(
            "platelets_ok" if platelets_ok else "platelets_low",
            {"count": _num(platelets), "minimum": _num(rc.platelets_min)},
        )
    clear_blood = not assessment.circulating_present and not assessment.extramedullary

    # 3-4. complete remission ------------------------------------------------------------
    if _below(blasts, rc.cr_marrow_blasts_below_pct) and clear_blood and anc_ok:
        reasons = [
            Reason("cr_marrow", {"blasts": _pct(blasts), "threshold": _pct(rc.cr_marrow_blasts_below_pct)}),
            Reason("no_circulating"),
            Reason("no_extramedullary"),
            anc_reason,
            platelets_reason,
        ]
        if platelets_ok:
            return result(ResponseCategory.CR, "head_CR", reasons)
        return result(ResponseCategory.CRP, "head_CRp", reasons)

    # 5. partial response ------------------------------------------------------------------
    base = baseline.marrow_blasts
    decrease = 100 * (base - blasts) / base if base > 0 else 0.0
    in_pr_range = _at_least(blasts, rc.cr_marrow_blasts_below_pct) and _at_least(
        rc.pr_marrow_blasts_max_pct, blasts
    )
    decreased = _at_least(decrease, rc.pr_min_decrease_pct)
    marrow_params = {"blasts": _pct(blasts), "decrease": _rel(max(decrease, 0.0)), "baseline": _pct(base)}
    if in_pr_range and decreased and anc_ok and platelets_ok and clear_blood:
        reasons = [Reason("pr_marrow", marrow_params), anc_reason, platelets_reason]
        return result(ResponseCategory.PR, "head_PR", reasons)

    # 6. no response -------------------------------------------------------------------
    reasons = []
    if _at_least(blasts, rc.cr_marrow_blasts_below_pct) and not in_pr_range:
        reasons.append(
            Reason("above_pr", {"blasts": _pct(blasts), "maximum": _pct(rc.pr_marrow_blasts_max_pct)})
        )
    elif in_pr_range and not decreased:
        if decrease > 0:
            reasons.append(
                Reason("pr_decrease_short", {**marrow_params, "needed": f"{rc.pr_min_decrease_pct:g} %"})
            )
        else:
            reasons.append(Reason("pr_no_decrease", {"blasts": _pct(blasts), "baseline": _pct(base)}))
    if not anc_ok:
        reasons.append(anc_reason)
    if not platelets_ok and _at_least(blasts, rc.cr_marrow_blasts_below_pct):
        reasons.append(platelets_reason)
    if assessment.circulating_present:
        reasons.append(Reason("circulating_present"))
    if assessment.extramedullary:
        reasons.append(Reason("extramedullary_present"))
    return result(ResponseCategory.NO_RESPONSE, "head_NR", reasons or [Reason("criteria_not_met")])
