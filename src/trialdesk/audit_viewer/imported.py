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
import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext as _

from trialdesk.audit_viewer import viewer
from trialdesk.audit_viewer.models import ImportedAuditRecord, ImportedSignature, OdmImport
from trialdesk.crf.display import display_value, field_label, plain
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
    what: str  # as a reader reads it (labels for the codes of a trialdesk file)
    source: str  # verbatim, as the file gives it (the row's tooltip)
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


def _typed(text: str) -> Any:
    """A value of the file's record text as the form engine stores it ("62.0" -> 62.0)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def readable(source: str, protocol) -> str:
    """What an ODM file of trialdesk says was done (its ``SourceID``: ``action object_type
    label [field] [old -> new]``), read with labels: the action, the record by its form's
    title, the field by its label and its values as the form shows them. Text of another
    system, or that does not read so, is given as it is."""
    words = (source or "").split(" ")
    if len(words) < 3 or words[0] not in viewer.ACTION_LABELS:
        return source
    action, object_type, rest = words[0], words[1], words[2:]
    arrow = rest.index("->") if "->" in rest else len(rest)
    before, new = rest[:arrow], " ".join(rest[arrow + 1 :]).strip()
    form = field = None
    old = ""
    if object_type == "form_record":
        codes = {f.code for f in protocol.forms}
        position = next((i for i, word in enumerate(before) if word in codes), None)
        if position is not None:
            form = protocol.form(before[position])
            if position + 1 < len(before) and before[position + 1] in form.field_codes:
                field = before[position + 1]
                old = " ".join(before[position + 2 :]).strip()
                before = before[: position + 1]
    parts = [viewer.action_label(action), viewer.readable_label(" ".join(before), protocol)]
    if field is not None:
        parts.append(field_label(form, field))
    text = " · ".join(part for part in parts if part)
    if field is not None:
        old, new = (display_value(form, field, _typed(v)) if v else "" for v in (old, new))
        return f"{text}: {old + ' → ' if old else ''}{new}" if (old or new) else text
    new = viewer._status_label(object_type, new) or _fields(new)  # a status as its label
    if before and arrow < len(rest) and (old := viewer._status_label(object_type, before[-1])):
        # a status change: "… incomplete -> complete"
        label = viewer.readable_label(" ".join(before[:-1]), protocol)
        return f"{viewer.action_label(action)} · {label}: {old} → {new}"
    return f"{text}: {new}" if arrow < len(rest) else text


def _fields(text: str) -> str:
    """A JSON object of the record text as "Label: value; …" (anything else as it is)."""
    value = _typed(text)
    if not isinstance(value, dict):
        return text
    return "; ".join(f"{viewer.key_label(key)}: {plain(item)}" for key, item in value.items())


def imported_history(scope, page_number=None) -> ImportedHistory | None:
    """The imported history of ``scope`` (None when the study imported no file)."""
    origins = list(OdmImport.objects.filter(study=scope.study).order_by("imported_at", "pk"))
    if not origins:
        return None
    records = _records(scope).select_related("site").order_by("-origin_id", "-sequence")
    page = Paginator(records, PAGE_SIZE).get_page(page_number)
    masked = scope.pseudonymised
    protocol = scope.study.protocol
    rows = [
        ImportedRecordRow(
            sequence=r.sequence,
            occurred_at=r.occurred_at,
            site_code=r.site.code if r.site is not None else "",
            username=r.username,
            what=pseudonymisation.MASK if masked and r.source else readable(r.source, protocol),
            source=pseudonymisation.MASK if masked and r.source else r.source,
            reason=pseudonymisation.MASK if masked and r.reason else r.reason,
        )
        for r in page.object_list
    ]
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
