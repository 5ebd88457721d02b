"""The lots panel of the dosing form: the lots in stock at the subject's site on the day of the
dose (vials left, expiry), and, as the nurse types a lot, whether the save will accept it —
the same rule (``clinical.accountability.dispensing_problem``) the save applies."""

from __future__ import annotations

from trialdesk.clinical.accountability import dispensing_problem
from trialdesk.crf.panels import FormPanel, FormPanelContext, register
from trialdesk.pharmacy.accountability import dose_fields, site_balances
from trialdesk.pharmacy.services import problem_message
from trialdesk.studies.access import Permission


def _reads(protocol, form) -> set[str]:
    fields = dose_fields(protocol)
    if fields is None or form.code != fields[0]:
        return set()
    _form, date_field, lot_field, vials_field = fields
    return {code for code in (date_field, lot_field, vials_field) if code}


def panel_context(ctx: FormPanelContext) -> dict | None:
    fields = dose_fields(ctx.study.protocol)
    if fields is None or not ctx.access.can(Permission.VIEW_CLINICAL_DATA, ctx.subject.site_id):
        return None
    _form, date_field, lot_field, vials_field = fields
    site = ctx.subject.site
    day = ctx.values.get(date_field) or site.today()
    balances = site_balances(site, exclude_record_id=ctx.record.pk if ctx.record else None)
    in_stock = sorted(
        (b for b in balances.values() if b.received and b.balance > 0 and not b.expired_on(day)),
        key=lambda b: (b.expires_on, b.lot),
    )
    lot = ctx.values.get(lot_field)
    lot = lot.strip() if isinstance(lot, str) else ""
    problem = None
    if lot:
        vials = ctx.values.get(vials_field)
        found = dispensing_problem(lot, day, vials if isinstance(vials, int) else 0, balances)
        problem = problem_message(found) if found is not None else None
    return {
        "day": day,
        "lots": in_stock,
        "lot": lot,
        "problem": problem,
        "first": in_stock[0] if in_stock else None,
    }


def register_panel() -> None:
    register(
        FormPanel(
            key="pharmacy-lots",
            order=20,
            template="pharmacy/_lots_panel.html",
            reads=_reads,
            context=panel_context,
        )
    )
