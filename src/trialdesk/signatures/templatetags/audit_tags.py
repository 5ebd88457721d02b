"""Blocks the casebook and form pages include: signatures, locks and the audit trail link."""

from __future__ import annotations

from django import template

from trialdesk.locks.services import effective_lock
from trialdesk.signatures.models import SignatureScope
from trialdesk.signatures.services import verify_signature
from trialdesk.studies.access import Permission, study_access

register = template.Library()


def _common(context, subject) -> dict:
    request = context["request"]
    access = study_access(request.user, subject.study)
    return {
        "subject": subject,
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
        "can_sign": access.can(Permission.SIGN, subject.site_id),
        "can_lock": access.can(Permission.LOCK, subject.site_id),
        # the subject's and its records' trails: site staff read their own site's too
        "can_view_audit": access.can(Permission.VIEW_AUDIT, subject.site_id)
        or access.can(Permission.VIEW_RECORD_AUDIT, subject.site_id),
    }


@register.inclusion_tag("signatures/_casebook_panel.html", takes_context=True)
def casebook_panel(context, subject):
    """Signatures (valid and voided, with the check of the signed content), the lock and
    the links to sign, lock and read the trail."""
    data = _common(context, subject)
    signatures = list(
        subject.signatures.select_related(
            "visit", "signer", "voided_by", "voided_by_record"
        )
    )
    for signature in signatures:  # the subject at hand, not one more read per signature checked
        signature.subject = subject
    data["signatures"] = [(s, verify_signature(s) if s.is_valid else None) for s in signatures]
    data["lock"] = effective_lock(subject)
    data["own_lock"] = subject.locked_at is not None
    data["visits"] = subject.visits.all()
    return data


@register.inclusion_tag("signatures/_casebook_status.html")
def casebook_status(subject):
    """One line for the top of the casebook: the latest casebook signature and the lock."""
    latest = subject.signatures.filter(scope=SignatureScope.CASEBOOK).first()
    return {"casebook_signature": latest, "lock": effective_lock(subject)}


@register.inclusion_tag("signatures/_record_panel.html", takes_context=True)
def record_panel(context, subject, record=None):
    """A form page's lock status, lock buttons for the data manager and the audit trail link."""
    data = _common(context, subject)
    data["record"] = record
    data["lock"] = effective_lock(record if record is not None else subject)
    data["own_lock"] = record is not None and record.locked_at is not None
    return data
