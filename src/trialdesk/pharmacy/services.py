"""Drug accountability writes: a shipment received, vials returned or destroyed, the
monitor's verification. Each one runs in ``audited()`` (who, when, what), needs its
permission at the site (404 outside the user's sites), and is refused with a message and
nothing written when it would be wrong (a balance below zero, an expired lot received…).

Movements of one site queue on the site's row, so two movements never both draw on the
last vials of a lot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from trialdesk.audit.services import Actor, audited, record
from trialdesk.clinical.accountability import DispensingProblem, disposal_problem
from trialdesk.pharmacy.accountability import accountability_data, site_balances
from trialdesk.pharmacy.models import Disposal, DisposalKind, Shipment, Verification
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.models import Site

LOT_MAX = 40
VIALS_MAX = 10000
TEXT_MAX = 500
COMMENT_MAX = 1000


class SupplyRefused(Exception):
    """A movement refused, nothing written; ``field`` names the input at fault ("" for none)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


def _day(value: dt.date) -> str:
    return date_format(value, "DATE_FORMAT")


def problem_message(problem: DispensingProblem) -> str:
    """A refusal of the core in the user's language."""
    params = {"lot": problem.lot, "vials": problem.vials, "balance": problem.balance}
    if problem.kind == "unknown_lot":
        return _("Lot %(lot)s was never received at this site: check the number on the vial.") % params
    if problem.kind == "not_yet_received":
        return _("Lot %(lot)s was received at this site on %(received)s, after this date.") % {
            **params,
            "received": _day(problem.received_on),
        }
    if problem.kind == "expired":
        return _("Lot %(lot)s expired on %(expiry)s, before this date: it cannot be used.") % {
            **params,
            "expiry": _day(problem.expires_on),
        }
    if problem.kind == "no_vials":
        return _("Give the number of vials (at least 1).")
    return (
        _(
            "Lot %(lot)s has %(balance)d vials left at this site, fewer than the %(vials)d asked: the balance "
            "cannot go below zero."
        )
        % params
    )


def _site_for_update(site: Site) -> Site:
    locked = Site.objects.select_for_update().select_related("study").get(pk=site.pk)
    if locked.locked_at or locked.study.locked_at:
        raise SupplyRefused(_("This site is locked.") if locked.locked_at else _("The study is locked."))
    return locked


def _actor(user, site: Site, permission: Permission) -> Actor:
    access = study_access(user, site.study)
    require(access, permission, site.pk)
    return Actor.for_user(user, access.role_for(permission, site.pk))


def _lot(lot_number: Any) -> str:
    lot = (lot_number or "").strip() if isinstance(lot_number, str) else ""
    if not lot:
        raise SupplyRefused(_("Give the lot number."), "lot_number")
    if len(lot) > LOT_MAX:
        raise SupplyRefused(
            _("The lot number is too long (at most %(max)d characters).") % {"max": LOT_MAX}, "lot_number"
        )
    return lot


def _vials(vials: Any) -> int:
    if isinstance(vials, bool) or not isinstance(vials, int) or vials < 1:
        raise SupplyRefused(_("Give the number of vials (at least 1)."), "vials")
    if vials > VIALS_MAX:
        raise SupplyRefused(_("At most %(max)d vials at a time.") % {"max": VIALS_MAX}, "vials")
    return vials


def _not_future(day: Any, site: Site, field: str) -> dt.date:
    if not isinstance(day, dt.date):
        raise SupplyRefused(_("Give a date."), field)
    if day > site.today():
        raise SupplyRefused(_("This date is in the future at the site."), field)
    return day


