"""The audit trail: append-only, hash-chained (DESIGN §5).

Rows are never updated or deleted: the model refuses it in Python, a trigger
refuses it on PostgreSQL, and ``trialdesk audit verify`` detects an out-of-band
change on any database. ``AuditChainHead`` holds the last sequence and hash: it
serialises writers (row lock) and lets verify notice rows cut off at the end.
"""

from __future__ import annotations

from django.db import models

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
