"""API tokens: made, listed, revoked (audited) and checked.

``authenticate(raw)`` is the one check every API uses (the REST API's Bearer header,
the REDCap API's ``token`` field): it returns ``(user, token)`` for a token that
exists, is neither revoked nor expired, and belongs to an active user; otherwise None.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from trialdesk.api.models import ApiToken
from trialdesk.audit.services import Actor, audited, record

TOKEN_LENGTH = 32
PREFIX_LENGTH = 6
MAX_EXPIRY_DAYS = 3650
_TOKEN_SHAPE = re.compile(r"^[0-9A-Fa-f]{32}$")
# last_used_at is written at most this often per token: a script's burst of calls is one write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be made or revoked as asked (the message says why)."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    raw: str  # shown once, never stored


def digest_of(raw: str) -> str:
    return hashlib.sha256(raw.strip().upper().encode("ascii")).hexdigest()


def _new_raw() -> str:
    return secrets.token_hex(TOKEN_LENGTH // 2).upper()


def authenticate(raw_token: str | None) -> tuple[object, ApiToken] | None:
    """The user and token of ``raw_token``; None for a missing, malformed, unknown,
    expired or revoked token, or one of an inactive user."""
    if not raw_token or not isinstance(raw_token, str):
        return None
    raw = raw_token.strip()
    if not _TOKEN_SHAPE.match(raw):
        return None
    wanted = digest_of(raw)
    token = ApiToken.objects.select_related("user", "study").filter(digest=wanted).first()
    if token is None or not hmac.compare_digest(token.digest, wanted):
        return None
    now = timezone.now()
    if not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def create_token(user, study, *, by=None, expires_days: int | None = None, name: str = "") -> NewToken:
    """A new token of ``user`` for ``study``, audited (``api_token_created``) as the act of
    ``by`` (the user themself by default; the system for the command line)."""
    if expires_days is not None and not (1 <= expires_days <= MAX_EXPIRY_DAYS):
        raise TokenError(f"the expiry must be between 1 and {MAX_EXPIRY_DAYS} days")
    if not user.is_active:
        raise TokenError(f"user {user.get_username()} is inactive")
    name = (name or "").strip()[:100]
    actor = by or Actor.person(user)
    now = timezone.now()
    raw = _new_raw()
    with audited():
        token = ApiToken.objects.create(
            user=user,
            study=study,
            name=name,
            prefix=raw[:PREFIX_LENGTH],
            digest=digest_of(raw),
            created_at=now,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )
        record(
            actor,
            "api_token_created",
            study_id=study.pk,
            object_type="api_token",
            object_id=token.pk,
            object_label=f"{user.get_username()} {token.prefix}",
            new_value={
                "user": user.get_username(),
                "name": name,
                "prefix": token.prefix,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
        )
    return NewToken(token=token, raw=raw)


def revoke_token(token: ApiToken, *, by=None, reason: str = "") -> ApiToken:
    """Revoke ``token`` (audited: ``api_token_revoked``); a revoked token stays revoked."""
    actor = by or Actor.person(token.user)
    with audited():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked_at is not None:
            raise TokenError(f"token {locked.prefix}… is already revoked")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record(
            actor,
            "api_token_revoked",
            study_id=locked.study_id,
            object_type="api_token",
            object_id=locked.pk,
            object_label=f"{locked.user.get_username()} {locked.prefix}",
            old_value={"revoked_at": None},
            new_value={"revoked_at": locked.revoked_at.isoformat()},
            reason=reason,
        )
    token.revoked_at = locked.revoked_at
    return token


def tokens_of(user, study=None):
    found = ApiToken.objects.filter(user=user).select_related("study")
    return found.filter(study=study) if study is not None else found


__all__ = [
    "ApiToken",
    "NewToken",
    "TokenError",
    "authenticate",
    "create_token",
    "revoke_token",
    "tokens_of",
]
