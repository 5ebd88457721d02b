"""The accountability of a study's sites as plain data: for the pages, the CSV and the exports.

``accountability_data(study, site_ids)`` reads, in a constant number of queries whatever
the number of sites, lots and infusions, every movement of the sites asked for and returns
frozen dataclasses (``SiteAccountability`` with its ``LotRow`` s); ``export_rows`` flattens
them into one plain dict per site and lot. The caller decides which sites the reader may see
(``access.site_ids``): these functions read system-level after that decision.

Vials dispensed are the non-voided records of the form that records the concepts
``dose_lot`` and ``dose_vials`` (the infusion form), at the subject's site.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from trialdesk.clinical.accountability import Dispensing, Disposal, LotBalance, Receipt, lot_balances
from trialdesk.crf.models import FormRecord
from trialdesk.pharmacy import models as m
from trialdesk.studies.models import Site, Study
from trialdesk.studies.pseudonymisation import MASK

WHY = "drug accountability, for the sites the caller may see"


@dataclass(frozen=True)
class ShipmentRow:
    pk: int
    lot: str
    received_on: dt.date
    vials: int
    expires_on: dt.date
    received_by: str
    comment: str


@dataclass(frozen=True)
class DispensingRow:
    subject_id: int
    subject: str
    repeat: int
    on: dt.date | None
    lot: str
    vials: int


@dataclass(frozen=True)
class DisposalRow:
    pk: int
    lot: str
    kind: str
    on: dt.date
    vials: int
    reason: str
    recorded_by: str


@dataclass(frozen=True)
class VerificationRow:
    pk: int
    verified_on: dt.date
    verified_at: dt.datetime
    balance: int
    lots: dict
    comment: str
    verified_by: str


@dataclass(frozen=True)
class LotRow:
    lot: str
    expires_on: dt.date | None
    first_received_on: dt.date | None
    received: int
    dispensed: int
    returned: int
    destroyed: int
    balance: int
    expired: bool  # on the site's today


@dataclass(frozen=True)
class SiteAccountability:
    site_id: int
    site_code: str
    site_name: str
    as_of: dt.date  # the site's today
    lots: tuple[LotRow, ...]
    shipments: tuple[ShipmentRow, ...]
    dispensings: tuple[DispensingRow, ...]
    disposals: tuple[DisposalRow, ...]
    verifications: tuple[VerificationRow, ...]
    #: whether anything moved (a shipment, a dispensing, a return or destruction, an
    #: infusion corrected or voided) since the last verification; None: never verified
    moved_since_verification: bool | None

    @property
    def received(self) -> int:
        return sum(lot.received for lot in self.lots)

    @property
    def dispensed(self) -> int:
        return sum(lot.dispensed for lot in self.lots)

    @property
    def returned(self) -> int:
        return sum(lot.returned for lot in self.lots)

    @property
    def destroyed(self) -> int:
        return sum(lot.destroyed for lot in self.lots)

    @property
    def balance(self) -> int:
        return sum(lot.balance for lot in self.lots)

    @property
    def usable(self) -> int:
        """Vials in stock that are not expired today."""
        return sum(lot.balance for lot in self.lots if not lot.expired)

    @property
    def next_expiry(self) -> LotRow | None:
        """The lot in stock (not expired, vials left) that expires first."""
        in_stock = [lot for lot in self.lots if lot.balance > 0 and not lot.expired and lot.expires_on]
        return min(in_stock, key=lambda lot: lot.expires_on) if in_stock else None

    @property
    def last_verification(self) -> VerificationRow | None:
        return self.verifications[-1] if self.verifications else None

    def lot_figures(self) -> dict[str, dict[str, int]]:
        """What a verification keeps of what it saw."""
        return {
            lot.lot: {
                "received": lot.received,
                "dispensed": lot.dispensed,
                "returned": lot.returned,
                "destroyed": lot.destroyed,
                "balance": lot.balance,
            }
            for lot in self.lots
        }


def dose_fields(protocol) -> tuple[str, str, str, str] | None:
    """(form, date field, lot field, vials field) of the protocol's dosing record, or None
    when the protocol records no lot."""
    if not (protocol.has_concept("dose_lot") and protocol.has_concept("dose_vials")):
        return None
    form = protocol.concept_form("dose_lot")
    lot = protocol.concept_field("dose_lot", form)
    vials = protocol.concept_field("dose_vials", form)
    date = protocol.concept_field("dose_date", form) if protocol.has_concept("dose_date") else None
    if lot is None or vials is None:
        return None
    return form, date or "", lot, vials


def as_date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _vials(value) -> int:
    try:
        return max(int(value), 0) if value is not None and value != "" else 0
    except (TypeError, ValueError):
        return 0


def _name(user_id: int | None, names: dict[int, str]) -> str:
    return names.get(user_id, "") if user_id is not None else ""


def site_dispensings(site: Site, *, exclude_record_id: int | None = None) -> list[Dispensing]:
    """The vials dispensed at a site (the non-voided dosing records), for a balance check."""
    fields = dose_fields(site.study.protocol)
    if fields is None:
        return []
    form, date_field, lot_field, vials_field = fields
    records = FormRecord.objects.system(WHY).filter(
        subject__site=site, form_code=form, voided_at__isnull=True
    )
    if exclude_record_id is not None:
        records = records.exclude(pk=exclude_record_id)
    out = []
    for data in records.values_list("data", flat=True):
        lot = (data.get(lot_field) or "").strip() if isinstance(data.get(lot_field), str) else ""
        if lot:
            out.append(
                Dispensing(lot, as_date(data.get(date_field)) or dt.date.min, _vials(data.get(vials_field)))
            )
    return out


def site_balances(site: Site, *, exclude_record_id: int | None = None) -> dict[str, LotBalance]:
    """Each lot's figures at a site, now (system read: the caller has checked access)."""
    receipts = [
        Receipt(lot, on, vials, expires)
        for lot, on, vials, expires in m.Shipment.objects.system(WHY)
        .filter(site=site)
        .values_list("lot_number", "received_on", "vials", "expires_on")
    ]
    disposals = [
        Disposal(lot, on, vials, kind)
        for lot, on, vials, kind in m.Disposal.objects.system(WHY)
        .filter(site=site)
        .values_list("lot_number", "on", "vials", "kind")
    ]
    return lot_balances(receipts, site_dispensings(site, exclude_record_id=exclude_record_id), disposals)


