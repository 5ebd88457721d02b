"""A background job of one user in one study: what was asked, how far it went, what it made."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


UNFINISHED = (JobState.QUEUED, JobState.RUNNING)


class Job(models.Model):
    """One job. ``task`` is the dotted path of the callable that does the work (handed over by
    the app that asked for it: this app imports none of them); ``title`` is its English name as
    the asking app marked it for translation (shown translated)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT, related_name="jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    task = models.CharField(max_length=200)
    permission = models.CharField(max_length=40)  # the user must still hold it to download
    parameters = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, default="en")  # of the user's messages
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    run_token = models.UUIDField(null=True, blank=True)  # of the attempt that may write the job
    done_count = models.PositiveIntegerField(default=0)  # subjects written so far
    total_count = models.PositiveIntegerField(null=True, blank=True)  # None: not known yet
    result_path = models.CharField(max_length=500, blank=True)
    result_name = models.CharField(max_length=200, blank=True)
    result_content_type = models.CharField(max_length=100, blank=True)
    result_sha256 = models.CharField(max_length=64, blank=True)
    result_size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)  # in the user's language
    queue_task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "study", "-created_at"], name="jobs_of_a_user")]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} of {self.user_id}"

    @property
    def shown_title(self) -> str:
        return gettext(self.title)

    @property
    def data_up_to(self) -> dt.date | None:
        """The cut-off the job was asked with (its ``cutoff`` parameter), if any."""
        try:
            return dt.date.fromisoformat(self.parameters.get("cutoff") or "")
        except (TypeError, ValueError, AttributeError):
            return None

    @property
    def file_removed(self) -> bool:
        """Done, and its file removed since (TRIALDESK_JOB_KEEP_DAYS after it was written)."""
        return self.state == JobState.DONE and not self.result_path

    @property
    def unfinished(self) -> bool:
        return self.state in UNFINISHED

    @property
    def percent(self) -> int | None:
        if self.state == JobState.DONE:
            return 100
        if not self.total_count:
            return None
        return min(100, round(100 * self.done_count / self.total_count))
