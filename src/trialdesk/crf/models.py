"""Form records: one row per subject × visit × form × repeat, data as JSON."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet
from trialdesk.subjects.models import Subject, Visit


class FormStatus(models.TextChoices):
    INCOMPLETE = "incomplete", _("Incomplete")
    COMPLETE = "complete", _("Complete")


class ReasonForChange(models.TextChoices):
    """Why data saved complete was changed (DESIGN §5); OTHER needs an explanation."""

    TRANSCRIPTION_ERROR = "transcription_error", _("Transcription error")
    SOURCE_UPDATED = "source_updated", _("Source document updated")
    QUERY_RESPONSE = "query_response", _("Response to a query")
    LATE_RESULT = "late_result", _("Late result received")
    OTHER = "other", _("Other")
    # Set by the REDCap-compatible API's record import (issue 14), never chosen on a form.
    API_IMPORT = "api_import", _("Imported through the REDCap API")
    # Set by `trialdesk import odm` (issue 12) on the data it replays, never chosen on a form.
    IMPORT = "import", _("Imported from an ODM file")


#: the reasons a user picks from on a form page (the others are set by the system)
FORM_REASONS = [
    choice
    for choice in ReasonForChange.choices
    if choice[0] not in (ReasonForChange.API_IMPORT, ReasonForChange.IMPORT)
]


def holds_value(value) -> bool:
    """Whether a field of a record's data holds a value: neither missing, null nor empty text."""
    return value not in (None, "")


def filled_count(data: dict | None) -> int:
    """How many fields of a record's data hold a value (``FormRecord.filled_fields``)."""
    return sum(1 for value in (data or {}).values() if holds_value(value))


class FormRecordQuerySet(SiteScopedQuerySet):
    masked_fields = {"data": "form_data"}


class FormRecord(models.Model):
    """The data of one form. ``version`` grows by one at each save: a save that names
    an older version is refused (no lost update). Visit-less log forms have no visit
    and are told apart by ``repeat``."""

    site_path = "subject__site"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="form_records")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="form_records")
    form_code = models.CharField(max_length=50)
    repeat = models.PositiveIntegerField(default=1)
    data = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=FormStatus.choices, default=FormStatus.INCOMPLETE)
    version = models.PositiveIntegerField(default=1)
    first_completed_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    # A record entered in error is voided, never deleted (DESIGN §5): kept, shown struck
    # through, left out of the analysis, of ``previous.`` and of the edit checks.
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.TextField(blank=True)
    # How many of ``data``'s fields hold a value (``filled_count``), kept by the form engine
    # at each save: the SDV figures count from it in SQL instead of decoding every record.
    filled_fields = models.PositiveIntegerField(default=0)

    objects = ScopedManager.from_queryset(FormRecordQuerySet)()
    internal = InternalManager.from_queryset(FormRecordQuerySet)()

    class Meta:
        ordering = ["subject", "visit__sequence", "form_code", "repeat"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        indexes = [
            # Covers the SDV counts (complete records of the subjects, their filled fields)
            # without reading the rows and their JSON.
            models.Index(fields=["subject", "status", "filled_fields"], name="crf_record_filled_fields"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "visit", "form_code", "repeat"],
                condition=Q(visit__isnull=False),
                name="unique_visit_form_record",
            ),
            models.UniqueConstraint(
                fields=["subject", "form_code", "repeat"],
                condition=Q(visit__isnull=True),
                name="unique_log_form_record",
            ),
        ]

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    @property
    def label(self) -> str:
        """How the trail, the query lists, the locks and the signing page name this record:
        one way, everywhere (``NTE-S01 SCR screening``, ``NTE-S01 C1 lvef #2``,
        ``NTE-S01 log #3 infusion``).

        It names the subject by its screening number, which never changes, not by
        ``subject.label`` (the subject code once enrolled): the trail's events of one
        record keep one label from its creation at screening to its last change."""
        subject = self.subject.screening_number
        if self.visit_id:
            repeat = f" #{self.repeat}" if self.repeat > 1 else ""
            return f"{subject} {self.visit.code} {self.form_code}{repeat}"
        return f"{subject} log #{self.repeat} {self.form_code}"

    def __str__(self) -> str:
        return self.label
