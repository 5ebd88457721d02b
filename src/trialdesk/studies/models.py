"""Study, sites and who may do what where (DESIGN §1)."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from trialdesk.protocol import Protocol


class Study(models.Model):
    nct_id = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=500)
    # The protocol file as loaded: the study runs on this text, whatever the
    # packaged file becomes later, and its hash names the version in exports.
    protocol_yaml = models.TextField()
    protocol_sha256 = models.CharField(max_length=64)
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.nct_id

    @staticmethod
    def hash_protocol(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def protocol(self) -> Protocol:
        from trialdesk.studies.protocols import protocol_from_text

        # The text is read only when its parse is not cached yet: a study loaded with
        # ``defer("protocol_yaml")`` (the write path) does not fetch 50 kB per save.
        return protocol_from_text(lambda: self.protocol_yaml, self.protocol_sha256)


class Site(models.Model):
    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="sites")
    code = models.CharField(max_length=8)
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=60, blank=True)
    activated_on = models.DateField(null=True, blank=True)
    # IANA zone of the hospital: "today" at the site (worklists, due and overdue) is its date there
    time_zone = models.CharField(max_length=64, default="UTC")
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["study", "code"], name="unique_site_code_per_study")]

    def __str__(self) -> str:
        return f"{self.code} {self.city}"

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """The date at the site (in its time zone) now, or at the moment ``now``: the day a
        worklist, a due date or a decision taken at the bedside belongs to."""
        now = now or timezone.now()
        try:
            zone = zoneinfo.ZoneInfo(self.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = zoneinfo.ZoneInfo("UTC")
        return now.astimezone(zone).date()


class Role(models.TextChoices):
    INVESTIGATOR = "investigator", _("Investigator")
    COORDINATOR = "coordinator", _("Coordinator (research nurse)")
    MONITOR = "monitor", _("Monitor (CRA)")
    DATA_MANAGER = "data_manager", _("Data manager")
    STATISTICIAN = "statistician", _("Statistician")
    SPONSOR_ADMIN = "sponsor_admin", _("Sponsor administrator")
    # sponsor vigilance: every site's safety data, pseudonymised (DESIGN §1)
    SAFETY_OFFICER = "safety_officer", _("Safety officer")


# Roles whose scope is every site of the study whatever their membership rows say.
ALL_SITES_ROLES = frozenset({Role.DATA_MANAGER, Role.STATISTICIAN, Role.SPONSOR_ADMIN, Role.SAFETY_OFFICER})


class Membership(models.Model):
    """A user's role in a study, at one site (site set) or at all sites (site null).

    Investigators, coordinators and monitors need one row per site; a null site
    for them means every site (a monitor of the whole study).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The period the role is held (the user-access history inspectors read): a membership is
    # never deleted, it is ended (active False, ``ended_on``); the same role at the same site
    # may be granted again later, as a new row.
    started_on = models.DateField(default=timezone.localdate)
    ended_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "study", "role", "site"],
                condition=models.Q(active=True),
                name="unique_active_membership",
            ),
        ]

    def __str__(self) -> str:
        where = self.site.code if self.site_id else "all sites"
        return f"{self.user} {self.role} @ {where}"


class OperationalStatus(models.TextChoices):
    """Where the study stands for the sponsor (distinct from the registry's status, a fact
    of the protocol's identification): set by the sponsor administrator, dated."""

    SET_UP = "set_up", _("Set up")
    RECRUITING = "recruiting", _("Recruiting")
    RECRUITMENT_CLOSED = "recruitment_closed", _("Recruitment closed")
    CLOSED = "closed", _("Closed")


# What may follow each status (recruitment may re-open; a closed study stays closed).
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    OperationalStatus.SET_UP: frozenset({OperationalStatus.RECRUITING, OperationalStatus.CLOSED}),
    OperationalStatus.RECRUITING: frozenset({OperationalStatus.RECRUITMENT_CLOSED, OperationalStatus.CLOSED}),
    OperationalStatus.RECRUITMENT_CLOSED: frozenset({OperationalStatus.RECRUITING, OperationalStatus.CLOSED}),
    OperationalStatus.CLOSED: frozenset(),
}


class StudyStatusChange(models.Model):
    """One dated step of the study's operational status; the latest one effective on a day
    is the status of that day. A study without any is being set up."""

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="status_changes")
    status = models.CharField(max_length=20, choices=OperationalStatus.choices)
    effective_on = models.DateField()
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_by_name = models.CharField(max_length=150, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_on", "pk"]

    def __str__(self) -> str:
        return f"{self.study} {self.status} from {self.effective_on}"
