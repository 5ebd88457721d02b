"""The CTCAE panel of a form with a ``ctcae_term`` field: while the term and the grade are
chosen, the term's MedDRA code, system organ class and the text of each of its grades (the
chosen one marked; the grades the term does not define shown as such)."""

from __future__ import annotations

from typing import Any

from trialdesk.safety.services import grade_texts


def _term_field(form: Any):
    return next((f for f in form.fields if f.type == "ctcae_term"), None)


def ctcae_reads(protocol: Any, form: Any) -> set[str]:
    field = _term_field(form)
    if field is None:
        return set()
    reads = {field.code}
    if field.ctcae is not None and field.ctcae.grade_field:
        reads.add(field.ctcae.grade_field)
    return reads


def ctcae_context(context) -> dict | None:
    field = _term_field(context.form)
    if field is None:
        return None
    texts = grade_texts(context.values.get(field.code))
    if texts is None:
        return None
    grade = context.values.get(field.ctcae.grade_field) if field.ctcae and field.ctcae.grade_field else None
    return {**texts, "chosen": grade}


def casebook_context(context) -> dict | None:
    """The subject's safety on its casebook: its SAEs (acknowledged or not, SUSARs with their
    deadline) and its infusion reactions and cardiac events, for viewers of safety data."""
    from trialdesk.safety import services
    from trialdesk.studies.access import Permission

    protocol = context.study.protocol
    form_code = services.ae_form_code(protocol)
    if form_code is None or not context.access.can(Permission.VIEW_SAFETY_DATA, context.subject.site_id):
        return None
    events = [r for r in context.records if r.form_code == form_code and r.voided_at is None]
    if not events:
        return None
    rows = services.sae_rows(context.request.user, context.study, context.subject)
    labels = {h.code: h for h in protocol.safety.highlights}
    kinds = []
    for event in events:
        _term, meddra, soc = services.coded(
            protocol, form_code, services.typed_values(protocol.form(form_code), event.data)
        )
        kinds.append(services.rules.highlights_of(protocol.safety, meddra, soc))
    counts = [(code, highlight, sum(code in found for found in kinds)) for code, highlight in labels.items()]
    return {"saes": rows, "events": len(events), "highlights": counts}
