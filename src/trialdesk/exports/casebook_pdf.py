"""The PDF casebook of one subject (issue 15): for the site's archive and for inspection.

Every form of the subject with its values as the pages show them (labels, Yes/No, units),
the visits and their dates, the log entries (voided ones marked), the subject's audit trail
as the reader may read it (``audit_viewer``: scoped, masked by ``Masker``), the signatures
(who, when, meaning, status) and the queries; a cover page names the study, the site, the
subject, when and by whom it was generated and the SHA-256 of its content.

The content's SHA-256 is computed over a canonical JSON of what the casebook states (not the
cover's generation time): two downloads of an unchanged casebook carry the same hash. The
download is audited as an export (``record(…, "export", object_type="export.casebook_pdf")``)
with that hash. Who may download it: ``subjects.views.may_download_casebook``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.audit.services import Actor, audited, record
from trialdesk.audit_viewer import viewer
from trialdesk.crf.display import display_value, field_label, role_label, verbatim_english
from trialdesk.crf.models import FormRecord
from trialdesk.crf.rendering import localised
from trialdesk.queries import wording
from trialdesk.queries.models import Query
from trialdesk.signatures.models import Signature
from trialdesk.studies.access import get_visible_or_404, study_access
from trialdesk.studies.models import Study
from trialdesk.subjects.models import Subject
from trialdesk.subjects.views import may_download_casebook

#: the role an export of a casebook records, in order of preference at the subject's site
_ROLES = ("investigator", "coordinator", "monitor", "data_manager")


@dataclass(frozen=True)
class CasebookPdf:
    pdf: bytes
    content_sha256: str
    filename: str


def _shown_record(protocol, rec: FormRecord) -> dict[str, Any]:
    form = protocol.form(rec.form_code)
    data = rec.data or {}
    return {
        "title": localised(form, "title"),
        "repeat": rec.repeat,
        "status": rec.get_status_display(),
        "voided": rec.voided_at is not None,
        "version": rec.version,
        "fields": [
            {
                "label": field_label(form, f.code),
                "value": display_value(form, f.code, data.get(f.code)),
                "verbatim": verbatim_english(form, f.code),
            }
            for f in form.fields
        ],
    }


def casebook_content(user, study: Study, subject: Subject) -> dict[str, Any]:
    """What the casebook states, as ``user`` may read it (scoped, pseudonymised if they are)."""
    protocol = study.protocol
    records = list(
        FormRecord.objects.for_user(user, study)
        .filter(subject=subject)
        .select_related("visit")
        .order_by("pk")
    )
    by_visit: dict[int, list[FormRecord]] = {}
    for rec in records:
        if rec.visit_id:
            by_visit.setdefault(rec.visit_id, []).append(rec)
    titles = {v.code: localised(v, "title") for v in protocol.schedule.expanded_visits()}
    visits = []
    for visit in subject.visits.all().order_by("sequence"):
        visits.append(
            {
                "code": visit.code,
                "title": titles.get(visit.code) or visit.title,
                "planned": visit.planned_date.isoformat() if visit.planned_date else "",
                "actual": visit.actual_date.isoformat() if visit.actual_date else "",
                "forms": [_shown_record(protocol, r) for r in by_visit.get(visit.pk, [])],
            }
        )
    logs = []
    for form_code in protocol.schedule.log_forms:
        entries = sorted(
            (r for r in records if not r.visit_id and r.form_code == form_code), key=lambda r: r.repeat
        )
        if entries:
            logs.append(
                {
                    "title": localised(protocol.form(form_code), "title"),
                    "entries": [_shown_record(protocol, r) for r in entries],
                }
            )
    scope = viewer.subject_scope(user, study, subject.pk)
    masker = viewer.Masker(study, scope.pseudonymised)
    trail = []
    for shown in viewer.present_page(scope.events.order_by("sequence"), masker, study):
        trail.append(
            {
                "sequence": shown.row.sequence,
                "when": timezone.localtime(shown.row.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                "who": shown.row.username,
                "role": shown.role,
                "action": shown.action,
                "object": shown.object_label,
                "field": shown.field,
                "old": shown.old_value,
                "new": shown.new_value,
                "reason": shown.reason,
                "mac": shown.row.mac,
            }
        )
    signatures = [
        {
            "name": s.printed_name,
            "when": timezone.localtime(s.signed_at).strftime("%Y-%m-%d %H:%M"),
            "meaning": s.get_meaning_display(),
            "scope": s.get_scope_display() + (f" {s.visit.code}" if s.visit_id else ""),
            "status": s.get_status_display(),
            "content_sha256": s.content_sha256,
        }
        for s in Signature.objects.for_user(user, study)
        .filter(subject_id=subject.pk)
        .select_related("visit")
        .order_by("signed_at", "pk")
    ]
    queries = []
    for q in (
        Query.objects.for_user(user, study)
        .filter(record__subject_id=subject.pk)
        .select_related("record")
        .order_by("raised_at", "pk")
    ):
        form = protocol.form(q.record.form_code)
        # a system query's text in the reader's language (``queries.wording``); its stored
        # English, marked so, when it cannot be said again
        summary = wording.of_summary(q, protocol if q.is_system else None)
        queries.append(
            {
                "record": viewer.readable_label(q.record.label, protocol),
                "field": field_label(form, q.field_code) if q.field_code else "",
                "status": q.get_status_display(),
                "summary": masker.value("", summary.text) if scope.pseudonymised else summary.text,
                "lang": summary.lang,
                "raised": timezone.localtime(q.raised_at).strftime("%Y-%m-%d %H:%M"),
                # a system query was raised by a check, not a person in a role (the query list says the same)
                "raised_by": _("Edit check") if q.check_code else role_label(q.raised_role),
                "closed": timezone.localtime(q.closed_at).strftime("%Y-%m-%d %H:%M") if q.closed_at else "",
            }
        )
    return {
        "study": study.nct_id,
        "site": f"{subject.site.code} — {subject.site.name}",
        "subject": subject.label,
        "screening_number": subject.screening_number,
        "status": subject.get_status_display(),
        "pseudonymised": scope.pseudonymised,
        "visits": visits,
        "logs": logs,
        "trail": trail,
        "signatures": signatures,
        "queries": queries,
    }


def content_sha256(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _role(access, site_id: int) -> str:
    held = access.roles_at(site_id)
    return next((role for role in _ROLES if role in held), "")


def casebook_pdf(user, study: Study, subject_id: int, *, base_url: str = "") -> CasebookPdf:
    """The PDF casebook of a subject the user may download, audited as an export.
    A subject outside the user's sites is not found (404); one of their sites that their role
    may not download is refused (403, without details), as ``studies.access.require`` does."""
    from weasyprint import HTML

    subject = get_visible_or_404(Subject.objects.select_related("site", "study"), user, study, pk=subject_id)
    access = study_access(user, study)
    if not may_download_casebook(access, subject.site_id):
        raise PermissionDenied
    content = casebook_content(user, study, subject)
    sha = content_sha256(content)
    generated_at = timezone.now()
    html = render_to_string(
        "exports/casebook.html",
        {
            "c": content,
            "sha256": sha,
            "generated_at": timezone.localtime(generated_at).strftime("%Y-%m-%d %H:%M %Z"),
            "generated_by": user.get_full_name() or user.username,
            "generated_role": role_label(_role(access, subject.site_id)),
            "title": study.protocol.identification.brief_title,
            "sponsor": study.protocol.identification.sponsor,
        },
    )
    pdf = HTML(string=html, base_url=base_url or None).write_pdf()
    filename = f"casebook-{study.nct_id}-{subject.label}.pdf"
    with audited():
        record(
            Actor.for_user(user, _role(access, subject.site_id)),
            "export",
            study_id=study.pk,
            site=subject.site,
            object_type="export.casebook_pdf",
            object_id=str(subject.pk),
            object_label=filename,
            new_value={
                "subject_code": subject.label,
                "sha256": sha,
                "pdf_sha256": hashlib.sha256(pdf).hexdigest(),
                "pseudonymised": content["pseudonymised"],
                "audit_events": len(content["trail"]),
            },
        )
    return CasebookPdf(pdf, sha, filename)


__all__ = ["CasebookPdf", "casebook_content", "casebook_pdf", "content_sha256"]
