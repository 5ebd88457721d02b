"""Transfusion needs of one subject (pure; DESIGN §4, the ``transfusion_needs`` endpoint).

- **before treatment**: the units given in the ``period_days`` (28) days before the first
  dose (the first dose's day excluded), per ``period_days``;
- **on treatment**: from the first dose to the last dose + ``on_treatment_tail_days`` (7),
  inclusive (up to ``as_of`` while treatment goes on), the units per ``period_days``;
- **transfusion independence**: on treatment, a run of at least ``independence_days`` (56)
  consecutive days without any transfusion.

The settings are the endpoint's ``parameters`` in the protocol (:func:`settings_of`). A
transfusion is read from a record through the concepts (``transfused_on``,
``transfused_units``, ``red_cell_transfusion``, ``platelet_transfusion``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trialdesk.protocol.model import Protocol

__all__ = [
    "PeriodUse",
    "Product",
    "Transfusion",
    "TransfusionNeeds",
    "TransfusionSettings",
    "settings_of",
    "transfusion_needs",
]


class Product(StrEnum):
    RED_CELLS = "red_cell"
    PLATELETS = "platelet"


_PRODUCT_CONCEPTS = {"red_cell_transfusion": Product.RED_CELLS, "platelet_transfusion": Product.PLATELETS}


@dataclass(frozen=True)
class Transfusion:
    on: dt.date
    product: Product | None  # None: a product the protocol maps to neither concept
    units: int

    @classmethod
    def from_record(cls, protocol: Protocol, form: str, data: Mapping[str, Any]) -> Transfusion | None:
        """The transfusion one record of ``form`` holds (None without a date)."""
        on = protocol.read_concept("transfused_on", form, data)
        if isinstance(on, str):
            on = dt.date.fromisoformat(on)
        if on is None:
            return None
        product = None
        for concept, kind in _PRODUCT_CONCEPTS.items():
            if protocol.has_concept(concept) and protocol.read_concept(concept, form, data):
                product = kind
        units = protocol.read_concept("transfused_units", form, data)
        return cls(on=on, product=product, units=int(units or 0))


@dataclass(frozen=True)
class TransfusionSettings:
    period_days: int = 28
    independence_days: int = 56
    on_treatment_tail_days: int = 7


def settings_of(protocol: Protocol) -> TransfusionSettings:
    """The settings of the protocol's ``transfusion_needs`` endpoint (the defaults without one)."""
    for endpoint in protocol.endpoints:
        if endpoint.derivation == "transfusion_needs":
            p = endpoint.parameters
            defaults = TransfusionSettings()
            return TransfusionSettings(
                period_days=int(p.get("period_days", defaults.period_days)),
                independence_days=int(p.get("independence_days", defaults.independence_days)),
                on_treatment_tail_days=int(p.get("on_treatment_tail_days", defaults.on_treatment_tail_days)),
            )
    return TransfusionSettings()


@dataclass(frozen=True)
class PeriodUse:
    """The units of one period (``start`` to ``end`` inclusive)."""

    start: dt.date
    end: dt.date
    units: dict[Product, int]
    period_days: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def total_units(self) -> int:
        return sum(self.units.values())

    def per_period(self, product: Product | None = None) -> float:
        """Units per ``period_days`` (all products when ``product`` is None)."""
        units = self.total_units if product is None else self.units.get(product, 0)
        return units * self.period_days / self.days

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "unit_counts": {p.value: self.units.get(p, 0) for p in Product},
            "units_per_period": {p.value: round(self.per_period(p), 2) for p in Product},
        }


@dataclass(frozen=True)
class TransfusionNeeds:
    settings: TransfusionSettings
    before: PeriodUse | None  # None: no first dose yet
    on_treatment: PeriodUse | None  # None: no first dose yet, or no day of treatment yet
    #: the longest run of days without a transfusion on treatment, and the day it starts
    longest_free_days: int | None
    longest_free_from: dt.date | None

    @property
    def independent(self) -> bool | None:
        """Transfusion independence on treatment (None: not assessable, no treatment yet)."""
        if self.longest_free_days is None or self.on_treatment is None:
            return None
        if self.longest_free_days >= self.settings.independence_days:
            return True
        # too short a time on treatment to have gone that long without one: not yet known
        return None if self.on_treatment.days < self.settings.independence_days else False

    @property
    def dependent_before(self) -> bool | None:
        return None if self.before is None else self.before.total_units > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": None if self.before is None else self.before.as_dict(),
            "on_treatment": None if self.on_treatment is None else self.on_treatment.as_dict(),
            "longest_free_days": self.longest_free_days,
            "longest_free_from": None
            if self.longest_free_from is None
            else self.longest_free_from.isoformat(),
            "independent": self.independent,
            "dependent_before": self.dependent_before,
            "period_days": self.settings.period_days,
            "independence_days": self.settings.independence_days,
        }


def _use(transfusions: list[Transfusion], start: dt.date, end: dt.date, period_days: int) -> PeriodUse:
    units: dict[Product, int] = {}
    for t in transfusions:
        if start <= t.on <= end and t.product is not None:
            units[t.product] = units.get(t.product, 0) + t.units
    return PeriodUse(start, end, units, period_days)


def transfusion_needs(
    transfusions: Iterable[Transfusion],
    first_dose: dt.date | None,
    last_dose: dt.date | None,
    *,
    settings: TransfusionSettings | None = None,
    as_of: dt.date | None = None,
) -> TransfusionNeeds:
    """The subject's transfusion needs. ``last_dose``: None while treatment goes on (the
    period then ends ``as_of``); ``as_of`` also cuts a period that would end later."""
    s = settings or TransfusionSettings()
    given = sorted((t for t in transfusions if t.units > 0), key=lambda t: t.on)
    if first_dose is None:
        return TransfusionNeeds(s, None, None, None, None)
    before = _use(
        given, first_dose - dt.timedelta(days=s.period_days), first_dose - dt.timedelta(days=1), s.period_days
    )
    end = last_dose + dt.timedelta(days=s.on_treatment_tail_days) if last_dose is not None else as_of
    if end is not None and as_of is not None:
        end = min(end, as_of)
    if end is None or end < first_dose:
        return TransfusionNeeds(s, before, None, None, None)
    on_treatment = _use(given, first_dose, end, s.period_days)
    # the runs of days without a transfusion, between the period's start, each day with
    # one, and the period's end
    days = sorted({t.on for t in given if first_dose <= t.on <= end})
    longest, longest_from = -1, first_dose
    free_from = first_dose
    for day in days:
        run = (day - free_from).days
        if run > longest:
            longest, longest_from = run, free_from
        free_from = day + dt.timedelta(days=1)
    run = (end - free_from).days + 1
    if run > longest:
        longest, longest_from = run, free_from
    longest = max(longest, 0)
    return TransfusionNeeds(s, before, on_treatment, longest, longest_from if longest > 0 else None)
