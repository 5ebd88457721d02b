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
