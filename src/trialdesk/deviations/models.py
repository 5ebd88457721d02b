"""A computed protocol deviation acknowledged by a monitor or a data manager, with a comment.

Deviations themselves are not stored: they are computed from the data by the clinical rules
(``trialdesk.clinical.deviations``). An acknowledgement is attached by the deviation's stable
key (rule and record), so it stays attached when the deviations are computed again. Written
only through ``deviations.services.acknowledge`` (audited); nothing is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class AcknowledgementQuerySet(SiteScopedQuerySet):
    masked_fields = {"comment": "text"}


class DeviationAcknowledgement(models.Model):
    site_path = "subject__site"

    subject = models.ForeignKey(
        "subjects.Subject", on_delete=models.PROTECT, related_name="deviation_acknowledgements"
    )
    key = models.CharField(max_length=200)
    comment = models.TextField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_role = models.CharField(max_length=20)
    acknowledged_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(AcknowledgementQuerySet)()
    internal = InternalManager.from_queryset(AcknowledgementQuerySet)()

    class Meta:
        base_manager_name = "internal"
        default_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(fields=["subject", "key"], name="one_acknowledgement_per_deviation")
        ]

    def __str__(self) -> str:
        return f"acknowledgement of {self.key}"
