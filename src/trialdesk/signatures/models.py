"""Electronic signatures (21 CFR 11.50/11.70): the manifestation and the hash of the signed content."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.audit.models import AppendOnlyError
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


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

    objects = ScopedManager.from_queryset(SignatureQuerySet)()
    internal = InternalManager.from_queryset(SignatureQuerySet)()

    class Meta:
        db_table = "audit_signature"  # made by the audit app's migration 0003, where it used to live
        ordering = ["-signed_at", "-pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
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
