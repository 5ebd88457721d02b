"""Drug accountability at a site (ICH E6 4.6): shipments received, vials returned or
destroyed, and the monitor's verifications. Vials dispensed are not stored here: they are
read from the infusion records (the concepts ``dose_lot`` and ``dose_vials``).

Every row belongs to a site: read them only through ``Model.objects.for_user(user, study)``
(or ``.system("why")``); write them only through ``pharmacy.services``. Nothing is deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.models import Site
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class DisposalKind(models.TextChoices):
    RETURNED = "returned", _("Returned to the sponsor")
    DESTROYED = "destroyed", _("Destroyed at the site")


class ShipmentQuerySet(SiteScopedQuerySet):
    masked_fields = {"comment": "text"}


class Shipment(models.Model):
    """Vials of one lot received at the site."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(max_length=40)
    vials = models.PositiveIntegerField()
    expires_on = models.DateField()
    received_on = models.DateField()
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    comment = models.CharField(max_length=500, blank=True)

    objects = ScopedManager.from_queryset(ShipmentQuerySet)()
    internal = InternalManager.from_queryset(ShipmentQuerySet)()

    class Meta:
        ordering = ["received_on", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        indexes = [models.Index(fields=["site", "lot_number"])]

    def __str__(self) -> str:
        return f"shipment #{self.pk}"

    @property
    def label(self) -> str:
        return f"shipment #{self.pk} lot {self.lot_number}"


class DisposalQuerySet(SiteScopedQuerySet):
    masked_fields = {"reason": "text"}


class Disposal(models.Model):
    """Vials of one lot returned to the sponsor or destroyed at the site."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, choices=DisposalKind.choices)
    vials = models.PositiveIntegerField()
    on = models.DateField()
    reason = models.CharField(max_length=500)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(DisposalQuerySet)()
    internal = InternalManager.from_queryset(DisposalQuerySet)()

    class Meta:
        ordering = ["on", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        indexes = [models.Index(fields=["site", "lot_number"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def label(self) -> str:
        return f"{self.kind} #{self.pk} lot {self.lot_number}"


class VerificationQuerySet(SiteScopedQuerySet):
    masked_fields = {"comment": "text"}


class Verification(models.Model):
    """A monitor's verification of the site's accountability: the balance seen, lot by lot."""

    site_path = "site"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    verified_on = models.DateField()
    balance = models.IntegerField()
    # lot number -> {"received", "dispensed", "returned", "destroyed", "balance"} as seen
    lots = models.JSONField(default=dict)
    comment = models.CharField(max_length=1000, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(VerificationQuerySet)()
    internal = InternalManager.from_queryset(VerificationQuerySet)()

    class Meta:
        ordering = ["verified_at", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"

    def __str__(self) -> str:
        return f"accountability verification #{self.pk}"

    @property
    def label(self) -> str:
        return f"accountability verification #{self.pk}"
