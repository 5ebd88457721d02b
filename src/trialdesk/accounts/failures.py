"""Failed sign-ins: their own append-only chain, and the slow-down of a client address.

Each failure is one ``LoginFailure`` row whose MAC (HMAC-SHA-256 with the audit key)
covers its content and the MAC of the row before it; ``verify_login_failures`` walks
the chain. Appending locks only this chain's head, never the clinical trail's.

Per client address, failures in a sliding window (``TRIALDESK_LOGIN_IP_WINDOW_MINUTES``)
beyond a free allowance (``TRIALDESK_LOGIN_IP_FAILURES``) block the address for a
delay that doubles with each further failure, up to ``TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS``:
while blocked, a sign-in is refused before any password is checked, with the seconds
to wait. The lock of a username is django-axes' (per username, from any address), so
one user's mistakes never lock out the others behind the same hospital address.

Rows a client can cause are bounded: a row per real password check (which the
slow-down rate-limits), and for the refusals of a blocked address one row at the
1st, 10th, 100th… refusal since its last real failure, carrying that count.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trialdesk.accounts.models import LoginFailure, LoginFailureHead, LoginThrottle
from trialdesk.audit.chain import GENESIS_MAC, ChainVerdict, verify_chain
from trialdesk.audit.keys import KeyRing, key_ring

MAX_USERNAME = 150
MAX_IP = 45
# The fields a failure's MAC covers. Adding one is a format change.
FAILURE_MAC_FIELDS = (
    "sequence",
    "occurred_at",
    "username",
    "ip",
    "reason",
    "refusals",
    "previous_mac",
    "key_id",
)
# Domain separation: a MAC of this chain is never a valid MAC of the clinical trail.
_DOMAIN = b"trialdesk login failure v1\x00"
# Failures that were a real attempt (a password checked, or a locked username tried).
ATTEMPTS = (LoginFailure.Reason.CREDENTIALS, LoginFailure.Reason.LOCKED)


# --- the chain ------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def failure_content(row: Mapping[str, Any]) -> bytes:
    """The bytes a failure's MAC covers (strings and integers only: the same on every database)."""
    values = {name: _plain(row.get(name)) for name in FAILURE_MAC_FIELDS}
    return _DOMAIN + json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def failure_mac(row: Mapping[str, Any], key: bytes) -> str:
    return hmac.new(key, failure_content(row), hashlib.sha256).hexdigest()


def _clean(text: str | None, limit: int) -> str:
    # PostgreSQL text holds no NUL character; a name tried with one is kept recognisable.
    return str(text or "").replace("\x00", "\ufffd")[:limit]


def _head_for_update(using: str) -> LoginFailureHead:
    head = LoginFailureHead.objects.using(using).select_for_update().filter(pk=1).first()
    if head is not None:
        return head
    # The head row comes from a migration; only an empty chain may get a new one (a test
    # database emptied by flush on SQLite). Failures without a head: tampered, refused.
    if LoginFailure.objects.using(using).exists():
        raise RuntimeError("the head of the failed sign-ins is missing: verify them")
    return LoginFailureHead.objects.using(using).create(pk=1, last_sequence=0, last_mac=GENESIS_MAC)


def _append(username: str, ip: str, reason: str, refusals: int, using: str) -> LoginFailure:
    """Chain and insert one row (inside the caller's transaction: the head is locked last)."""
    ring = key_ring()
    head = _head_for_update(using)
    row = LoginFailure(
        sequence=head.last_sequence + 1,
        occurred_at=timezone.now(),
        username=_clean(username, MAX_USERNAME),
        ip=_clean(ip, MAX_IP),
        reason=reason,
        refusals=refusals,
        previous_mac=head.last_mac,
        key_id=ring.current_id,
    )
    row.mac = failure_mac({name: getattr(row, name) for name in FAILURE_MAC_FIELDS}, ring.current)
    row.save(using=using)
    LoginFailureHead.objects.using(using).filter(pk=1).update(last_sequence=row.sequence, last_mac=row.mac)
    return row


def walk_chain(
    rows: Iterable[Mapping[str, Any]], keys: Mapping[str, bytes], head_sequence: int, head_mac: str | None
) -> ChainVerdict:
    """Name the first row that does not follow from the one before it (rows in sequence order):
    the audit chain's rules (``trialdesk.audit.chain.verify_chain``) with this chain's MAC."""
    return verify_chain(rows, keys, head_sequence, head_mac, mac_of=failure_mac, item="failed sign-in")


