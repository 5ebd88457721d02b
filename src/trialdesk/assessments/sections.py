"""What the assessments app adds to other apps' pages: the derived response on the marrow
form (a form panel, live as values are typed) and the course of disease on the casebook."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from trialdesk.assessments import services
from trialdesk.crf.models import FormRecord
from trialdesk.crf.panels import FormPanelContext
from trialdesk.studies.access import Permission
from trialdesk.subjects.casebook_sections import CasebookContext

#: the concepts the derived response reads on a marrow form
_READ_CONCEPTS = (
    "marrow_assessed_on",
    "marrow_blasts",
    "circulating_blasts_seen",
    "circulating_blasts",
    "neutrophil_count",
    "platelet_count",
    "extramedullary",
)


def panel_reads(protocol, form) -> set[str]:
    if form.code not in services.marrow_forms(protocol):
        return set()
    fields = {
        protocol.concept_field(name, form.code) for name in _READ_CONCEPTS if protocol.has_concept(name)
    }
    fields.add(services.investigator_field(protocol, form.code))
    return {f for f in fields if f}


def _investigator_label(protocol, form, values: dict[str, Any]) -> str:
    from trialdesk.crf.display import display_value

    field = services.investigator_field(protocol, form.code)
    if not field or values.get(field) in (None, ""):
        return ""
    return display_value(form, field, values[field])


def panel_context(ctx: FormPanelContext) -> dict | None:
    """The derived response of the marrow as typed, beside the investigator's assessment."""
    protocol = ctx.study.protocol
    values = ctx.values
    blasts_field = protocol.concept_field("marrow_blasts", ctx.form.code)
    date_field = protocol.concept_field("marrow_assessed_on", ctx.form.code)
    if not blasts_field or not date_field:
        return None
    base = {"investigator": _investigator_label(protocol, ctx.form, values)}
    if values.get(blasts_field) is None or values.get(date_field) is None:
        return {**base, "waiting": True}
    records = list(FormRecord.objects.for_user(ctx.request.user, ctx.study).filter(subject=ctx.subject))
    key = ctx.record.pk if ctx.record is not None else None
    course = services.build_course(
        protocol,
        ctx.subject,
        records,
        services._confirmations_of(ctx.request.user, ctx.study, [ctx.subject.pk]),
        typed_now=(key, ctx.form.code, dict(values)),
    )
    assessed = course.assessment_of(key)
    if assessed is None:
        is_baseline = course.baseline is not None and course.baseline.key == key
        return {**base, "baseline": is_baseline, "no_baseline": not is_baseline}
    result = assessed.derived
    can_confirm = (
        ctx.record is not None
        and assessed.discordant
        and not assessed.confirmed_by_investigator
        and ctx.access.can(Permission.CONFIRM_RESPONSE, ctx.subject.site_id)
        and ctx.record.voided_at is None
    )
    return {
        **base,
        "derived": services.category_label(result.category),
        "derived_code": result.category.value,
        "is_response": result.category.is_response,
        "explanation": services.explanation(result),
        "reference": result.reference,
        "discordant": assessed.discordant,
        "confirmed": assessed.confirmed_by_investigator,
        "confirm_url": reverse("assessments:confirm", args=[ctx.record.pk]) if can_confirm else "",
    }


def _date(value) -> str:
    return "" if value is None else value.isoformat()


def casebook_context(ctx: CasebookContext) -> dict | None:
    protocol = ctx.study.protocol
    if not services.marrow_forms(protocol):
        return None
    course = services.build_course(
        protocol,
        ctx.subject,
        ctx.records,
        services._confirmations_of(ctx.request.user, ctx.study, [ctx.subject.pk]),
    )
    needs = services.build_transfusion_needs(protocol, ctx.subject, ctx.records)
    if course.baseline is None and needs.before is None:
        return None
    rows = []
    for a in course.assessments:
        rows.append(
            {
                "date": a.record.on,
                "blasts": a.record.assessment.marrow_blasts,
                "derived": services.category_label(a.derived.category),
                "explanation": services.explanation(a.derived),
                "investigator": services.category_label(a.record.investigator),
                "discordant": a.discordant,
                "confirmed_by_investigator": a.confirmed_by_investigator,
                "confirmed": services.category_label(a.confirmed),
            }
        )
    cyto = course.cytogenetic
    if not cyto.assessable:
        cytogenetic = "not_assessable"
    elif cyto.achieved:
        cytogenetic = "achieved"
    else:
        cytogenetic = "not_achieved"
    from trialdesk.clinical.transfusion import Product

    def use(period):
        if period is None:
            return None
        return {
            "start": period.start,
            "end": period.end,
            "red": period.units.get(Product.RED_CELLS, 0),
            "platelet": period.units.get(Product.PLATELETS, 0),
            "red_rate": f"{period.per_period(Product.RED_CELLS):.1f}",
            "platelet_rate": f"{period.per_period(Product.PLATELETS):.1f}",
        }

    return {
        "rows": rows,
        "baseline": course.baseline,
        "best_derived": services.category_label(course.derived.best),
        "best_confirmed": services.category_label(course.confirmed.best),
        "first_response_on": course.confirmed.first_response_on,
        "failure": services.category_label(course.confirmed.failure),
        "failure_on": course.confirmed.failure_on,
        "nadir": course.nadir_marrow_blasts,
        "nadir_on": course.nadir_on,
        "cytogenetic": cytogenetic,
        "normalised_on": cyto.normalised_on,
        "her2": course.her2,
        "before": use(needs.before),
        "on_treatment": use(needs.on_treatment),
        "independent": needs.independent,
        "longest_free_days": needs.longest_free_days,
        "independence_days": needs.settings.independence_days,
        "period_days": needs.settings.period_days,
    }
