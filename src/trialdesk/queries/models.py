"""Queries (discrepancy management) and source data verification marks (DESIGN §5).

Both hang off a form record and are scoped to its subject's site: read them only
through ``Model.objects.for_user(user, study)``. Workflows live in ``services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from trialdesk.crf.models import FormRecord
from trialdesk.studies.scoping import InternalManager, ScopedManager, SiteScopedQuerySet


class QueryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


# Still waiting for someone: the site (open) or the reviewer (answered).
UNRESOLVED = (QueryStatus.OPEN, QueryStatus.ANSWERED)


class QueryOrigin(models.TextChoices):
    EDIT_CHECK = "edit_check", _("Edit check")
    MANUAL = "manual", _("Manual")


class MessageKind(models.TextChoices):
    RAISE = "raise", _("Raised")
    ANSWER = "answer", _("Answered")
    CLOSE = "close", _("Closed")
    REOPEN = "reopen", _("Re-opened")
    COMMENT = "comment", _("Comment")


class QueryQuerySet(SiteScopedQuerySet):
    # a manual query's summary is its first message; a system one's template and parameters
    # (queries.wording) would say it again: dropped with it
    masked_fields = {"summary": "text", "summary_template": "none", "summary_params": "none"}

    def unresolved(self):
        return self.filter(status__in=UNRESOLVED)


class Query(models.Model):
    """A question on one field of a form record (``field_code``; the other fields of the
    failing rule in ``fields`` for a query of an edit check)."""

    site_path = "record__subject__site"

    record = models.ForeignKey(FormRecord, on_delete=models.PROTECT, related_name="queries")
    field_code = models.CharField(max_length=100)
    fields = models.JSONField(default=list, blank=True)
    origin = models.CharField(max_length=20, choices=QueryOrigin.choices)
    check_code = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=20, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    summary = models.CharField(max_length=200)
    # a system query's first message as a template and its parameters (queries.wording), so
    # that pages show it in the reader's language; blank/None for a human's or an old query
    summary_template = models.TextField(blank=True, default="")
    summary_params = models.JSONField(null=True, blank=True)
    record_version = models.PositiveIntegerField()
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_role = models.CharField(max_length=20)
    raised_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reopen_count = models.PositiveIntegerField(default=0)

    objects = ScopedManager.from_queryset(QueryQuerySet)()
    internal = InternalManager.from_queryset(QueryQuerySet)()

    class Meta:
        ordering = ["raised_at", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        verbose_name_plural = "queries"
        indexes = [
            models.Index(fields=["status", "raised_at"]),
            models.Index(fields=["record", "check_code"]),
        ]
        constraints = [
            # An edit check has at most one unresolved query on a record, whatever the races.
            models.UniqueConstraint(
                fields=["record", "check_code"],
                condition=Q(origin="edit_check", status__in=["open", "answered"]),
                name="one_unresolved_query_per_check_and_record",
            )
        ]

    def __str__(self) -> str:
        return f"query #{self.pk}"

    @property
    def label(self) -> str:
        return f"query #{self.pk}"

    @property
    def all_fields(self) -> list[str]:
        return list(self.fields) or [self.field_code]

    @property
    def is_system(self) -> bool:
        return self.raised_by_id is None


class QueryMessageQuerySet(SiteScopedQuerySet):
    masked_fields = {"text": "text", "template": "none", "params": "none"}


class QueryMessage(models.Model):
    """One step of a query's thread. Never edited: a correction is a new message."""

    site_path = "query__record__subject__site"

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    author_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20)
    text = models.TextField()
    # a system message's template (an English gettext_noop string) and its parameters, so that
    # pages re-render it in the reader's language (queries.wording); ``text`` stays as stored
    template = models.TextField(blank=True, default="")
    params = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = ScopedManager.from_queryset(QueryMessageQuerySet)()
    internal = InternalManager.from_queryset(QueryMessageQuerySet)()

    class Meta:
        ordering = ["created_at", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"


class SourceVerificationQuerySet(SiteScopedQuerySet):
    def active(self):
        return self.filter(reset_at__isnull=True)


class SourceVerification(models.Model):
    """A monitor's mark that a field (``field_code``) or the whole form (``field_code`` '')
    of a record matches the source document, at ``record_version``. A later change of the
    field (any field for a whole-form mark) resets it: ``reset_at`` set, the row kept."""

    site_path = "record__subject__site"

    record = models.ForeignKey(FormRecord, on_delete=models.PROTECT, related_name="source_verifications")
    field_code = models.CharField(max_length=100, blank=True)
    record_version = models.PositiveIntegerField()
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_role = models.CharField(max_length=20)
    verified_at = models.DateTimeField()
    reset_at = models.DateTimeField(null=True, blank=True)
    reset_version = models.PositiveIntegerField(null=True, blank=True)

    objects = ScopedManager.from_queryset(SourceVerificationQuerySet)()
    internal = InternalManager.from_queryset(SourceVerificationQuerySet)()

    class Meta:
        ordering = ["verified_at", "pk"]
        base_manager_name = "internal"
        default_manager_name = "objects"
        constraints = [
            models.UniqueConstraint(
                fields=["record", "field_code"],
                condition=Q(reset_at__isnull=True),
                name="one_active_sdv_mark_per_field",
            )
        ]

    @property
    def whole_form(self) -> bool:
        return self.field_code == ""
