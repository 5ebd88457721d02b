"""Electronic signatures of casebooks and visits (21 CFR 11.50, 11.70, 11.200; DESIGN §5).

- The signer re-enters their password (11.200(a)(1)): a wrong one signs nothing and
  is audited as ``sign_failed``.
- The signature shows the printed name, the UTC time and the meaning (11.50), and
  holds the SHA-256 of the signed content: a canonical JSON of every form record in
  scope (its identity, data and version). ``verify_signature`` recomputes it.
- A later save of any record in scope voids the signature (``void_signatures_for_change``,
  subscribed to the form engine's ``FormSaved`` and run in the save's transaction): status ``voided``, when, by
  whom and by which change, audited — and the casebook is back in ``casebooks_to_sign``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from trialdesk.audit import reasons
from trialdesk.audit.models import AuditEvent
from trialdesk.audit.services import Actor, audited, record
from trialdesk.crf.events import FormSaved
from trialdesk.crf.models import FormRecord
from trialdesk.signatures.models import Signature, SignatureMeaning, SignatureScope, SignatureStatus
from trialdesk.studies.access import Permission, require, study_access
from trialdesk.studies.scoping import prepared_rows
from trialdesk.subjects.models import Subject, Visit


class SignatureRefused(Exception):
    """Nothing was signed; ``message`` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- signed content (pure)


def canonical_content(
    subject_id: int, scope: str, visit_code: str | None, records: Iterable[dict[str, Any]]
) -> bytes:
    """The bytes a signature's hash covers: sorted keys, no whitespace, records in a fixed order."""
    ordered = sorted(records, key=lambda r: (r["visit"] or "", r["form"], r["repeat"], r["id"]))
    content = {"subject": subject_id, "scope": scope, "visit": visit_code, "records": ordered}
    return json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode()


def content_hash(
    subject_id: int, scope: str, visit_code: str | None, records: Iterable[dict[str, Any]]
) -> str:
    return hashlib.sha256(canonical_content(subject_id, scope, visit_code, records)).hexdigest()


def _record_content(record: FormRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "visit": record.visit.code if record.visit_id else None,
        "form": record.form_code,
        "repeat": record.repeat,
        "version": record.version,
        "data": record.data,
    }


def _records_in_scope(
    subject: Subject, visit: Visit | None, *, for_update: bool = False, records=None
) -> list[FormRecord]:
    if records is None:
        records = FormRecord.objects.system("signing, after its permission check")
    records = records.filter(subject=subject)
    if visit is not None:
        records = records.filter(visit=visit)
    if for_update:
        records = records.select_for_update(of=("self",))
    return list(records.select_related("visit"))


def records_to_sign(user, subject: Subject, visit: Visit | None = None) -> list[FormRecord]:
    """What a signature of the casebook (or of ``visit``) would cover, read in the user's sites."""
    return _records_in_scope(subject, visit, records=FormRecord.objects.for_user(user, subject.study))


def _scope_of(visit: Visit | None) -> str:
    return SignatureScope.VISIT if visit is not None else SignatureScope.CASEBOOK


def _hash_of(subject: Subject, visit: Visit | None, records: list[FormRecord]) -> str:
    return content_hash(
        subject.pk, _scope_of(visit), visit.code if visit else None, map(_record_content, records)
    )


@dataclass(frozen=True)
class SignatureCheck:
    """Whether the content a signature covers is still the content that was signed."""

    unchanged: bool
    signed_sha256: str
    current_sha256: str


def verify_signature(signature: Signature) -> SignatureCheck:
    current = _hash_of(
        signature.subject, signature.visit, _records_in_scope(signature.subject, signature.visit)
    )
    return SignatureCheck(current == signature.content_sha256, signature.content_sha256, current)


# --------------------------------------------------------------------------- signing


def meaning_for(visit: Visit | None) -> SignatureMeaning:
    return SignatureMeaning.APPROVE_VISIT if visit is not None else SignatureMeaning.APPROVE_CASEBOOK


def printed_name(user) -> str:
    return (user.get_full_name() or "").strip() or user.get_username()


def _label(subject: Subject, visit: Visit | None) -> str:
    return f"{subject.label} {visit.code}" if visit is not None else f"{subject.label} casebook"


