"""simulate_supply: the study drug of a simulated cohort — shipments of lots to the sites,
each simulated infusion drawing its vials from a lot received at its site, the destruction
of expired vials — so that the demo's drug accountability shows real balances.

Pure and deterministic (the seed). The balances follow ``trialdesk.clinical.accountability``
(the same rules refuse a dose on an unknown or expired lot): at each site lots are used
first-expiring-first; at the site treating longest, the first lot expires while patients
are still on treatment, a second shipment arrives before it does, and the vials of the first
lot left at its expiry are destroyed. The vials of a dose are those its record carries, else
``clinical.dosing.vials_for`` of the dose given.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from trialdesk.clinical.accountability import Dispensing, Disposal, Receipt, dispensing_problem, lot_balances
from trialdesk.clinical.dosing import vials_for
from trialdesk.simulate.model import SimulatedCohort, SimulatedDisposal, SimulatedRecord, SimulatedShipment

D = dt.timedelta

#: vials a site holds beyond what its patients will use (a broken vial, a re-prepared dose)
SPARE_VIALS = 6
#: shelf life left on a lot when it reaches a site that will not see it expire (at least; and
#: at least this long again after the site's last dose from it)
LONG_SHELF_LIFE_DAYS = 720
SHELF_LIFE_AFTER_LAST_USE_DAYS = 180
#: a replacement lot arrives this long before the lot in use expires
RESUPPLY_BEFORE_EXPIRY_DAYS = 10
#: expired vials are destroyed (with the site's pharmacist's record) this long after the expiry
DESTROYED_AFTER_EXPIRY_DAYS = 3
#: a lot is delivered this long before the site's first dose (at the latest)
DELIVERED_BEFORE_FIRST_DOSE_DAYS = 7


@dataclass
class _Dose:
    subject: int  # index in cohort.subjects
    record: int  # index in that subject's records
    on: dt.date
    vials: int
    lot: str = ""


def _long_expiry(received: dt.date, doses: list[_Dose]) -> dt.date:
    last_use = max((d.on for d in doses), default=received)
    return max(received + D(days=LONG_SHELF_LIFE_DAYS), last_use + D(days=SHELF_LIFE_AFTER_LAST_USE_DAYS))


def _lot_number(rng: random.Random, used: set[str]) -> str:
    while True:
        lot = f"{rng.choice('HNT')}{rng.randint(1000, 9999)}{rng.choice('ABCDEF')}{rng.randint(1, 9):02d}"
        if lot not in used:
            used.add(lot)
            return lot


def simulate_supply(
    protocol: Any, cohort: SimulatedCohort, *, seed: int, today: dt.date | None = None
) -> SimulatedCohort:
    """``cohort`` with its shipments and disposals, its dosing records carrying their lot and
    vials; ``today`` (the cut-off) bounds every date (default: four weeks after the last dose).
    A protocol that records no lot (concepts ``dose_lot`` and ``dose_vials``) gets no supply."""
    if not (protocol.has_concept("dose_lot") and protocol.has_concept("dose_vials")):
        return cohort
    form = protocol.concept_form("dose_lot")
    try:
        rules = protocol.dose_rules
    except KeyError:
        rules = None
    doses_by_site: dict[str, list[_Dose]] = defaultdict(list)
    for i, subject in enumerate(cohort.subjects):
        for j, rec in enumerate(subject.records):
            if rec.form_code != form:
                continue
            on = protocol.read_concept("dose_date", form, rec.data)
            vials = protocol.read_concept("dose_vials", form, rec.data)
            if vials is None and rules is not None:
                given = protocol.read_concept("dose_given", form, rec.data)
                vials = vials_for(float(given), rules) if given else None
            if on is None or not vials:
                continue
            doses_by_site[subject.site_code].append(_Dose(i, j, on, int(vials)))
    if not doses_by_site:
        return cohort
    last_dose = max(d.on for doses in doses_by_site.values() for d in doses)
    today = today or last_dose + D(days=28)
    rng = random.Random(f"trialdesk.simulate:{seed}:supply")
    used: set[str] = set()
    # the site treating longest sees its first lot expire during the trial
    spans = {
        code: max(d.on for d in doses) - min(d.on for d in doses) for code, doses in doses_by_site.items()
    }
    expiring_site = max(sorted(spans), key=lambda code: spans[code])
    shipments: list[SimulatedShipment] = []
    disposals: list[SimulatedDisposal] = []
    for code in sorted(doses_by_site):
        doses = sorted(doses_by_site[code], key=lambda d: (d.on, d.subject, d.record))
        first, last = doses[0].on, doses[-1].on
        activated = cohort.site_activation.get(code, first)
        # delivered at the site's activation, a few weeks before its first dose at most
        received = min(max(activated, first - D(days=4 * DELIVERED_BEFORE_FIRST_DOSE_DAYS)), first)
        expiry = None
        if code == expiring_site and spans[code] >= D(days=21):
            expiry = first + (last - first) / 2
        if expiry is None:
            lot = _lot_number(rng, used)
            for dose in doses:
                dose.lot = lot
            total = sum(d.vials for d in doses)
            shipments.append(
                SimulatedShipment(code, lot, received, total + SPARE_VIALS, _long_expiry(received, doses))
            )
            continue
        first_lot, second_lot = _lot_number(rng, used), _lot_number(rng, used)
        before = [d for d in doses if d.on <= expiry]
        after = [d for d in doses if d.on > expiry]
        for dose in before:
            dose.lot = first_lot
        for dose in after:
            dose.lot = second_lot
        leftover = SPARE_VIALS // 2
        shipments.append(
            SimulatedShipment(code, first_lot, received, sum(d.vials for d in before) + leftover, expiry)
        )
        resupplied = max(expiry - D(days=RESUPPLY_BEFORE_EXPIRY_DAYS), received)
        shipments.append(
            SimulatedShipment(
                code,
                second_lot,
                resupplied,
                sum(d.vials for d in after) + SPARE_VIALS,
                _long_expiry(resupplied, after),
            )
        )
        destroyed_on = expiry + D(days=DESTROYED_AFTER_EXPIRY_DAYS)
        if destroyed_on <= today:
            disposals.append(
                SimulatedDisposal(
                    code,
                    first_lot,
                    destroyed_on,
                    leftover,
                    "destroyed",
                    "Expired vials destroyed by the hospital pharmacy",
                )
            )
    dispensed = [d for doses in doses_by_site.values() for d in doses]
    _check(shipments, disposals, dispensed, cohort)
    with_lots = _with_lots(protocol, form, cohort, dispensed)
    return replace(with_lots, shipments=tuple(shipments), disposals=tuple(disposals))


def _check(shipments, disposals, doses: list[_Dose], cohort: SimulatedCohort) -> None:
    """Every dose passes the rule the infusion save applies, in the order the doses happen."""
    for code in {s.site_code for s in shipments}:
        receipts = [
            Receipt(s.lot, s.received_on, s.vials, s.expires_on) for s in shipments if s.site_code == code
        ]
        gone = [Disposal(x.lot, x.on, x.vials, x.kind) for x in disposals if x.site_code == code]  # type: ignore[arg-type]
        drawn: list[Dispensing] = []
        for dose in sorted(
            (d for d in doses if cohort.subjects[d.subject].site_code == code), key=lambda d: d.on
        ):
            problem = dispensing_problem(dose.lot, dose.on, dose.vials, lot_balances(receipts, drawn, gone))
            assert problem is None, f"simulated supply at {code}: {problem}"
            drawn.append(Dispensing(dose.lot, dose.on, dose.vials))
        assert all(b.balance >= 0 for b in lot_balances(receipts, drawn, gone).values())


def _with_lots(protocol: Any, form: str, cohort: SimulatedCohort, doses: list[_Dose]) -> SimulatedCohort:
    by_subject: dict[int, dict[int, _Dose]] = defaultdict(dict)
    for dose in doses:
        by_subject[dose.subject][dose.record] = dose
    subjects = list(cohort.subjects)
    for i, doses_of in by_subject.items():
        records: list[SimulatedRecord] = list(subjects[i].records)
        for j, dose in doses_of.items():
            extra = protocol.concept_data(form, {"dose_lot": dose.lot, "dose_vials": dose.vials})
            records[j] = replace(records[j], data={**records[j].data, **extra})
        subjects[i] = replace(subjects[i], records=tuple(records))
    return replace(cohort, subjects=tuple(subjects))
