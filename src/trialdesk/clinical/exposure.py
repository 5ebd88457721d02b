"""Exposure to the study drug, from plain dose values (pure): per subject and overall.

- doses given, cumulative dose in mg and in mg/kg (each dose over the weight it was
  computed on);
- duration on treatment: first dose to last dose, plus one dosing interval (the last
  dose covers the week after it);
- dose intensity: mg/kg received over mg/kg planned for that duration — the loading dose,
  then the maintenance dose for each interval after it (4 mg/kg, then 2 mg/kg a week, in
  NCT00724360's protocol);
- delays (late and missed doses, as ``dosing.classify_interval`` says), reloads (loading
  doses after the first), cardiac holds.

The casebook shows it; the report and the exports read it as plain data (``as_dict``).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from trialdesk.clinical.dosing import classify_interval

__all__ = ["DoseValue", "Exposure", "ExposureSummary", "exposure", "summarise"]


@dataclass(frozen=True)
class DoseValue:
    """One dose given, as its record states it."""

    given_on: dt.date
    given_mg: float | None
    weight_kg: float | None = None  # the weight the dose was computed on
    prescribed_mg: float | None = None
    loading: bool | None = None
    ref: str = ""  # the record's stable identity (``infusion#3``)

    @property
    def mg_per_kg(self) -> float | None:
        if self.given_mg is None or not self.weight_kg:
            return None
        return self.given_mg / self.weight_kg


@dataclass(frozen=True)
class Exposure:
    doses: int
    first_dose_on: dt.date | None
    last_dose_on: dt.date | None
    cumulative_mg: float
    cumulative_mg_per_kg: float
    duration_days: int  # first dose to last dose + one interval; 0 without a dose
    planned_mg_per_kg: float
    dose_intensity: float | None  # received / planned mg/kg; None without a dose
    late_doses: int
    missed_doses: int
    reloads: int
    holds: int
    #: doses whose mg or weight is not recorded: left out of the mg and mg/kg sums
    incomplete_doses: int = 0

    @property
    def duration_weeks(self) -> float:
        return self.duration_days / 7

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        for name in ("first_dose_on", "last_dose_on"):
            values[name] = values[name].isoformat() if values[name] else None
        return values


def exposure(rules: Any, doses: Iterable[DoseValue], *, holds: int = 0) -> Exposure:
    """The exposure of one subject from the doses given (voided records left out by the caller)."""
    given = sorted(doses, key=lambda d: (d.given_on, d.ref))
    if not given:
        return Exposure(0, None, None, 0.0, 0.0, 0, 0.0, None, 0, 0, 0, holds)
    mg = [d.given_mg for d in given if d.given_mg is not None]
    per_kg = [d.mg_per_kg for d in given if d.mg_per_kg is not None]
    incomplete = sum(1 for d in given if d.mg_per_kg is None)
    late = missed = 0
    for previous, dose in zip(given, given[1:], strict=False):
        status = classify_interval(previous.given_on, dose.given_on, rules).status
        late += status == "late"
        missed += status == "missed"
    reloads = sum(1 for d in given[1:] if d.loading)
    first, last = given[0].given_on, given[-1].given_on
    duration = (last - first).days + rules.interval_days
    intervals_after_loading = duration / rules.interval_days - 1
    planned = rules.loading_mg_per_kg + rules.maintenance_mg_per_kg * intervals_after_loading
    received = sum(per_kg)
    return Exposure(
        doses=len(given),
        first_dose_on=first,
        last_dose_on=last,
        cumulative_mg=float(sum(mg)),
        cumulative_mg_per_kg=float(received),
        duration_days=duration,
        planned_mg_per_kg=float(planned),
        dose_intensity=received / planned if planned > 0 else None,
        late_doses=late,
        missed_doses=missed,
        reloads=reloads,
        holds=holds,
        incomplete_doses=incomplete,
    )


@dataclass(frozen=True)
class ExposureSummary:
    """The exposure of a group of subjects (those with at least one dose)."""

    subjects: int
    doses: int
    cumulative_mg: float
    median_duration_days: float | None
    median_dose_intensity: float | None
    late_doses: int
    missed_doses: int
    reloads: int
    holds: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarise(exposures: Iterable[Exposure]) -> ExposureSummary:
    treated = [e for e in exposures if e.doses]
    intensities = [e.dose_intensity for e in treated if e.dose_intensity is not None]
    return ExposureSummary(
        subjects=len(treated),
        doses=sum(e.doses for e in treated),
        cumulative_mg=float(sum(e.cumulative_mg for e in treated)),
        median_duration_days=statistics.median(e.duration_days for e in treated) if treated else None,
        median_dose_intensity=statistics.median(intensities) if intensities else None,
        late_doses=sum(e.late_doses for e in treated),
        missed_doses=sum(e.missed_doses for e in treated),
        reloads=sum(e.reloads for e in treated),
        holds=sum(e.holds for e in treated),
    )