# 21 CFR 11.300(d): repeated failed attempts are detected and stop signing for a while.
SIGN_FAILURE_LIMIT = 5
SIGN_FAILURE_WINDOW = dt.timedelta(minutes=15)


def _recent_failures(user) -> int:
    since = timezone.now() - SIGN_FAILURE_WINDOW
    return AuditEvent.objects.filter(action="sign_failed", user_id=user.pk, occurred_at__gte=since).count()


LOCKED_OUT = "too many failed attempts"
NOT_CONFIRMED = "password not confirmed"


def password_refusal(user, password: str) -> str | None:
    """The one password check of every electronic signature (a casebook, a monitoring visit
    report): None if ``password`` is the user's and signing is not blocked, else the audit
    reason (LOCKED_OUT or NOT_CONFIRMED). The caller audits a refusal as ``sign_failed``, so
    that failures anywhere count towards the same limit."""
    if _recent_failures(user) >= SIGN_FAILURE_LIMIT:
        return LOCKED_OUT
    if not password or not user.check_password(password):
        return NOT_CONFIRMED
    return None


def refusal_message(reason: str) -> str:
    """What the signer reads when ``password_refusal`` refused, in their language."""
    if reason == LOCKED_OUT:
        return _("Too many failed signature attempts: signing is blocked for %(minutes)s minutes.") % {
            "minutes": int(SIGN_FAILURE_WINDOW.total_seconds() // 60)
        }
    return _("The password is not correct: nothing was signed.")


def sign(user, subject: Subject, *, password: str, visit: Visit | None = None) -> Signature:
    """Sign a subject's casebook, or one of its visits, as ``user``.

    Only an investigator of the subject's site may sign (404 outside the user's sites,
    403 for other roles). Raises SignatureRefused, with nothing signed, when the
    password is wrong (that attempt is audited; after SIGN_FAILURE_LIMIT failures in
    SIGN_FAILURE_WINDOW even the right one is refused), when there is no data in scope or
    when the user's own signature of the same content is still valid.
    """
    study = subject.study
    access = study_access(user, study)
    require(access, Permission.SIGN, subject.site_id)
    if visit is not None and visit.subject_id != subject.pk:
        raise SignatureRefused(_("This visit is not one of this subject's visits."))
    actor = Actor.for_user(user, access.role_for(Permission.SIGN, subject.site_id))
    scope = _scope_of(visit)
    label = _label(subject, visit)

    refusal = password_refusal(user, password)
    if refusal:
        with audited():
            record(
                actor,
                "sign_failed",
                study_id=study.pk,
                site=subject.site,
                object_type="subject",
                object_id=subject.pk,
                object_label=label,
                field="signature",
                new_value={"scope": scope, "visit": visit.code if visit else None},
                reason=refusal,
            )
        raise SignatureRefused(refusal_message(refusal))

    meaning = meaning_for(visit)
    with audited():
        subject = Subject.objects.system("signing, after its permission check").select_for_update(of=("self",)).select_related("site", "study").get(pk=subject.pk)
        records = _records_in_scope(subject, visit, for_update=True)
        if not records:
            raise SignatureRefused(_("There is no data to sign yet."))
        digest = _hash_of(subject, visit, records)
        already = Signature.objects.system("signing, after its permission check").filter(
            subject=subject,
            visit=visit,
            scope=scope,
            signer=user,
            status=SignatureStatus.VALID,
            content_sha256=digest,
        )
        if already.exists():
            raise SignatureRefused(_("You have already signed this data and it has not changed since."))
        signature = Signature.objects.create(
            subject=subject,
            visit=visit,
            scope=scope,
            signer=user,
            printed_name=printed_name(user),
            signed_at=timezone.now(),
            meaning=meaning.value,
            meaning_text=str(meaning.label),
            content_sha256=digest,
            record_versions={str(r.pk): r.version for r in records},
        )
        record(
            actor,
            "sign",
            study_id=study.pk,
            site=subject.site,
            object_type="signature",
            object_id=signature.pk,
            object_label=label,
            new_value={
                "subject_id": subject.pk,
                "scope": scope,
                "visit": visit.code if visit else None,
                "printed_name": signature.printed_name,
                "signed_at": signature.signed_at.isoformat(),
                "meaning": signature.meaning,
                "meaning_text": signature.meaning_text,
                "content_sha256": digest,
                "records": len(records),
            },
        )
    return signature


# --------------------------------------------------------------------------- voiding


def _valid_over(subject_id: int, visit_id: int | None):
    """The valid signatures whose scope holds a record of ``subject_id`` at ``visit_id``."""
    in_scope = Q(scope=SignatureScope.CASEBOOK)
    if visit_id is not None:
        in_scope |= Q(scope=SignatureScope.VISIT, visit_id=visit_id)
    return (
        Signature.objects.system("a change voids signatures")
        .select_for_update(of=("self",))
        .filter(in_scope, subject_id=subject_id, status=SignatureStatus.VALID)
        .order_by("pk")
    )


def void_signatures_for_change(event: FormSaved) -> list[Signature]:
    """Void every valid signature whose content the save changed.

    Subscribed to ``crf.events.form_saved``: runs inside the transaction that wrote the record. A signature is voided when the
    record is in its scope and its version is not the one signed (a new record, or a
    saved change); a save that wrote nothing leaves it valid.
    """
    actor, record_obj, changed_fields = event.actor, event.record, event.changed_fields
    # sent at every save: compiled once per process (studies.scoping.prepared_rows)
    candidates = prepared_rows(
        "signatures.valid_over_a_record", _valid_over, record_obj.subject_id, record_obj.visit_id
    )
    voided = []
    fields = sorted(changed_fields)
    subject = None
    for signature in candidates:
        if signature.record_versions.get(str(record_obj.pk)) == record_obj.version:
            continue
        subject = subject or Subject.objects.system("a change voids signatures").select_related("site").get(pk=record_obj.subject_id)
        change = (
            reasons.SIGNED_DATA_CHANGED_FIELDS(
                label=record_obj.label, version=record_obj.version, fields=", ".join(fields)
            )
            if fields
            else reasons.SIGNED_DATA_CHANGED(label=record_obj.label, version=record_obj.version)
        )
        signature.status = SignatureStatus.VOIDED
        signature.voided_at = timezone.now()
        signature.voided_by_id = actor.user_id
        signature.voided_by_record = record_obj
        signature.void_reason = change[:500]
        signature.save(update_fields=["status", "voided_at", "voided_by", "voided_by_record", "void_reason"])
        record(
            actor,
            "signature_void",
            study_id=subject.study_id,
            site=subject.site,
            object_type="signature",
            object_id=signature.pk,
            object_label=_label(subject, signature.visit),
            field="status",
            old_value=SignatureStatus.VALID.value,
            new_value=SignatureStatus.VOIDED.value,
            reason=change,
        )
        voided.append(signature)
    return voided


# --------------------------------------------------------------------------- the investigator's worklist


@dataclass
class CasebookToSign:
    subject: Subject
    voided: list[Signature] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "voided" if self.voided else "never_signed"


def casebooks_to_sign(user, study) -> list[CasebookToSign]:
    """Casebooks with data and no valid casebook signature, at the sites where ``user`` signs.

    Those whose signature a change voided come first, with the voided signatures.
    """
    access = study_access(user, study)
    sites = [site_id for site_id in access.site_ids if access.can(Permission.SIGN, site_id)]
    if not sites:
        return []
    valid = Signature.objects.filter(
        subject=OuterRef("pk"), scope=SignatureScope.CASEBOOK, status=SignatureStatus.VALID
    )
    has_data = FormRecord.objects.filter(subject=OuterRef("pk"))
    subjects = (
        Subject.objects.for_user(user, study)
        .filter(site_id__in=sites)
        .filter(Exists(has_data))
        .exclude(Exists(valid))
        .select_related("site")
    )
    voided_by_subject: dict[int, list[Signature]] = {}
    for signature in Signature.objects.for_user(user, study).filter(
        subject__in=subjects, scope=SignatureScope.CASEBOOK, status=SignatureStatus.VOIDED
    ).order_by("-voided_at"):
        voided_by_subject.setdefault(signature.subject_id, []).append(signature)
    items = [CasebookToSign(subject, voided_by_subject.get(subject.pk, [])) for subject in subjects]
    items.sort(key=lambda item: (not item.voided, item.subject.site.code, item.subject.label))
    return items
