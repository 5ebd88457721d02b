"""The subject's casebook sections: the treatment calendar (planned against actual, overdue
flagged), the exposure, and the deviations with their acknowledgements."""

from __future__ import annotations

from trialdesk.deviations.labels import KIND_LABELS, STATUS_LABELS, item_title, rule_label, translated
from trialdesk.deviations.services import treatments
from trialdesk.studies.access import Permission
from trialdesk.subjects.casebook_sections import CasebookContext, CasebookSection, register


def _treatment(context: CasebookContext):
    subject = context.subject
    if subject.enrolled_on is None or not context.access.can(Permission.VIEW_CLINICAL_DATA, subject.site_id):
        return None
    cache = getattr(context.request, "_trialdesk_treatment", None)
    if cache is None or cache.subject.pk != subject.pk:
        cache = treatments(context.request.user, context.study, [subject], records=context.records)[0]
        context.request._trialdesk_treatment = cache
    return cache


def calendar_section(context: CasebookContext):
    t = _treatment(context)
    if t is None:
        return None
    items = [
        {
            "kind": KIND_LABELS.get(i.kind, ""),
            "title": item_title(context.study.protocol, i),
            "due_on": i.due_on,
            "window_start": i.window_start,
            "window_end": i.window_end,
            "done_on": i.done_on,
            "status": STATUS_LABELS.get(i.status, ""),
            "status_code": i.status,
            "explanation": translated(i.explanation),
        }
        for i in t.calendar
    ]
    items.sort(key=lambda i: (i["due_on"] is None, i["due_on"] or t.today))
    return {"items": items, "today": t.today, "overdue": sum(1 for i in t.calendar if i.status == "overdue")}


def exposure_section(context: CasebookContext):
    t = _treatment(context)
    if t is None:
        return None
    deviations = [
        {
            "subject": context.subject,
            "key": d.key,
            "rule": rule_label(d.rule),
            "on": d.on,
            "explanation": translated(d.explanation),
            "link": t.links.get(d.ref, ""),
            "ack": t.acknowledgements.get(d.key),
            "can_acknowledge": context.access.can(Permission.ACKNOWLEDGE_DEVIATION, context.subject.site_id),
        }
        for d in t.deviations
    ]
    intensity = t.exposure.dose_intensity
    return {
        "exposure": t.exposure,
        "intensity_pct": None if intensity is None else round(100 * intensity),
        "deviations": deviations,
        "subject": context.subject,
        "next": context.request.get_full_path(),
    }


def register_sections() -> None:
    register(CasebookSection("treatment-calendar", 20, "deviations/_calendar_section.html", calendar_section))
    register(
        CasebookSection("exposure-deviations", 21, "deviations/_exposure_section.html", exposure_section)
    )
