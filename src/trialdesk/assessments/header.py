"""What the assessments app adds to the casebook's header and timeline: the best response so
far — the one the analysis counts (the confirmed series of the course of disease: the
investigator's response where they confirmed it, else the derived one) — and each marrow
with its blasts and derived response (registered in ``AssessmentsConfig.ready``)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from trialdesk.assessments import services
from trialdesk.subjects.casebook_header import CasebookContext, HeaderItem, TimelineEntry, number


def _course(ctx: CasebookContext):
    return services.subject_course(ctx.request.user, ctx.study, ctx.subject, ctx.records)


def best_response(ctx: CasebookContext) -> HeaderItem | None:
    if not services.marrow_forms(ctx.study.protocol) or ctx.subject.enrolled_on is None:
        return None
    best = _course(ctx).confirmed.best
    text = services.category_label(best) if best is not None else _("not assessed yet")
    return HeaderItem(_("Best response so far"), text, url="#course-of-disease")


def timeline(ctx: CasebookContext) -> list[TimelineEntry]:
    if not services.marrow_forms(ctx.study.protocol):
        return []
    course = _course(ctx)
    by_pk = {r.pk: r for r in ctx.records}
    entries = []
    marrows = [(course.baseline, None)] if course.baseline is not None else []
    marrows += [(a.record, a) for a in course.assessments]
    for marrow, assessed in marrows:
        blasts = number(marrow.assessment.marrow_blasts)
        if assessed is None:
            text = _("Baseline marrow: blasts %(blasts)s %%") % {"blasts": blasts}
        else:
            text = _("Marrow blasts %(blasts)s %% — derived response: %(response)s") % {
                "blasts": blasts,
                "response": services.category_label(assessed.derived.category),
            }
            if assessed.confirmed != assessed.derived.category:
                text += " — " + _("kept by the investigator: %(response)s") % {
                    "response": services.category_label(assessed.confirmed)
                }
        rec = by_pk.get(marrow.key)
        url = ""
        if rec is not None and rec.visit_id:
            url = reverse("visit-form", args=[ctx.subject.pk, rec.visit.code, rec.form_code])
        entries.append(TimelineEntry(marrow.on, "marrow", _("Marrow"), text, url))
    return entries