def accountability_data(
    study: Study, site_ids: Iterable[int] | None = None, *, pseudonymised: bool = False
) -> list[SiteAccountability]:
    """The accountability of the study's sites (all, or those of ``site_ids``), in site order.

    ``pseudonymised``: the free text of the sites (comments, reasons) and the names of the
    people are left out, as a pseudonymised reader gets them."""
    from django.contrib.auth import get_user_model

    sites = list(Site.objects.filter(study=study).order_by("code"))
    if site_ids is not None:
        wanted = set(site_ids)
        sites = [s for s in sites if s.pk in wanted]
    ids = [s.pk for s in sites]
    shipments = list(m.Shipment.objects.system(WHY).filter(site_id__in=ids).order_by("received_on", "pk"))
    disposals = list(m.Disposal.objects.system(WHY).filter(site_id__in=ids).order_by("on", "pk"))
    verifications = list(
        m.Verification.objects.system(WHY).filter(site_id__in=ids).order_by("verified_at", "pk")
    )
    fields = dose_fields(study.protocol)
    records: list[tuple] = []
    if fields is not None:
        records = list(
            FormRecord.objects.system(WHY)
            .filter(subject__site_id__in=ids, form_code=fields[0])
            .values_list(
                "subject__site_id",
                "subject_id",
                "subject__subject_code",
                "subject__screening_number",
                "repeat",
                "data",
                "voided_at",
                "updated_at",
            )
            .order_by("subject__subject_code", "repeat")
        )
    user_ids = {s.received_by_id for s in shipments} | {d.recorded_by_id for d in disposals}
    user_ids |= {v.verified_by_id for v in verifications}
    names = {}
    if not pseudonymised:
        for pk, first, last, username in (
            get_user_model()
            .objects.filter(pk__in=user_ids)
            .values_list("pk", "first_name", "last_name", "username")
        ):
            names[pk] = f"{first} {last}".strip() or username

    def text(value: str) -> str:
        return "" if pseudonymised else value

    out = []
    for site in sites:
        today = site.today()
        site_shipments = [s for s in shipments if s.site_id == site.pk]
        site_disposals = [d for d in disposals if d.site_id == site.pk]
        site_verifications = [v for v in verifications if v.site_id == site.pk]
        received_lots = {s.lot_number for s in site_shipments}
        dispensing_rows = []
        last_record_change = None
        for site_id, subject_id, code, number, repeat, data, voided_at, updated_at in records:
            if site_id != site.pk:
                continue
            _form, date_field, lot_field, vials_field = fields  # type: ignore[misc]
            lot = data.get(lot_field)
            lot = lot.strip() if isinstance(lot, str) else ""
            if not lot:
                continue
            changed = max(t for t in (voided_at, updated_at) if t is not None)
            last_record_change = changed if last_record_change is None else max(last_record_change, changed)
            if voided_at is not None:
                continue
            if pseudonymised and lot not in received_lots:
                # not a lot of the ledger: the site's own words, which a pseudonymised reader never reads
                lot = MASK
            dispensing_rows.append(
                DispensingRow(
                    subject_id,
                    code or number,
                    repeat,
                    as_date(data.get(date_field)),
                    lot,
                    _vials(data.get(vials_field)),
                )
            )
        balances = lot_balances(
            [Receipt(s.lot_number, s.received_on, s.vials, s.expires_on) for s in site_shipments],
            [Dispensing(d.lot, d.on or dt.date.min, d.vials) for d in dispensing_rows],
            [Disposal(d.lot_number, d.on, d.vials, d.kind) for d in site_disposals],
        )
        lots = tuple(
            LotRow(
                lot=b.lot,
                expires_on=b.expires_on,
                first_received_on=b.first_received_on,
                received=b.received,
                dispensed=b.dispensed,
                returned=b.returned,
                destroyed=b.destroyed,
                balance=b.balance,
                expired=b.expired_on(today),
            )
            for b in balances.values()
        )
        moved = None
        if site_verifications:
            last = site_verifications[-1].verified_at
            moments = [s.recorded_at for s in site_shipments] + [d.recorded_at for d in site_disposals]
            if last_record_change is not None:
                moments.append(last_record_change)
            moved = any(moment > last for moment in moments)
        out.append(
            SiteAccountability(
                site_id=site.pk,
                site_code=site.code,
                site_name=site.name,
                as_of=today,
                lots=lots,
                shipments=tuple(
                    ShipmentRow(
                        s.pk,
                        s.lot_number,
                        s.received_on,
                        s.vials,
                        s.expires_on,
                        _name(s.received_by_id, names),
                        text(s.comment),
                    )
                    for s in site_shipments
                ),
                dispensings=tuple(dispensing_rows),
                disposals=tuple(
                    DisposalRow(
                        d.pk,
                        d.lot_number,
                        d.kind,
                        d.on,
                        d.vials,
                        text(d.reason),
                        _name(d.recorded_by_id, names),
                    )
                    for d in site_disposals
                ),
                verifications=tuple(
                    VerificationRow(
                        v.pk,
                        v.verified_on,
                        v.verified_at,
                        v.balance,
                        dict(v.lots),
                        text(v.comment),
                        _name(v.verified_by_id, names),
                    )
                    for v in site_verifications
                ),
                moved_since_verification=moved,
            )
        )
    return out


