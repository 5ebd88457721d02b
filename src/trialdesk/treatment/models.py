"""The prescription of a dose, and the adverse event an infusion reaction opened.

A ``Prescription`` is the dose ``trialdesk.clinical.dosing.propose_dose`` computed for a
subject on a date, validated by an investigator (``VALIDATE_PRESCRIPTION``): it fills the
prescribed fields of its infusion record, which the nurse then completes with what was
given. A new validation for the same infusion supersedes the previous one. Nothing is
deleted; read through ``objects.for_user(user, study)`` or ``.system("why")``, written only
through ``treatment.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class DoseKind(models.TextChoices):
    LOADING = "loading", _("Loading dose")
    MAINTENANCE = "maintenance", _("Maintenance dose")


class PrescriptionStatus(models.TextChoices):
    VALIDATED = "validated", _("Validated")
    SUPERSEDED = "superseded", _("Superseded by a later validation")


class Prescription(models.Model):
    site_path = "subject__site"

    subject = models.ForeignKey("subjects.Subject", on_delete=models.PROTECT, related_name="prescriptions")
    # the infusion record whose prescribed fields it filled
    record = models.ForeignKey("crf.FormRecord", on_delete=models.PROTECT, related_name="prescriptions")
    dose_on = models.DateField()
    kind = models.CharField(max_length=20, choices=DoseKind.choices)
    mg_per_kg = models.FloatField()
    weight_measured_kg = models.FloatField()  # the weight of the day
    weight_used_kg = models.FloatField()  # the weight the dose is computed on
    dose_mg = models.FloatField()
    vials = models.PositiveIntegerField()
    # the interval status of trialdesk.clinical.dosing (first, too_early, on_time, late, missed)
    interval_status = models.CharField(max_length=20)
    days_since_previous = models.IntegerField(null=True, blank=True)
    # the clinical core's reasons, as it said them (English, like the system's query texts)
    reason = models.CharField(max_length=500)
    status = models.CharField(
        max_length=20, choices=PrescriptionStatus.choices, default=PrescriptionStatus.VALIDATED
    )
    validated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    validated_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["-dose_on", "-pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(
                fields=["record"],
                condition=models.Q(status="validated"),
                name="one_validated_prescription_per_infusion",
            )
        ]

    def __str__(self) -> str:
        return f"prescription #{self.pk}"

    @property
    def is_loading(self) -> bool:
        return self.kind == DoseKind.LOADING


class InfusionReactionEvent(models.Model):
    """The adverse event an infusion reaction opened: one per infusion, updated with it."""

    site_path = "infusion__subject__site"

    infusion = models.OneToOneField("crf.FormRecord", on_delete=models.PROTECT, related_name="reaction_event")
    # the adverse-event record it opened
    event_record = models.OneToOneField("crf.FormRecord", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        base_manager_name = "internal"
        default_manager_name = "objects"
