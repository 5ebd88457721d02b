"""The imported history of an audit page: what a file imported by ``trialdesk import odm``
says happened elsewhere (its audit records and signatures), for the page's scope.

Shown apart from the live trail, as imported ("imported from <file> on <date>"): it is not
part of this database's hash chain. The scope was checked by ``viewer.*_scope`` (the user
may read it); the records of a study-wide page are the study's, those of a site its site's,
those of a subject (or one of its records) the file's records that name it. A pseudonymised
reader sees what the file says was done, and its reasons, masked: that text may hold a
patient's identifiers or the sites' free text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext as _

from trialdesk.audit_viewer.models import ImportedAuditRecord, ImportedSignature, OdmImport
from trialdesk.signatures.models import SignatureMeaning
from trialdesk.studies import pseudonymisation

PAGE_SIZE = 50
WHY = "the imported history of an audit page whose scope the viewer was checked for"


@dataclass(frozen=True)
class ImportedRecordRow:
    sequence: int
    occurred_at: dt.datetime
    site_code: str
    username: str
    what: str
    reason: str


@dataclass(frozen=True)
class ImportedSignatureRow:
    subject_id: int
    subject_label: str
    signed: str  # the casebook, or the visit's title
    printed_name: str
    meaning: str
    signed_at: dt.datetime


@dataclass(frozen=True)
class ImportedHistory:
    origins: list[OdmImport]
    page: Page
    rows: list[ImportedRecordRow]
    signatures: list[ImportedSignatureRow]


def _naming(label: str) -> str:
    """A regular expression for a label as a whole word of the file's record text."""
    return rf"(^|\s){re.escape(label)}(\s|$)"


def _records(scope):
    records = ImportedAuditRecord.objects.system(WHY).filter(origin__study=scope.study)
    if scope.kind == "study":
        return records
    records = records.filter(site_id=scope.site.pk)
    if scope.record is not None:
        return records.filter(source__regex=_naming(scope.record.label))
    if scope.subject is not None:
        labels = [scope.subject.screening_number, scope.subject.subject_code]
        pattern = "|".join(f"({_naming(label)})" for label in labels if label)
        return records.filter(source__regex=pattern)
    return records


def _signatures(scope):
    signatures = ImportedSignature.objects.system(WHY).filter(origin__study=scope.study)
    if scope.subject is not None:
        return signatures.filter(subject_id=scope.subject.pk) if scope.record is None else signatures.none()
    if scope.site is not None:
        return signatures.filter(subject__site_id=scope.site.pk)
    return signatures


def _meaning(text: str) -> str:
    if text in SignatureMeaning.values:
        return str(SignatureMeaning(text).label)
    return text


def _signed(protocol, visit_code: str) -> str:
    if not visit_code:
        return _("The casebook")
    try:
        return protocol.schedule.visit(visit_code).title
    except KeyError:
        return visit_code


def imported_history(scope, page_number=None) -> ImportedHistory | None:
    """The imported history of ``scope`` (None when the study imported no file)."""
    origins = list(OdmImport.objects.filter(study=scope.study).order_by("imported_at", "pk"))
    if not origins:
        return None
    records = _records(scope).select_related("site").order_by("-origin_id", "-sequence")
    page = Paginator(records, PAGE_SIZE).get_page(page_number)
    masked = scope.pseudonymised
    rows = [
        ImportedRecordRow(
            sequence=r.sequence,
            occurred_at=r.occurred_at,
            site_code=r.site.code if r.site is not None else "",
            username=r.username,
            what=pseudonymisation.MASK if masked and r.source else r.source,
            reason=pseudonymisation.MASK if masked and r.reason else r.reason,
        )
        for r in page.object_list
    ]
    protocol = scope.study.protocol
    signatures = [
        ImportedSignatureRow(
            subject_id=s.subject_id,
            subject_label=s.subject.label,
            signed=_signed(protocol, s.visit_code),
            printed_name=s.printed_name,
            meaning=_meaning(s.meaning),
            signed_at=s.signed_at,
        )
        for s in _signatures(scope).select_related("subject").order_by("signed_at", "pk")
    ]
    return ImportedHistory(origins, page, rows, signatures)