def record_shipment(
    user,
    site: Site,
    *,
    lot_number: str,
    vials: int,
    expires_on: dt.date,
    received_on: dt.date,
    comment: str = "",
) -> Shipment:
    """Vials of a lot received at the site (MANAGE_DRUG_SUPPLY there)."""
    actor = _actor(user, site, Permission.MANAGE_DRUG_SUPPLY)
    lot = _lot(lot_number)
    vials = _vials(vials)
    received_on = _not_future(received_on, site, "received_on")
    if not isinstance(expires_on, dt.date):
        raise SupplyRefused(_("Give the expiry date."), "expires_on")
    if expires_on < received_on:
        raise SupplyRefused(
            _("This lot expired before it was received: it cannot be taken into stock."), "expires_on"
        )
    comment = (comment or "").strip()
    if len(comment) > TEXT_MAX:
        raise SupplyRefused(
            _("The comment is too long (at most %(max)d characters).") % {"max": TEXT_MAX}, "comment"
        )
    with audited():
        site = _site_for_update(site)
        earlier = (
            Shipment.objects.system("record_shipment, after its permission check")
            .filter(site=site, lot_number=lot)
            .values_list("expires_on", flat=True)
            .first()
        )
        if earlier is not None and earlier != expires_on:
            raise SupplyRefused(
                _("Lot %(lot)s is already in stock here with the expiry date %(expiry)s: check the label.")
                % {"lot": lot, "expiry": _day(earlier)},
                "expires_on",
            )
        shipment = Shipment.objects.create(
            site=site,
            lot_number=lot,
            vials=vials,
            expires_on=expires_on,
            received_on=received_on,
            received_by=user,
            recorded_at=timezone.now(),
            comment=comment,
        )
        record(
            actor,
            "create",
            study_id=site.study_id,
            site=site,
            object_type="drug_shipment",
            object_id=shipment.pk,
            object_label=shipment.label,
            new_value={
                "lot_number": lot,
                "vials": vials,
                "expires_on": expires_on.isoformat(),
                "received_on": received_on.isoformat(),
                "comment": comment,
            },
        )
    return shipment


def record_disposal(
    user, site: Site, *, lot_number: str, kind: str, vials: int, on: dt.date, reason: str
) -> Disposal:
    """Vials of a lot returned to the sponsor or destroyed (MANAGE_DRUG_SUPPLY at the site);
    refused when the lot's balance would go below zero."""
    actor = _actor(user, site, Permission.MANAGE_DRUG_SUPPLY)
    lot = _lot(lot_number)
    if kind not in DisposalKind.values:
        raise SupplyRefused(_("Choose whether the vials were returned or destroyed."), "kind")
    vials = _vials(vials)
    on = _not_future(on, site, "on")
    reason = (reason or "").strip()
    if not reason:
        raise SupplyRefused(_("Give the reason."), "reason")
    if len(reason) > TEXT_MAX:
        raise SupplyRefused(
            _("The reason is too long (at most %(max)d characters).") % {"max": TEXT_MAX}, "reason"
        )
    with audited():
        site = _site_for_update(site)
        problem = disposal_problem(lot, on, vials, site_balances(site))
        if problem is not None:
            raise SupplyRefused(
                problem_message(problem), "vials" if problem.kind == "insufficient" else "lot_number"
            )
        disposal = Disposal.objects.create(
            site=site,
            lot_number=lot,
            kind=kind,
            vials=vials,
            on=on,
            reason=reason,
            recorded_by=user,
            recorded_at=timezone.now(),
        )
        record(
            actor,
            "create",
            study_id=site.study_id,
            site=site,
            object_type="drug_disposal",
            object_id=disposal.pk,
            object_label=disposal.label,
            new_value={"lot_number": lot, "kind": kind, "vials": vials, "on": on.isoformat()},
            reason=reason,
        )
    return disposal


def verify_accountability(
    user, site: Site, *, verified_on: dt.date, seen_balance: int, comment: str = ""
) -> Verification:
    """The monitor's verification (VERIFY_DRUG_ACCOUNTABILITY at the site) of the balance the
    page showed them: refused when it no longer is the site's balance (something moved since)."""
    actor = _actor(user, site, Permission.VERIFY_DRUG_ACCOUNTABILITY)
    verified_on = _not_future(verified_on, site, "verified_on")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise SupplyRefused(
            _("The comment is too long (at most %(max)d characters).") % {"max": COMMENT_MAX}, "comment"
        )
    with audited():
        site = _site_for_update(site)
        (current,) = accountability_data(site.study, [site.pk])
        if current.balance != seen_balance:
            raise SupplyRefused(
                _(
                    "The balance changed since the page was loaded (now %(balance)d vials): review it and verify "
                    "again."
                )
                % {"balance": current.balance}
            )
        verification = Verification.objects.create(
            site=site,
            verified_on=verified_on,
            balance=current.balance,
            lots=current.lot_figures(),
            comment=comment,
            verified_by=user,
            verified_at=timezone.now(),
        )
        record(
            actor,
            "create",
            study_id=site.study_id,
            site=site,
            object_type="drug_accountability_verification",
            object_id=verification.pk,
            object_label=verification.label,
            new_value={
                "verified_on": verified_on.isoformat(),
                "balance": current.balance,
                "lots": current.lot_figures(),
                "comment": comment,
            },
        )
    return verification
