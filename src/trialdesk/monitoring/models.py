"""The monitoring visit report (issue 15): what a monitor verified at a site, found and asked
the site to do, saved as a draft, signed with their password, then read-only.

A correction of a signed report is an addendum: a new report (``amends`` the earlier one,
``version`` + 1) signed in its turn; the earlier one is never edited. Read the reports only
through ``Model.objects.for_user(user, study)`` or ``.system("why")`` (studies.scoping);
the workflows live in ``services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from trialdesk.studies.models import Site, Study
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class VisitKind(models.TextChoices):
    ON_SITE = "on_site", _("On-site visit")
    REMOTE = "remote", _("Remote visit")


class ReportStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("monitoring visit report", "Draft")
    SIGNED = "signed", pgettext_lazy("monitoring visit report", "Signed")


class FindingCategory(models.TextChoices):
    CONSENT = "consent", _("Informed consent")
    ELIGIBILITY = "eligibility", _("Eligibility")
    DOSING = "dosing", _("Dosing")
    SAFETY_REPORTING = "safety_reporting", _("Safety reporting")
    DRUG_ACCOUNTABILITY = "drug_accountability", _("Drug accountability")
    DATA_QUALITY = "data_quality", _("Data quality")
    OTHER = "other", _("Other")


class Severity(models.TextChoices):
    # ICH E6(R3) / EMA GCP inspection grading of findings
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")


class FollowUpState(models.TextChoices):
    OPEN = "open", pgettext_lazy("follow-up action", "Open")
    DONE = "done", pgettext_lazy("follow-up action", "Done")


class MonitoringVisit(models.Model):
    """One monitoring visit report of one site. ``verified`` and ``queries_raised`` are
    computed from the SDV marks and queries while it is a draft, frozen here at signing."""

    site_path = "site"

    study = models.ForeignKey(Study, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    monitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    visit_date = models.DateField()
    kind = models.CharField(max_length=20, choices=VisitKind.choices, default=VisitKind.ON_SITE)
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.DRAFT)
    attendees = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    amends = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="addenda"
    )
    addendum_reason = models.TextField(blank=True)
    # the period the SDV marks and queries are taken from: (period_start, visit_date]; None: from the start
    period_start = models.DateField(null=True, blank=True)
    verified = models.JSONField(default=list, blank=True)
    queries_raised = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    printed_name = models.CharField(max_length=200, blank=True)
    meaning_text = models.CharField(max_length=200, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["-visit_date", "-version", "-pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        indexes = [models.Index(fields=["site", "status", "visit_date"])]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"MV-{self.pk} {self.site.code} {self.visit_date.isoformat()} v{self.version}"

    @property
    def is_draft(self) -> bool:
        return self.status == ReportStatus.DRAFT


class Finding(models.Model):
    site_path = "visit__site"

    visit = models.ForeignKey(MonitoringVisit, on_delete=models.PROTECT, related_name="findings")
    category = models.CharField(max_length=30, choices=FindingCategory.choices)
    severity = models.CharField(max_length=20, choices=Severity.choices, default=Severity.MINOR)
    text = models.TextField()

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"


class FollowUp(models.Model):
    site_path = "visit__site"

    visit = models.ForeignKey(MonitoringVisit, on_delete=models.PROTECT, related_name="follow_ups")
    text = models.TextField()
    responsible = models.CharField(max_length=200)
    due_on = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=20, choices=FollowUpState.choices, default=FollowUpState.OPEN)

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"


class FollowUpCompletion(models.Model):
    """A follow-up of a signed report marked done: by whom, on which day at the site, recorded
    when. The signed report is never edited (its content hash covers the follow-up's state as
    signed); the next report of the site shows it done and no longer carries it forward."""

    site_path = "follow_up__visit__site"

    follow_up = models.OneToOneField(FollowUp, on_delete=models.PROTECT, related_name="completion")
    done_on = models.DateField()
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    done_by_name = models.CharField(max_length=200)
    recorded_at = models.DateTimeField()
    note = models.TextField(blank=True)

    objects = ScopedManager.from_queryset(SiteScopedQuerySet)()
    internal = InternalManager.from_queryset(SiteScopedQuerySet)()

    class Meta:
        ordering = ["pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
