"""A serious adverse event's report: when it was notified, the safety officer's
acknowledgement (the day the sponsor became aware) and expectedness assessment.

The event itself is the adverse-event form record (its term, grade, seriousness criteria,
causality); this row holds what the sponsor did with it. Scoped to the subject's site like
the records it points at: read it through ``SaeReport.objects.for_user(user, study)``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.crf.models import FormRecord
from trialdesk.studies.models import Study
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class Expectedness(models.TextChoices):
    EXPECTED = "expected", _("Expected")
    UNEXPECTED = "unexpected", _("Unexpected")


class SaeReportQuerySet(SiteScopedQuerySet):
    masked_fields = {"expectedness_comment": "text"}

    def unacknowledged(self):
        return self.filter(acknowledged_at__isnull=True)


class SaeReport(models.Model):
    site_path = "record__subject__site"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    record = models.OneToOneField(FormRecord, on_delete=models.PROTECT, related_name="sae_report")
    # when the event was first saved as serious, and when its notification e-mails left
    reported_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    notified_to = models.JSONField(default=list, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # the day the sponsor became aware (the acknowledgement, at the site's date): day 0 of a SUSAR's deadline
    aware_on = models.DateField(null=True, blank=True)
    expectedness = models.CharField(max_length=20, choices=Expectedness.choices, blank=True)
    expectedness_comment = models.TextField(blank=True)
    assessed_at = models.DateTimeField(null=True, blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ScopedManager.from_queryset(SaeReportQuerySet)()
    internal = InternalManager.from_queryset(SaeReportQuerySet)()

    class Meta:
        ordering = ["-reported_at", "-pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"

    def __str__(self) -> str:
        return f"SAE #{self.pk}"
