"""Weight-based dosing of the study drug (pure), DESIGN §4 "Dosing" (trastuzumab label).

One implementation, used by the infusion form, ``trialdesk dose``, the simulator and the
analysis:

- :func:`classify_interval`: a dose is *first*, *too early* (fewer than
  ``timing.minimum_interval_days`` since the previous dose), *on time*, *late* (more than
  ``timing.late_after_days``, still maintenance) or *missed* (more than
  ``reload_after_days``: a new loading dose is due);
- :func:`propose_dose`: the dose to give on a date (kind, mg/kg, the weight it is computed
  on, mg rounded as the protocol prepares it, vials), or no dose on a cardiac hold;
- the dose is mg/kg x the weight used for it;
- the weight used is re-taken when the current weight differs from it by **more than**
  ``weight_change_recompute_pct`` (10 %): exactly 10 % keeps the dose;
- a weekly dose late by **more than** ``reload_if_late_by_more_than_days`` (one week)
  after its due date (``reload_after_days`` since the previous dose) is a missed dose, given
  as a new loading dose: exactly 7 days late is not;
- a dose given **more than** ``deviation_pct`` (10 %) away from the prescribed dose is
  a deviation: exactly 10 % is not.

Every threshold is the protocol's (``DoseRules``); every result says why.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from trialdesk.protocol.formdata import Message, gettext_noop
from trialdesk.protocol.model import DoseRules

__all__ = [
    "DeviationCheck",
    "DoseCalculation",
    "DoseInterval",
    "DoseProposal",
    "IntervalStatus",
    "WeightCheck",
    "check_deviation",
    "check_weight",
    "classify_interval",
    "compute_dose",
    "propose_dose",
    "round_dose",
    "vials_for",
    "weight_range",
]

IntervalStatus = Literal["first", "too_early", "on_time", "late", "missed"]
DoseKind = Literal["loading", "maintenance"]


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


# --------------------------------------------------------------------------- interval since the last dose


@dataclass(frozen=True)
class DoseInterval:
    """Where a dose falls after the previous one (DESIGN §4, the trastuzumab label)."""

    status: IntervalStatus
    days_since: int | None
    #: English, with its template and parameters for the shell to translate
    explanation: Message

    @property
    def reload_due(self) -> bool:
        """A missed dose: a new loading dose is due."""
        return self.status == "missed"


def classify_interval(previous_dose_on: dt.date | None, dose_on: dt.date, rules: DoseRules) -> DoseInterval:
    """The status of a dose given on ``dose_on`` after one given on ``previous_dose_on``:
    fewer than the minimum interval is too early; up to the late tolerance, on time; more
    than it, late (still a maintenance dose); more than ``rules.reload_after_days``, missed
    (a reload is due). Raises ``ValueError`` for a dose dated before the previous one."""
    if previous_dose_on is None:
        return DoseInterval("first", None, Message(gettext_noop("first dose")))
    days = (dose_on - previous_dose_on).days
    if days < 0:
        raise ValueError("the dose is dated before the previous one")
    t = rules.timing
    if days < t.minimum_interval_days:
        return DoseInterval(
            "too_early",
            days,
            Message(
                gettext_noop("%(days)d days since the last dose, fewer than %(limit)d: too early"),
                days=days,
                limit=t.minimum_interval_days,
            ),
        )
    if days > rules.reload_after_days:
        return DoseInterval(
            "missed",
            days,
            Message(
                gettext_noop("%(days)d days since the last dose, more than %(limit)d: a missed dose"),
                days=days,
                limit=rules.reload_after_days,
            ),
        )
    if days > t.late_after_days:
        return DoseInterval(
            "late",
            days,
            Message(
                gettext_noop("%(days)d days since the last dose, more than %(limit)d: a late dose"),
                days=days,
                limit=t.late_after_days,
            ),
        )
    return DoseInterval(
        "on_time",
        days,
        Message(gettext_noop("%(days)d days since the last dose: on time"), days=days),
    )


# --------------------------------------------------------------------------- preparation


def round_dose(dose_mg: float, rules: DoseRules) -> float:
    """The dose as prepared: to the nearest ``preparation.round_to_mg`` (halves up)."""
    step = Decimal(str(rules.preparation.round_to_mg))
    steps = (Decimal(repr(dose_mg)) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return float(steps * step)


def vials_for(dose_mg: float, rules: DoseRules) -> int:
    """How many vials a dose needs (a started vial counts)."""
    if dose_mg <= 0:
        return 0
    vial = rules.preparation.vial_mg
    whole = round(dose_mg / vial)
    if math.isclose(dose_mg, whole * vial, rel_tol=1e-9):
        return int(whole)
    return math.ceil(dose_mg / vial)


# --------------------------------------------------------------------------- the proposed dose


@dataclass(frozen=True)
class DoseProposal:
    """The dose to give on a date, and why. ``kind`` is None when no dose is given
    (cardiac hold): then ``mg_per_kg``, ``dose_mg`` and ``vials`` are None too."""

    on: dt.date
    kind: DoseKind | None
    mg_per_kg: float | None
    #: the weight the dose is computed on
    weight_kg: float
    dose_mg: float | None
    vials: int | None
    interval: DoseInterval
    weight: WeightCheck | None
    #: each rule that decided, English with template and parameters
    reasons: tuple[Message, ...]

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def loading(self) -> bool:
        return self.kind == "loading"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "mg_per_kg": self.mg_per_kg,
            "weight_kg": self.weight_kg,
            "dose_mg": self.dose_mg,
            "vials": self.vials,
            "reason": self.reason,
        }


def propose_dose(
    rules: DoseRules,
    on: dt.date,
    *,
    previous_dose_on: dt.date | None,
    weight_now_kg: float,
    weight_used_kg: float | None,
    on_cardiac_hold: bool = False,
) -> DoseProposal:
    """The dose due on ``on``: a loading dose first and after a missed dose, else the
    maintenance dose; computed on the weight used so far unless the current weight differs
    from it by more than the protocol's threshold (or there is none yet); rounded and in
    vials as the protocol prepares it. On a cardiac hold, no dose."""
    if weight_now_kg <= 0:
        raise ValueError("the weight must be positive")
    interval = classify_interval(previous_dose_on, on, rules)
    weight = check_weight(weight_used_kg, weight_now_kg, rules) if weight_used_kg is not None else None
    weight_kg = float(weight.weight_for_dose if weight is not None else weight_now_kg)
    if on_cardiac_hold:
        reasons = (Message(gettext_noop("no dose: the subject is on cardiac hold")), interval.explanation)
        return DoseProposal(on, None, None, weight_kg, None, None, interval, weight, reasons)
    kind: DoseKind
    if interval.status == "first":
        kind = "loading"
        decided = Message(gettext_noop("loading: first dose"))
    elif interval.status == "missed":
        kind = "loading"
        decided = Message(
            gettext_noop("loading: %(days)d days since the last dose, more than %(limit)d"),
            days=interval.days_since,
            limit=rules.reload_after_days,
        )
    else:
        kind = "maintenance"
        if interval.status == "late":
            decided = Message(
                gettext_noop(
                    "maintenance: %(days)d days since the last dose, a late dose (more than %(limit)d)"
                ),
                days=interval.days_since,
                limit=rules.timing.late_after_days,
            )
        elif interval.status == "too_early":
            decided = Message(
                gettext_noop(
                    "maintenance: %(days)d days since the last dose, too early (fewer than %(limit)d)"
                ),
                days=interval.days_since,
                limit=rules.timing.minimum_interval_days,
            )
        else:
            decided = Message(
                gettext_noop("maintenance: %(days)d days since the last dose"), days=interval.days_since
            )
    reasons_list = [decided]
    if weight is not None and weight.recompute:
        reasons_list.append(
            Message(
                gettext_noop(
                    "weight %(now)s kg, %(change)s %% from the %(used)s kg used: more than %(limit)s %%, "
                    "the dose is recomputed"
                ),
                now=f"{weight.weight_now_kg:g}",
                change=f"{weight.change_pct:+.1f}",
                used=f"{weight.weight_used_kg:g}",
                limit=f"{weight.threshold_pct:g}",
            )
        )
    mg_per_kg = float(rules.loading_mg_per_kg if kind == "loading" else rules.maintenance_mg_per_kg)
    dose_mg = round_dose(mg_per_kg * weight_kg, rules)
    vials = vials_for(dose_mg, rules)
    reasons_list.append(
        Message(
            gettext_noop(
                "%(mg_per_kg)s mg/kg x %(weight)s kg = %(dose)s mg, %(vials)d vial(s) of %(vial)s mg"
            ),
            mg_per_kg=f"{mg_per_kg:g}",
            weight=f"{weight_kg:g}",
            dose=f"{dose_mg:g}",
            vials=vials,
            vial=f"{rules.preparation.vial_mg:g}",
        )
    )
    return DoseProposal(on, kind, mg_per_kg, weight_kg, dose_mg, vials, interval, weight, tuple(reasons_list))


def weight_range(protocol: Any) -> tuple[float | None, float | None]:
    """The weights a dose may be computed on: the range of the field that records the
    weight used for a dose (concept ``dose_weight``), (None, None) if it has none."""
    try:
        ref = protocol.concept("dose_weight")[0]
    except (KeyError, IndexError):
        return None, None
    field = protocol.form(ref.form).field(ref.field)
    low, high = getattr(field, "min", None), getattr(field, "max", None)
    return (None if low is None else float(low)), (None if high is None else float(high))