def verify_login_failures(ring: KeyRing | None = None, using: str = "default") -> ChainVerdict:
    """Recompute the chain of failed sign-ins from the database, streaming in sequence order."""
    ring = ring or key_ring()
    head = LoginFailureHead.objects.using(using).filter(pk=1).first()
    rows = (
        LoginFailure.objects.using(using)
        .order_by("sequence")
        .values(*FAILURE_MAC_FIELDS, "mac")
        .iterator(chunk_size=2000)
    )
    # A missing head row is itself damage: compared as an empty chain, it is reported.
    return walk_chain(rows, ring.keys, head.last_sequence if head else 0, head.last_mac if head else None)


# --- the slow-down of a client address ------------------------------------------------------


@dataclass(frozen=True)
class ThrottlePolicy:
    failures: int  # failures from one address in the window before it is slowed down
    window: timedelta
    max_delay_seconds: int

    def delay_after(self, failures: int) -> int:
        """Seconds an address is blocked after its ``failures``-th failure in the window:
        none up to the allowance, then 1, 2, 4… up to the maximum."""
        excess = failures - self.failures
        if excess <= 0:
            return 0
        return min(2 ** min(excess - 1, 30), self.max_delay_seconds)


def policy() -> ThrottlePolicy:
    return ThrottlePolicy(
        failures=int(getattr(settings, "TRIALDESK_LOGIN_IP_FAILURES", 10)),
        window=timedelta(minutes=int(getattr(settings, "TRIALDESK_LOGIN_IP_WINDOW_MINUTES", 15))),
        max_delay_seconds=int(getattr(settings, "TRIALDESK_LOGIN_IP_MAX_DELAY_SECONDS", 60)),
    )


def throttle_wait(ip: str, using: str = "default") -> int:
    """Seconds this address must still wait before a sign-in is checked (0: go ahead)."""
    if not ip:
        return 0
    now = timezone.now()
    blocked_until = (
        LoginThrottle.objects.using(using)
        .filter(ip=_clean(ip, MAX_IP), blocked_until__gt=now)
        .values_list("blocked_until", flat=True)
        .first()
    )
    if blocked_until is None:
        return 0
    return max(1, math.ceil((blocked_until - now).total_seconds()))


def _is_logged_refusal(count: int) -> bool:
    """1, 10, 100, …: a blocked address leaves a number of rows logarithmic in its refusals."""
    while count >= 10 and count % 10 == 0:
        count //= 10
    return count == 1


def record_failure(username: str, ip: str, reason: str, using: str = "default") -> LoginFailure:
    """A real failed attempt: chained, and counted against the address (which it may block)."""
    ip = _clean(ip, MAX_IP)
    with transaction.atomic(using=using):
        if ip:
            rules = policy()
            now = timezone.now()
            throttle, _ = LoginThrottle.objects.using(using).select_for_update().get_or_create(ip=ip)
            recent = (
                LoginFailure.objects.using(using)
                .filter(ip=ip, reason__in=ATTEMPTS, occurred_at__gt=now - rules.window)
                .count()
            )
            delay = rules.delay_after(recent + 1)
            throttle.blocked_until = now + timedelta(seconds=delay) if delay else None
            throttle.refusals = 0
            throttle.save(using=using, update_fields=["blocked_until", "refusals"])
        # The head last: held only for the insert.
        return _append(username, ip, reason, 1, using)


def record_refusal(username: str, ip: str, using: str = "default") -> int:
    """A sign-in refused because its address is blocked: counted; chained only at the
    1st, 10th, 100th… refusal since the address's last real failure. Returns the count."""
    ip = _clean(ip, MAX_IP)
    with transaction.atomic(using=using):
        throttle, _ = LoginThrottle.objects.using(using).select_for_update().get_or_create(ip=ip)
        throttle.refusals += 1
        throttle.save(using=using, update_fields=["refusals"])
        if _is_logged_refusal(throttle.refusals):
            _append(username, ip, LoginFailure.Reason.THROTTLED, throttle.refusals, using)
    return throttle.refusals
