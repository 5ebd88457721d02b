"""Weight-based dosing of the study drug (pure), DESIGN §4 "Dosing" (trastuzumab label).

- the dose is mg/kg x the weight used for it;
- the weight used is re-taken when the current weight differs from it by **more than**
  ``weight_change_recompute_pct`` (10 %): exactly 10 % keeps the dose;
- a weekly dose late by **more than** ``reload_if_late_by_more_than_days`` (one week)
  after its due date is given as a new loading dose: exactly 7 days late is not;
- a dose given **more than** ``deviation_pct`` (10 %) away from the prescribed dose is
  a deviation: exactly 10 % is not.

Every threshold is the protocol's (``DoseRules``); every result says why.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from trialdesk.protocol.model import DoseRules

__all__ = [
    "DeviationCheck",
    "DoseCalculation",
    "DosePlan",
    "ReloadCheck",
    "WeightCheck",
    "check_deviation",
    "check_reload",
    "check_weight",
    "compute_dose",
    "plan_dose",
]


def _more_than(value: float, threshold: float) -> bool:
    """``value > threshold``, with a value equal to the threshold up to binary rounding
    (77 kg from 70 kg is 10 %, not 10.000000000000002 %) counted as equal."""
    return value > threshold and not math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class DoseCalculation:
    mg_per_kg: float
    weight_kg: float
    dose_mg: float
    explanation: str


def compute_dose(mg_per_kg: float, weight_kg: float) -> DoseCalculation:
    """The dose for a weight: mg/kg x kg."""
    if mg_per_kg < 0 or weight_kg <= 0:
        raise ValueError("a dose needs a positive weight and a non-negative dose per kg")
    dose = mg_per_kg * weight_kg
    return DoseCalculation(
        mg_per_kg, weight_kg, dose, f"{mg_per_kg:g} mg/kg x {weight_kg:g} kg = {dose:g} mg"
    )


@dataclass(frozen=True)
class WeightCheck:
    recompute: bool
    weight_used_kg: float
    weight_now_kg: float
    change_pct: float
    threshold_pct: float
    explanation: str

    @property
    def weight_for_dose(self) -> float:
        """The weight the next dose is computed from."""
        return self.weight_now_kg if self.recompute else self.weight_used_kg


def _percent_from(reference: float, value: float, what: str) -> float:
    """How far ``value`` is from ``reference``, in percent of it (signed)."""
    if reference <= 0:
        raise ValueError(f"{what} must be positive")
    return 100 * (value - reference) / reference


def check_weight(weight_used_kg: float, weight_now_kg: float, rules: DoseRules) -> WeightCheck:
    """Whether the dose is re-computed: the weight changed by more than the threshold."""
    threshold = rules.weight_change_recompute_pct
    change = _percent_from(weight_used_kg, weight_now_kg, "the weight used for the dose")
    recompute = _more_than(abs(change), threshold)
    what = f"weight {weight_now_kg:g} kg, {change:+.1f} % from the {weight_used_kg:g} kg the dose was computed from"
    if recompute:
        explanation = f"{what}: more than {threshold:g} %, the dose is recomputed"
    else:
        explanation = f"{what}: not more than {threshold:g} %, the dose is kept"
    return WeightCheck(recompute, weight_used_kg, weight_now_kg, change, threshold, explanation)


@dataclass(frozen=True)
class ReloadCheck:
    reload: bool
    days_since_previous: int
    days_late: int
    threshold_days: int
    explanation: str


def check_reload(previous_dose: dt.date, dose_date: dt.date, rules: DoseRules) -> ReloadCheck:
    """Whether a maintenance dose becomes a loading dose: given more than the allowed
    delay after it was due (``interval_days`` after the previous dose)."""
    gap = (dose_date - previous_dose).days
    late = gap - rules.interval_days
    threshold = rules.reload_if_late_by_more_than_days
    reload = late > threshold
    if late <= 0:
        explanation = (
            f"dose {gap} days after the previous one: on time (due after {rules.interval_days} days)"
        )
    elif reload:
        explanation = (
            f"dose late by {late} days (more than {threshold}): a new "
            f"{rules.loading_mg_per_kg:g} mg/kg loading dose is given"
        )
    else:
        explanation = f"dose late by {late} days (not more than {threshold}): the maintenance dose is kept"
    return ReloadCheck(reload, gap, late, threshold, explanation)


@dataclass(frozen=True)
class DeviationCheck:
    deviation: bool
    prescribed_mg: float
    given_mg: float
    difference_pct: float
    threshold_pct: float
    explanation: str


def check_deviation(prescribed_mg: float, given_mg: float, rules: DoseRules) -> DeviationCheck:
    """Whether a dose given is a deviation: more than the threshold away from the prescription."""
    threshold = rules.deviation_pct
    difference = _percent_from(prescribed_mg, given_mg, "the prescribed dose")
    deviation = _more_than(abs(difference), threshold)
    what = f"{given_mg:g} mg given for {prescribed_mg:g} mg prescribed ({difference:+.1f} %)"
    if deviation:
        explanation = f"{what}: more than {threshold:g} % away, a dose deviation"
    else:
        explanation = f"{what}: within {threshold:g} %"
    return DeviationCheck(deviation, prescribed_mg, given_mg, difference, threshold, explanation)


@dataclass(frozen=True)
class DosePlan:
    """The next dose: loading or maintenance, the weight it is computed from, the dose."""

    date: dt.date
    loading: bool
    mg_per_kg: float
    weight_kg: float
    dose_mg: float
    #: the checks that decided (one line each), for the record and the clinician
    explanation: str
    reload: ReloadCheck | None = None
    weight: WeightCheck | None = None


def plan_dose(
    rules: DoseRules,
    dose_date: dt.date,
    *,
    previous_dose: dt.date | None,
    weight_used_kg: float | None,
    weight_now_kg: float,
) -> DosePlan:
    """The dose to give on ``dose_date``: the first dose is a loading dose on the current
    weight; a later one reloads if late by more than the allowed delay, and is computed
    from the current weight if it changed by more than the threshold, else from the
    weight used so far."""
    reasons: list[str] = []
    reload = weight = None
    if previous_dose is None or weight_used_kg is None:
        loading, weight_kg = True, weight_now_kg
        reasons.append("first dose: loading dose")
    else:
        reload = check_reload(previous_dose, dose_date, rules)
        loading = reload.reload
        if reload.days_late > 0:
            reasons.append(reload.explanation)
        weight = check_weight(weight_used_kg, weight_now_kg, rules)
        weight_kg = weight.weight_for_dose
        if weight.recompute:
            reasons.append(weight.explanation)
    mg_per_kg = float(rules.loading_mg_per_kg if loading else rules.maintenance_mg_per_kg)
    calculation = compute_dose(mg_per_kg, weight_kg)
    reasons.append(calculation.explanation)
    return DosePlan(
        date=dose_date,
        loading=loading,
        mg_per_kg=mg_per_kg,
        weight_kg=weight_kg,
        dose_mg=calculation.dose_mg,
        explanation="; ".join(reasons),
        reload=reload,
        weight=weight,
    )