EXPORT_COLUMNS = (
    "site",
    "lot",
    "expires_on",
    "first_received_on",
    "received",
    "dispensed",
    "returned",
    "destroyed",
    "balance",
    "expired",
    "as_of",
    "last_verified_on",
    "last_verified_balance",
    "moved_since_verification",
)


def export_rows(accountability: Iterable[SiteAccountability]) -> list[dict]:
    """One plain dict per site and lot (``EXPORT_COLUMNS``; dates as ISO strings), for the
    exports and the CSV."""
    rows = []
    for site in accountability:
        last = site.last_verification
        for lot in site.lots:
            row = asdict(lot)
            rows.append(
                {
                    "site": site.site_code,
                    "lot": row["lot"],
                    "expires_on": lot.expires_on.isoformat() if lot.expires_on else "",
                    "first_received_on": lot.first_received_on.isoformat() if lot.first_received_on else "",
                    "received": lot.received,
                    "dispensed": lot.dispensed,
                    "returned": lot.returned,
                    "destroyed": lot.destroyed,
                    "balance": lot.balance,
                    "expired": lot.expired,
                    "as_of": site.as_of.isoformat(),
                    "last_verified_on": last.verified_on.isoformat() if last else "",
                    "last_verified_balance": last.lots.get(lot.lot, {}).get("balance", "") if last else "",
                    "moved_since_verification": site.moved_since_verification,
                }
            )
    return rows
