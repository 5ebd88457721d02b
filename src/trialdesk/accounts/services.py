"""Signing in and out: who needs a second factor, enrolling and checking TOTP devices, and
the audit events of it all (object_type ``user``). Every write runs in a transaction with
its audit event."""

from __future__ import annotations

import math
from base64 import b32encode
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialdesk.audit.services import Actor, record
from trialdesk.studies.models import Membership, Role

# Roles that change or judge clinical data: a stolen password alone must not be enough.
TWO_FACTOR_ROLES = frozenset({Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER})
DEVICE_NAME = "trialdesk authenticator"
MAX_USERNAME = 150
ANONYMOUS = Actor(user_id=None, username="anonymous", role="")


def two_factor_enforced() -> bool:
    return bool(getattr(settings, "TRIALDESK_REQUIRE_2FA", True))


def requires_two_factor(user) -> bool:
    """Whether this user must pass a second factor: any active membership in a 2FA role, or
    a device they enrolled (once enrolled, always asked)."""
    if not two_factor_enforced() or not getattr(user, "is_authenticated", False):
        return False
    if Membership.objects.filter(user=user, active=True, role__in=TWO_FACTOR_ROLES).exists():
        return True
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def client_ip(request) -> str:
    """The client address as django-axes computed it (proxy-aware), else REMOTE_ADDR."""
    if request is None:
        return ""
    return getattr(request, "axes_ip_address", None) or request.META.get("REMOTE_ADDR", "") or ""


def _role(user) -> str:
    """The role recorded for a sign-in: the user's role if one, else the first of them."""
    roles = sorted(set(Membership.objects.filter(user=user, active=True).values_list("role", flat=True)))
    return roles[0] if roles else ""


def _record_user_event(actor: Actor, action: str, user, *, new_value=None, reason: str = "", label: str = ""):
    with transaction.atomic():
        return record(
            actor,
            action,
            object_type="user",
            object_id=user.pk if user is not None else "",
            object_label=label or (user.get_username() if user is not None else ""),
            new_value=new_value,
            reason=reason,
        )


# --- audit of authentication events (called by the signal receivers) -------------------------


def record_login(user, request) -> None:
    details = {"ip": client_ip(request)}
    if requires_two_factor(user):
        details["second_factor"] = "required"
    _record_user_event(Actor.for_user(user, _role(user)), "login", user, new_value=details)


def record_logout(user, request, reason: str = "") -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return
    _record_user_event(
        Actor.for_user(user, _role(user)), "logout", user, new_value={"ip": client_ip(request)}, reason=reason
    )


def _tried_username(credentials: dict | None) -> str:
    username_field = get_user_model().USERNAME_FIELD
    value = (credentials or {}).get(username_field) or (credentials or {}).get("username") or ""
    return str(value)[:MAX_USERNAME]


def _existing_user(username: str):
    if not username:
        return None
    return get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()


def record_login_failed(credentials: dict | None, request, *, refused_while_locked: bool = False) -> None:
    """A failed sign-in: the username tried and where from; never the password."""
    username = _tried_username(credentials)
    user = _existing_user(username)
    details = {"username": username, "ip": client_ip(request)}
    if refused_while_locked:
        details["refused_while_locked"] = True
    _record_user_event(ANONYMOUS, "login_failed", user, new_value=details, label=username)


def record_account_locked(username: str, request) -> None:
    from axes.helpers import get_cool_off, get_failure_limit

    username = str(username or "")[:MAX_USERNAME]
    user = _existing_user(username)
    cool_off = get_cool_off(request)
    details = {
        "username": username,
        "ip": client_ip(request),
        "failures": get_failure_limit(request, getattr(request, "axes_credentials", None)),
        "locked_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    _record_user_event(ANONYMOUS, "account_locked", user, new_value=details, label=username)


# --- TOTP two-factor ------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, as authenticator apps type it
    uri: str  # otpauth://totp/...

    @property
    def secret_groups(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def pending_enrolment(user) -> Enrolment:
    """The user's unconfirmed device (created once, so reloading the page keeps the secret)."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return Enrolment(device=device, secret=secret, uri=device.config_url)


class Throttled(Exception):
    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def _throttle_wait(device: TOTPDevice) -> int | None:
    """Seconds to wait before the next code may be tried (django-otp's exponential back-off)."""
    allowed, _ = device.verify_is_allowed()
    if allowed:
        return None
    required = device.get_throttle_factor() * 2 ** (device.throttling_failure_count - 1)
    elapsed = (timezone.now() - device.throttling_failure_timestamp).total_seconds()
    return max(1, math.ceil(required - elapsed))


def _check_token(request, device: TOTPDevice, token: str, *, enrolling: bool) -> bool:
    user = request.user
    actor = Actor.for_user(user, _role(user))
    token = "".join(str(token or "").split())
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        wait = _throttle_wait(device)
        if wait is not None:
            raise Throttled(wait)
        if not device.verify_token(token):
            record(
                actor,
                "two_factor_failed",
                object_type="user",
                object_id=user.pk,
                object_label=user.get_username(),
                new_value={"ip": client_ip(request)},
            )
            return False
        if enrolling:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
        record(
            actor,
            "two_factor_enrolled" if enrolling else "two_factor_verified",
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
            new_value={"ip": client_ip(request)},
        )
    otp_login(request, device)
    return True


def confirm_enrolment(request, token: str) -> bool:
    """Confirm the pending device with a first code from the app; the session is then verified."""
    if confirmed_device(request.user) is not None:
        raise PermissionError("a device is already enrolled")
    enrolment = pending_enrolment(request.user)
    return _check_token(request, enrolment.device, token, enrolling=True)


def verify_second_factor(request, token: str) -> bool:
    device = confirmed_device(request.user)
    if device is None:
        raise PermissionError("no device enrolled")
    return _check_token(request, device, token, enrolling=False)


def reset_two_factor(user, actor: Actor, reason: str) -> int:
    """Remove a user's devices (lost phone): they enrol again at their next sign-in."""
    with transaction.atomic():
        count, _ = TOTPDevice.objects.filter(user=user).delete()
        record(
            actor,
            "two_factor_reset",
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
            reason=reason,
            new_value={"devices_removed": count},
        )
    return count


def unlock_account(username: str, actor: Actor, reason: str) -> int:
    """Clear the failed attempts of a username from every address (django-axes), audited."""
    from axes.handlers.proxy import AxesProxyHandler

    with transaction.atomic():
        count = AxesProxyHandler.reset_attempts(username=username)
        record(
            actor,
            "account_unlocked",
            object_type="user",
            object_id=getattr(_existing_user(username), "pk", ""),
            object_label=username[:MAX_USERNAME],
            reason=reason,
            new_value={"attempt_records_cleared": count},
        )
    return count
