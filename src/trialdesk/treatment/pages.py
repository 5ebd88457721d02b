"""What the treatment app shows on other apps' pages: the infusion form's live dose panel
and the casebook's prescriptions (registered in ``TreatmentConfig.ready``).

The clinical core says why a dose was chosen in English with the template and parameters
of each reason (``protocol.formdata.Message``); pages say it in the reader's language.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _

from trialdesk.cardiac.services import active_hold
from trialdesk.crf import panels
from trialdesk.crf.panels import FormPanel, FormPanelContext
from trialdesk.studies.access import Permission
from trialdesk.subjects import casebook_sections
from trialdesk.subjects.casebook_sections import CasebookContext, CasebookSection
from trialdesk.treatment import services
from trialdesk.treatment.models import DoseKind, Prescription, PrescriptionStatus


def interval_label(status: str) -> str:
    return {
        "first": _("first dose"),
        "too_early": _("too early"),
        "on_time": _("on time"),
        "late": _("late dose"),
        "missed": _("missed dose"),
    }.get(status, status)


def translated(message) -> str:
    """A reason of the clinical core in the reader's language."""
    template = getattr(message, "template", None)
    if template is None:
        return str(message)
    params = getattr(message, "params", {}) or {}
    return _(template) % params if params else _(template)


def number(value) -> str:
    return "—" if value is None else f"{float(value):g}"


def kind_label(kind: str | None) -> str:
    return str(DoseKind(kind).label) if kind else _("No dose")


# --------------------------------------------------------------------------- the infusion form's panel


def _panel_reads(protocol, form) -> set[str]:
    if form.code != services.infusion_form(protocol):
        return set()
    fields = {protocol.concept_field(name, form.code) for name in (services.DOSE_DATE, services.WEIGHT_TODAY)}
    return {f for f in fields if f}


def panel_context(ctx: FormPanelContext) -> dict:
    subject = ctx.subject
    protocol = ctx.study.protocol
    form = ctx.form.code
    record = ctx.record
    prescription = services.validated_prescription(record) if record is not None else None
    typed_on = protocol.read_concept(services.DOSE_DATE, form, ctx.values)
    on = typed_on if isinstance(typed_on, dt.date) else services.today_at(subject)
    weight = services._float(protocol.read_concept(services.WEIGHT_TODAY, form, ctx.values))
    hold = active_hold(subject)
    given = record is not None and services._float(
        services.concept_values(protocol, record).get(services.GIVEN)
    )
    context = {
        "on": on,
        "weight": number(weight) if weight is not None else None,
        "hold": hold,
        "prescription": _prescription_row(prescription) if prescription else None,
        "prescribed_fields": [
            protocol.concept_field(c, form)
            for c in services.PRESCRIBED_CONCEPTS
            if protocol.concept_field(c, form)
        ]
        if prescription
        else [],
        "proposal": None,
        "error": "",
        "can_validate": False,
        "validate_url": reverse("treatment:validate", args=[subject.pk]),
        "repeat": record.repeat if record is not None else "",
    }
    if weight is None:
        return context
    try:
        weight = services.check_weight_input(protocol, weight)
        proposal = services.proposal_for(subject, on, weight, exclude_pk=record.pk if record else None)
    except services.PrescriptionRefused as refused:
        context["error"] = refused.message
        return context
    except ValueError:
        context["error"] = _("The infusion is dated before the previous one.")
        return context
    context["proposal"] = {
        "kind": proposal.kind,
        "kind_label": kind_label(proposal.kind),
        "mg_per_kg": number(proposal.mg_per_kg),
        "weight_used": number(proposal.weight_kg),
        "dose_mg": number(proposal.dose_mg),
        "vials": proposal.vials,
        "interval": interval_label(proposal.interval.status),
        "flagged": proposal.interval.status in ("too_early", "late", "missed"),
        "reasons": [translated(m) for m in proposal.reasons],
        "same_as_prescription": bool(
            prescription
            and proposal.kind == prescription.kind
            and abs((proposal.dose_mg or 0) - prescription.dose_mg) < 1e-9
            and abs(proposal.weight_kg - prescription.weight_used_kg) < 1e-9
        ),
    }
    context["can_validate"] = bool(
        proposal.kind is not None
        and not given
        and (record is None or record.voided_at is None)
        and not subject.locked_at
        and ctx.access.can(Permission.VALIDATE_PRESCRIPTION, subject.site_id)
        and not context["proposal"]["same_as_prescription"]
    )
    return context


def _prescription_row(p: Prescription) -> dict:
    return {
        "p": p,
        "kind_label": kind_label(p.kind),
        "mg_per_kg": number(p.mg_per_kg),
        "weight_used": number(p.weight_used_kg),
        "dose_mg": number(p.dose_mg),
        "vials": p.vials,
        "interval": interval_label(p.interval_status),
        "who": p.validated_by.get_full_name() or p.validated_by.username,
        "superseded": p.status == PrescriptionStatus.SUPERSEDED,
    }


# --------------------------------------------------------------------------- the casebook section


def casebook_context(ctx: CasebookContext) -> dict | None:
    if services.infusion_form(ctx.study.protocol) is None:
        return None
    rows = list(services.prescriptions_of(ctx.request.user, ctx.subject))
    if not rows:
        return None
    return {"rows": [_prescription_row(p) for p in rows]}


def register_all() -> None:
    panels.register(
        FormPanel(
            key="treatment-dose",
            order=10,
            template="treatment/_dose_panel.html",
            reads=_panel_reads,
            context=panel_context,
        )
    )
    casebook_sections.register(
        CasebookSection(
            key="treatment-prescriptions",
            order=30,
            template="treatment/_casebook_section.html",
            context=casebook_context,
        )
    )
