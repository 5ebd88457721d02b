"""The investigator's confirmation of a response that differs from the derived one.

The derived response of a marrow assessment is computed, never stored (the clinical core
derives it from the record each time). What is stored is the investigator's decision to
stand by their own assessment where it differs, with the justification: the response
that feeds the endpoints is then theirs. A confirmation holds while the record still
says what was confirmed (the same assessment against the same derived response); a later
change of either makes it stale, and the derived response counts again.

Read only through ``ResponseConfirmation.objects.for_user(user, study)`` (or ``.system``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from trialdesk.crf.models import FormRecord
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class ResponseConfirmationQuerySet(SiteScopedQuerySet):
    masked_fields = {"justification": "text"}  # the site's free text


class ResponseConfirmation(models.Model):
    site_path = "record__subject__site"

    record = models.ForeignKey(FormRecord, on_delete=models.PROTECT, related_name="response_confirmations")
    #: the investigator's category confirmed, and the derived one it differed from
    category = models.CharField(max_length=20)
    derived_category = models.CharField(max_length=20)
    justification = models.TextField()
    record_version = models.PositiveIntegerField()
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_role = models.CharField(max_length=30)
    confirmed_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(ResponseConfirmationQuerySet)()
    internal = InternalManager.from_queryset(ResponseConfirmationQuerySet)()

    class Meta:
        ordering = ["record", "-confirmed_at", "-pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"

    def holds_for(self, investigator: str | None, derived: str) -> bool:
        """Whether this confirmation still applies to the record as it now stands."""
        return investigator == self.category and derived == self.derived_category
