"""The audit trail: append-only, hash-chained (DESIGN §5).

Rows are never updated or deleted: the model refuses it in Python, a trigger
refuses it on PostgreSQL, and ``trialdesk audit verify`` detects an out-of-band
change on any database. ``AuditChainHead`` holds the last sequence and hash: it
serialises writers (row lock) and lets verify notice rows cut off at the end.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.scoping import SiteScopedQuerySet


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(SiteScopedQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are never updated")

    def delete(self):
        raise AppendOnlyError("audit events are never deleted")

    def for_user(self, user, study):
        """Events of the user's sites, plus study-level events for roles that see every site."""
        from trialdesk.studies.access import study_access

        access = study_access(user, study)
        scoped = self.filter(study_id=study.pk, site_id__in=access.site_ids)
        if access.site_ids == access.all_site_ids and access.roles:
            scoped = self.filter(study_id=study.pk)
        return scoped


class AuditEvent(models.Model):
    site_path = "site"

    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    # Plain ids and names, not foreign keys: deleting a user or a site never touches the trail.
    study_id = models.BigIntegerField(null=True, blank=True)
    site_id = models.BigIntegerField(null=True, blank=True)
    site_code = models.CharField(max_length=8, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    field = models.CharField(max_length=100, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["site_id", "sequence"]),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are never deleted")


class AuditChainHead(models.Model):
    """A single row (pk=1): the last sequence number and hash of the chain."""

    last_sequence = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)


# --------------------------------------------------------------------------- electronic signatures


class SignatureScope(models.TextChoices):
    CASEBOOK = "subject", _("Casebook")
    VISIT = "visit", _("Visit")


class SignatureStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    VOIDED = "voided", _("Voided")


class SignatureMeaning(models.TextChoices):
    """What a signature means (21 CFR 11.50(a)(3)); the label is what the signer reads."""

    APPROVE_CASEBOOK = "approve_casebook", _("I approve the data of this casebook")
    APPROVE_VISIT = "approve_visit", _("I approve the data of this visit")


class SignatureQuerySet(SiteScopedQuerySet):
    pass


class Signature(models.Model):
    """An investigator's electronic signature of a casebook or of one visit (21 CFR 11.50/11.70).

    It holds the manifestation (printed name, UTC time, meaning) and the SHA-256 of the
    signed content with the version of every record it covered. Once written, only the
    voiding fields may change: a later change to signed data voids it, visibly.
    """

    site_path = "subject__site"
    VOID_FIELDS = frozenset({"status", "voided_at", "voided_by", "voided_by_record", "void_reason"})

    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="signatures")
    visit = models.ForeignKey(
        "subjects.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="signatures"
    )
    scope = models.CharField(max_length=10, choices=SignatureScope.choices)
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=300)
    signed_at = models.DateTimeField()
    meaning = models.CharField(max_length=40, choices=SignatureMeaning.choices)
    # The meaning exactly as the signer read it, in their language.
    meaning_text = models.CharField(max_length=300)
    content_sha256 = models.CharField(max_length=64)
    # {form record id: version} of every record the signature covers.
    record_versions = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=SignatureStatus.choices, default=SignatureStatus.VALID)
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_by_record = models.ForeignKey(
        "crf.FormRecord", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(max_length=500, blank=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at", "-pk"]
        indexes = [models.Index(fields=["subject", "status"])]

    def __str__(self) -> str:
        where = self.visit.code if self.visit_id else "casebook"
        return f"{self.printed_name} {where} {self.signed_at:%Y-%m-%d %H:%M}Z ({self.status})"

    @property
    def is_valid(self) -> bool:
        return self.status == SignatureStatus.VALID

    def save(self, *args, **kwargs):
        if self.pk is not None:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.VOID_FIELDS:
                raise AppendOnlyError("a signature is never changed, only voided")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("signatures are never deleted")
