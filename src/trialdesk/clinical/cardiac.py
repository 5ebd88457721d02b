"""Cardiac safety of the study drug (pure): the LVEF drop from baseline, the cardiac hold
and the suggested CTCAE v5.0 grade of "Ejection fraction decreased".

- ``lvef_drop(baseline, value)``: the drop in absolute points of LVEF (58 % -> 48 % is
  10 points; a rise is a negative drop).
- ``assess_cardiac_hold(baseline, value, rules)``: DESIGN §4 and the trastuzumab label,
  thresholds from the protocol (``CardiacHold``): a drop of ``drop_points`` (16) **or
  more**, or a value **below** ``below_pct`` (50 %) with a drop of
  ``drop_points_when_below`` (10) **or more**, withholds the drug. Exactly 50 % with a
  drop of 10 does not; 49 % with a drop of 10 does.
- ``suggest_ef_decreased_grade(baseline, value)``: the CTCAE v5.0 grade of "Ejection
  fraction decreased" (Investigations, MedDRA 10050528) the values meet, the highest of
  the resting-EF and drop-from-baseline criteria, with the NCI text of that grade read
  from the packaged term list. Those thresholds belong to CTCAE, not to a trial: they
  live here, cited, rather than in a protocol file. CTCAE writes the drop as "% drop
  from baseline"; for an ejection fraction, itself a percentage, it is read in points
  of EF (the same reading as the cardiac hold's drop). The investigator confirms it.

Every result says why. Values are percentages of LVEF; the functions refuse a value
outside 0-100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trialdesk.clinical import ctcae
from trialdesk.protocol.model import CardiacHold

__all__ = [
    "EF_DECREASED_MEDDRA_CODE",
    "CardiacHoldDecision",
    "SuggestedGrade",
    "assess_cardiac_hold",
    "lvef_drop",
    "suggest_ef_decreased_grade",
]

#: CTCAE v5.0 "Ejection fraction decreased" (Investigations), by its MedDRA code
EF_DECREASED_MEDDRA_CODE = 10050528

# CTCAE v5.0 (NCI, 2017-11-27), "Ejection fraction decreased":
#   grade 2 "Resting ejection fraction (EF) 50 - 40%; 10 - 19% drop from baseline"
#   grade 3 "Resting ejection fraction (EF) 39 - 20%; >=20% drop from baseline"
#   grade 4 "Resting ejection fraction (EF) <20%"
#   (no grade 1, no grade 5)
# Between the whole-number bands (39.5 %) the lower band's grade applies: EF below 40 is grade 3.
_GRADE_2_EF_AT_MOST = 50.0
_GRADE_3_EF_BELOW = 40.0
_GRADE_4_EF_BELOW = 20.0
_GRADE_2_DROP_AT_LEAST = 10.0
_GRADE_3_DROP_AT_LEAST = 20.0


def _check_pct(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{what} must be a number, not {value!r}")
    if not 0 <= value <= 100:
        raise ValueError(f"{what} must be a percentage between 0 and 100, not {value:g}")
    return float(value)


def _at_least(value: float, threshold: float) -> bool:
    """``value >= threshold``, a value equal to it up to binary rounding counted as equal
    (58.1 - 42.1 is 16 points, not 15.999999999999996)."""
    return value >= threshold or math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-9)


def _below(value: float, threshold: float) -> bool:
    return not _at_least(value, threshold)


def _rounded(points: float) -> float:
    """A drop as the LVEF values give it: to 1e-9, so 58.1 - 42.1 reads 16."""
    return round(points, 9) + 0.0


def lvef_drop(baseline_pct: float, value_pct: float) -> float:
    """The fall of the LVEF from baseline, in absolute points (negative when it rose)."""
    baseline = _check_pct(baseline_pct, "the baseline LVEF")
    value = _check_pct(value_pct, "the LVEF")
    return _rounded(baseline - value)


def _pct(value: float) -> str:
    return f"{value:g} %"


def _points(value: float) -> str:
    word = "point" if abs(value) == 1 else "points"
    return f"{value:g} {word}"


@dataclass(frozen=True)
class CardiacHoldDecision:
    hold: bool
    baseline_pct: float
    value_pct: float
    drop_points: float
    #: which criterion decided: "drop" (the drop alone), "below_with_drop", or "" (no hold)
    criterion: str
    explanation: str


def assess_cardiac_hold(baseline_pct: float, value_pct: float, rules: CardiacHold) -> CardiacHoldDecision:
    """Whether an LVEF of ``value_pct`` withholds the drug, against ``baseline_pct``."""
    drop = lvef_drop(baseline_pct, value_pct)
    baseline, value = float(baseline_pct), float(value_pct)
    from_baseline = f"from {_pct(baseline)} at baseline"
    if drop < 0:
        change = f"a rise of {_points(-drop)} {from_baseline}"
    else:
        change = f"a drop of {_points(drop)} {from_baseline}"
    if _at_least(drop, rules.drop_points):
        return CardiacHoldDecision(
            True,
            baseline,
            value,
            drop,
            "drop",
            f"hold: LVEF {_pct(value)}, {change}, {_points(rules.drop_points)} or more",
        )
    if _below(value, rules.below_pct) and _at_least(drop, rules.drop_points_when_below):
        return CardiacHoldDecision(
            True,
            baseline,
            value,
            drop,
            "below_with_drop",
            f"hold: LVEF {_pct(value)}, below {_pct(rules.below_pct)} with {change} "
            f"({_points(rules.drop_points_when_below)} or more)",
        )
    if _below(value, rules.below_pct):
        why = f"below {_pct(rules.below_pct)} but {change}, less than {_points(rules.drop_points_when_below)}"
    else:
        why = f"not below {_pct(rules.below_pct)}, and {change}, less than {_points(rules.drop_points)}"
    return CardiacHoldDecision(False, baseline, value, drop, "", f"no hold: LVEF {_pct(value)}, {why}")


@dataclass(frozen=True)
class SuggestedGrade:
    grade: int
    term: str  # the CTCAE term, in English (CTCAE has no official French text)
    meddra_code: int
    grade_text: str  # the NCI text of that grade
    drop_points: float
    #: which criterion gave the grade: "ef" (the resting EF), "drop" (the drop from baseline)
    criterion: str
    explanation: str


def _grade_of_value(value: float) -> int | None:
    if _below(value, _GRADE_4_EF_BELOW):
        return 4
    if _below(value, _GRADE_3_EF_BELOW):
        return 3
    if value <= _GRADE_2_EF_AT_MOST or math.isclose(value, _GRADE_2_EF_AT_MOST):
        return 2
    return None


def _grade_of_drop(drop: float) -> int | None:
    if _at_least(drop, _GRADE_3_DROP_AT_LEAST):
        return 3
    if _at_least(drop, _GRADE_2_DROP_AT_LEAST):
        return 2
    return None


def suggest_ef_decreased_grade(baseline_pct: float | None, value_pct: float) -> SuggestedGrade | None:
    """The CTCAE v5.0 grade of "Ejection fraction decreased" the LVEF meets, or None when it
    meets none (resting EF above 50 % and a drop under 10 points). Without a baseline only
    the resting EF grades."""
    value = _check_pct(value_pct, "the LVEF")
    drop = lvef_drop(baseline_pct, value) if baseline_pct is not None else None
    by_value = _grade_of_value(value)
    by_drop = _grade_of_drop(drop) if drop is not None else None
    if by_value is None and by_drop is None:
        return None
    term = ctcae.term_by_code(EF_DECREASED_MEDDRA_CODE)
    if by_drop is not None and (by_value is None or by_drop > by_value):
        grade, criterion = by_drop, "drop"
        reason = f"a drop of {_points(drop)} from {_pct(float(baseline_pct))} at baseline"
    else:
        grade, criterion = by_value, "ef"
        reason = f"resting LVEF {_pct(value)}"
    text = term.grade_text(grade)
    return SuggestedGrade(
        grade=grade,
        term=term.term,
        meddra_code=term.meddra_code,
        grade_text=text,
        drop_points=drop if drop is not None else 0.0,
        criterion=criterion,
        explanation=f'{term.term}, grade {grade} (CTCAE v{ctcae.VERSION}): {reason}; grade {grade} is "{text}"',
    )
