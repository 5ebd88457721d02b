"""The audit trail: append-only, chained by HMAC with a key kept outside the database (DESIGN §5).

Rows are never updated or deleted: the model refuses it in Python, triggers refuse
UPDATE, DELETE and TRUNCATE on PostgreSQL, and ``trialdesk audit verify`` detects an
out-of-band change on any database. ``AuditChainHead`` (one row, made by a migration)
holds the last sequence and MAC: appending locks it briefly at the end of a
transaction, and verify (with an anchor receipt kept elsewhere) notices rows cut off
at the end.
"""

from __future__ import annotations

from django.db import models


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    """People read the trail through the audit viewer (``trialdesk.audit_viewer``), which scopes it."""

    def update(self, **kwargs):
        raise AppendOnlyError("audit events are never updated")

    def delete(self):
        raise AppendOnlyError("audit events are never deleted")


class AuditEvent(models.Model):
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
    # The API token the write was made with (trialdesk.api's ApiToken id), or null: a plain id.
    api_token_id = models.BigIntegerField(null=True, blank=True)
    previous_mac = models.CharField(max_length=64)
    # The fingerprint of the key that signed this event (trialdesk.audit.keys.key_id).
    key_id = models.CharField(max_length=16)
    mac = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["site_id", "sequence"]),
            # The audit viewer's reads (audit_viewer.viewer): a study's trail, or its sites'
            # (events_for), newest first by sequence (one object's events: the index above); and
            # each filter of the trail (user, field, action, dates), with its list of choices.
            models.Index(fields=["study_id", "sequence"], name="audit_study_seq"),
            models.Index(fields=["study_id", "site_id", "sequence"], name="audit_study_site_seq"),
            models.Index(fields=["study_id", "username", "sequence"], name="audit_study_user_seq"),
            models.Index(fields=["study_id", "field", "sequence"], name="audit_study_field_seq"),
            models.Index(fields=["study_id", "action", "sequence"], name="audit_study_action_seq"),
            models.Index(fields=["study_id", "occurred_at"], name="audit_study_occurred"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are never deleted")


class AuditChainHead(models.Model):
    """A single row (pk=1, created by a migration): the last sequence number and MAC of the chain.
    On PostgreSQL a trigger lets it only move forward."""

    last_sequence = models.BigIntegerField(default=0)
    last_mac = models.CharField(max_length=64)
