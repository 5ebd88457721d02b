"""Failed sign-ins, kept apart from the clinical audit trail.

A failed sign-in comes from someone not yet authenticated: writing it to the clinical
trail would let any client append to it, under its global head lock, as fast as it
can send passwords. Failures go to their own append-only table, chained by HMAC with
the audit key (``LoginFailure``, with its own head ``LoginFailureHead``), and the
number of rows a client can cause is bounded by the per-address throttle
(``LoginThrottle``, a mutable counter: the only state here that changes).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class LoginFailureQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("failed sign-ins are never updated")

    def delete(self):
        raise AppendOnlyError("failed sign-ins are never deleted")


class LoginFailure(models.Model):
    """One refused sign-in (or, for a throttled address, one row per power of ten of
    refusals: ``refusals`` says how many it stands for)."""

    class Reason(models.TextChoices):
        CREDENTIALS = "credentials", _("wrong username or password")
        LOCKED = "locked", _("username locked after too many failures")
        THROTTLED = "throttled", _("too many failures from this address: slowed down")

    sequence = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()
    username = models.CharField(max_length=150, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    refusals = models.PositiveIntegerField(default=1)
    previous_mac = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    mac = models.CharField(max_length=64, unique=True)

    objects = LoginFailureQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["ip", "occurred_at"]), models.Index(fields=["username", "occurred_at"])]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("failed sign-ins are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("failed sign-ins are never deleted")


class LoginFailureHead(models.Model):
    """The last sequence and MAC of the failed sign-ins (one row, pk 1, from a migration):
    locked briefly to append, and compared by verification to notice a cut-off end."""

    last_sequence = models.BigIntegerField(default=0)
    last_mac = models.CharField(max_length=64)


class LoginThrottle(models.Model):
    """The slow-down of one client address: refused before any password is checked until
    ``blocked_until``; ``refusals`` counts the refusals since its last real failure."""

    ip = models.CharField(max_length=45, unique=True)
    blocked_until = models.DateTimeField(null=True, blank=True)
    refusals = models.PositiveIntegerField(default=0)
