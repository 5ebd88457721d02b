"""Drug accountability at a site (ICH E6 4.6): what was received, dispensed, returned and
destroyed, lot by lot, and whether a dispensing may draw on a lot.

Plain values in, plain values out: the pharmacy app (the site's page, the infusion save),
the simulator (the demo's shipments) and the exports all call these functions.

- The **balance** of a lot is received − dispensed − returned − destroyed; it never goes
  below zero: a movement that would make it negative is refused.
- A lot is **expired** on a day after its expiry date (a vial may be used up to and including
  the date printed on it).
- A dispensing draws on a lot *received at the site* (an unknown lot is refused), received
  on or before the day of the dose, not expired on that day, with enough vials left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DISPOSAL_KINDS",
    "Dispensing",
    "DispensingProblem",
    "Disposal",
    "LotBalance",
    "Receipt",
    "dispensing_problem",
    "disposal_problem",
    "is_expired",
    "lot_balances",
    "site_balance",
]

DisposalKind = Literal["returned", "destroyed"]
DISPOSAL_KINDS: tuple[DisposalKind, ...] = ("returned", "destroyed")


@dataclass(frozen=True)
class Receipt:
    """Vials of one lot received at the site (one shipment)."""

    lot: str
    received_on: dt.date
    vials: int
    expires_on: dt.date


@dataclass(frozen=True)
class Dispensing:
    """Vials of one lot used for one dose."""

    lot: str
    on: dt.date
    vials: int


@dataclass(frozen=True)
class Disposal:
    """Vials of one lot sent back to the sponsor (``returned``) or destroyed at the site."""

    lot: str
    on: dt.date
    vials: int
    kind: DisposalKind


@dataclass(frozen=True)
class LotBalance:
    lot: str
    #: None for a lot dispensed but never received (data entered before the check existed)
    expires_on: dt.date | None
    first_received_on: dt.date | None
    received: int
    dispensed: int
    returned: int
    destroyed: int

    @property
    def balance(self) -> int:
        return self.received - self.dispensed - self.returned - self.destroyed

    def expired_on(self, day: dt.date) -> bool:
        return self.expires_on is not None and is_expired(self.expires_on, day)


def is_expired(expires_on: dt.date, day: dt.date) -> bool:
    """A vial is usable up to and including its expiry date."""
    return day > expires_on


def lot_balances(
    receipts: Iterable[Receipt], dispensings: Iterable[Dispensing] = (), disposals: Iterable[Disposal] = ()
) -> dict[str, LotBalance]:
    """Each lot's figures, by lot number (in order of first receipt, then unknown lots)."""
    received: dict[str, int] = {}
    first: dict[str, dt.date] = {}
    expiry: dict[str, dt.date] = {}
    for r in sorted(receipts, key=lambda r: (r.received_on, r.lot)):
        received[r.lot] = received.get(r.lot, 0) + r.vials
        first.setdefault(r.lot, r.received_on)
        expiry.setdefault(r.lot, r.expires_on)
    dispensed: dict[str, int] = {}
    for d in dispensings:
        dispensed[d.lot] = dispensed.get(d.lot, 0) + d.vials
    gone: dict[tuple[str, str], int] = {}
    for x in disposals:
        gone[(x.lot, x.kind)] = gone.get((x.lot, x.kind), 0) + x.vials
    lots = list(received) + sorted(
        {lot for lot in dispensed if lot not in received} | {lot for lot, _ in gone if lot not in received}
    )
    return {
        lot: LotBalance(
            lot=lot,
            expires_on=expiry.get(lot),
            first_received_on=first.get(lot),
            received=received.get(lot, 0),
            dispensed=dispensed.get(lot, 0),
            returned=gone.get((lot, "returned"), 0),
            destroyed=gone.get((lot, "destroyed"), 0),
        )
        for lot in lots
    }


def site_balance(balances: Iterable[LotBalance]) -> int:
    return sum(b.balance for b in balances)


ProblemKind = Literal["unknown_lot", "not_yet_received", "expired", "insufficient", "no_vials"]


@dataclass(frozen=True)
class DispensingProblem:
    """Why a movement cannot draw on a lot: ``kind`` and the figures that decided it."""

    kind: ProblemKind
    lot: str
    on: dt.date
    vials: int
    balance: int = 0
    expires_on: dt.date | None = None
    received_on: dt.date | None = None


def dispensing_problem(
    lot: str, on: dt.date, vials: int, balances: dict[str, LotBalance]
) -> DispensingProblem | None:
    """Whether ``vials`` of ``lot`` may be dispensed on ``on``, given the lot's figures
    *without* this dispensing; None when they may."""
    held = balances.get(lot)
    if held is None or held.received == 0:
        return DispensingProblem("unknown_lot", lot, on, vials)
    if vials < 1:
        return DispensingProblem("no_vials", lot, on, vials, balance=held.balance)
    if held.first_received_on is not None and on < held.first_received_on:
        return DispensingProblem("not_yet_received", lot, on, vials, received_on=held.first_received_on)
    if held.expired_on(on):
        return DispensingProblem("expired", lot, on, vials, expires_on=held.expires_on)
    if vials > held.balance:
        return DispensingProblem("insufficient", lot, on, vials, balance=held.balance)
    return None


def disposal_problem(
    lot: str, on: dt.date, vials: int, balances: dict[str, LotBalance]
) -> DispensingProblem | None:
    """Whether ``vials`` of ``lot`` may be returned or destroyed on ``on`` (an expired lot
    may: that is what happens to it)."""
    held = balances.get(lot)
    if held is None or held.received == 0:
        return DispensingProblem("unknown_lot", lot, on, vials)
    if vials < 1:
        return DispensingProblem("no_vials", lot, on, vials, balance=held.balance)
    if held.first_received_on is not None and on < held.first_received_on:
        return DispensingProblem("not_yet_received", lot, on, vials, received_on=held.first_received_on)
    if vials > held.balance:
        return DispensingProblem("insufficient", lot, on, vials, balance=held.balance)
    return None
