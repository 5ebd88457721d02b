"""The cardiac hold of a subject: opened by an LVEF that meets the protocol's rule
(``trialdesk.clinical.cardiac.assess_cardiac_hold``), ended by an investigator who lifts it
or stops treatment, or closed as entered in error when the LVEF that opened it is corrected
or voided before anyone ended it.

Read only through ``CardiacHold.objects.for_user(user, study)`` (or ``.system("why")``);
written only through ``cardiac.services``. Nothing is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class HoldStatus(models.TextChoices):
    ACTIVE = "active", _("On hold")
    LIFTED = "lifted", _("Lifted")
    TREATMENT_STOPPED = "treatment_stopped", _("Treatment stopped")
    ENTERED_IN_ERROR = "entered_in_error", _("Closed: the LVEF no longer meets the rule")


class HoldCriterion(models.TextChoices):
    DROP = "drop", _("Drop from baseline")
    BELOW_WITH_DROP = "below_with_drop", _("Below the lower limit with a drop from baseline")


class CardiacHoldQuerySet(SiteScopedQuerySet):
    masked_fields = {"end_reason": "text"}


class CardiacHold(models.Model):
    site_path = "subject__site"

    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="cardiac_holds")
    # the LVEF record that met the rule
    record = models.ForeignKey("crf.FormRecord", on_delete=models.PROTECT, related_name="cardiac_holds")
    started_on = models.DateField()  # the date of that LVEF
    baseline_pct = models.FloatField()
    value_pct = models.FloatField()
    drop_points = models.FloatField()
    criterion = models.CharField(max_length=20, choices=HoldCriterion.choices)
    # the clinical core's explanation, as it said it (English, like the system's query texts)
    explanation = models.CharField(max_length=300)
    repeat_lvef_due_on = models.DateField()
    status = models.CharField(max_length=20, choices=HoldStatus.choices, default=HoldStatus.ACTIVE)
    opened_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # the date of the investigator's decision at the site (doses from that day on are not held)
    ended_on = models.DateField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(max_length=500, blank=True)

    objects = ScopedManager.from_queryset(CardiacHoldQuerySet)()
    internal = InternalManager.from_queryset(CardiacHoldQuerySet)()

    class Meta:
        ordering = ["-started_on", "-pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        indexes = [models.Index(fields=["subject", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["subject"],
                condition=models.Q(status="active"),
                name="one_active_cardiac_hold_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"cardiac hold #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status == HoldStatus.ACTIVE

    @property
    def label(self) -> str:
        return f"cardiac hold #{self.pk} of {self.subject.label}"
