"""History imported from another system's file (``trialdesk import odm``), kept as it was.

An imported file's audit trail and its signatures are what happened elsewhere: they are
shown on the audit pages as imported ("imported from <file> on <date>"), never appended to
this database's hash-chained trail as if they were made here. A signature cannot be made
again without its signer's password: the imported one is a record of the signature, not a
signature of this system (it covers no record version here and is never verified).

Written only by the import service (``trialdesk.exports.importing``), in the import's
audited transaction; read for a user through ``objects.for_user(user, study)`` (the rows of
their sites; study-wide records for the roles that see every site: ``audit_viewer.viewer``).
"""

from __future__ import annotations

from django.db import models

from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class OdmImport(models.Model):
    """One file imported: which, when, and what it held."""

    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=300)
    file_sha256 = models.CharField(max_length=64)
    file_oid = models.CharField(max_length=300, blank=True)
    source_system = models.CharField(max_length=200, blank=True)
    file_created_at = models.DateTimeField(null=True, blank=True)  # the file's CreationDateTime
    imported_at = models.DateTimeField()
    subjects = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    audit_records = models.PositiveIntegerField(default=0)
    signatures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["imported_at", "pk"]

    def __str__(self) -> str:
        return f"import of {self.file_name}"


class ImportedAuditRecord(models.Model):
    """One ``AuditRecord`` of an imported file, as the file gave it."""

    site_path = "site"

    origin = models.ForeignKey(OdmImport, on_delete=models.PROTECT, related_name="audit_records_kept")
    sequence = models.PositiveBigIntegerField()  # in the file's trail
    username = models.CharField(max_length=150)
    site = models.ForeignKey(
        "studies.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField()
    reason = models.TextField(blank=True)
    source = models.TextField(blank=True)  # what the file says was done

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["origin", "sequence"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        indexes = [models.Index(fields=["origin", "site", "sequence"])]

    def __str__(self) -> str:
        return f"imported audit record {self.sequence}"


class ImportedSignature(models.Model):
    """A signature an imported file records: who signed what, when, with which meaning."""

    site_path = "subject__site"

    origin = models.ForeignKey(OdmImport, on_delete=models.PROTECT, related_name="signatures_kept")
    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="+")
    visit_code = models.CharField(max_length=40, blank=True)  # "" : the casebook
    printed_name = models.CharField(max_length=300)
    meaning = models.CharField(max_length=300)
    signed_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["signed_at", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"

    def __str__(self) -> str:
        return f"imported signature of {self.printed_name}"
