"""Per-user API tokens (issue 14): one user, one study, stored hashed.

The raw token (32 hexadecimal characters, the shape REDCap clients expect) is shown
once, when it is made; only its SHA-256 is kept (``digest``), with its first
characters (``prefix``) so that its owner can tell their tokens apart.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("user")
    )
    # A token is for one study: the REST API under its path, the REDCap API's project.
    study = models.ForeignKey(
        "studies.Study", on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("study")
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("starts with"), max_length=8)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "study"])]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now=None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)
