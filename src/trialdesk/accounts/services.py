"""Signing in and out: the second factor every user gives, enrolling and checking TOTP
devices, failed sign-ins (their own chain, see ``failures``) and the audit events of the rest.

Successful sign-ins, sign-outs, lockouts of a real account and two-factor events are rare
and belong to a known user: they go to the clinical audit trail as that person, in no
clinical role (``Actor.person``). Failed sign-ins come from anyone: they never touch the
clinical trail or its lock."""

from __future__ import annotations

import math
from base64 import b32encode
from dataclasses import dataclass

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from trialdesk.accounts import failures
from trialdesk.accounts.failures import record_refusal, throttle_wait, verify_login_failures
from trialdesk.accounts.models import LoginFailure
from trialdesk.audit.services import Actor, audited, record

__all__ = ["record_refusal", "throttle_wait", "verify_login_failures"]

DEVICE_NAME = "trialdesk authenticator"
MAX_USERNAME = 150


def two_factor_enforced() -> bool:
    return bool(getattr(settings, "TRIALDESK_REQUIRE_2FA", True))


def requires_two_factor(user) -> bool:
    """Whether this user must pass a second factor: every signed-in user, whatever their
    role, unless two-factor is switched off (TRIALDESK_REQUIRE_2FA=0, the demo)."""
    return two_factor_enforced() and bool(getattr(user, "is_authenticated", False))


def two_factor_pending(request) -> bool:
    """The user is signed in but has not yet given their second factor in this session."""
    user = getattr(request, "user", None)
    if not requires_two_factor(user):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified and is_verified())


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def client_ip(request) -> str:
    """The client address as django-axes computes it (proxy-aware), else REMOTE_ADDR."""
    if request is None:
        return ""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        from axes.helpers import get_client_ip_address

        address = get_client_ip_address(request)
    return address or request.META.get("REMOTE_ADDR", "") or ""


def _record_user_event(actor: Actor, action: str, user, *, new_value=None, reason: str = ""):
    with audited():
        return record(
            actor,
            action,
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
            new_value=new_value,
            reason=reason,
        )


# --- sign-in events (called by the signal receivers) ----------------------------------------


def record_login(user, request) -> None:
    details = {"ip": client_ip(request)}
    if requires_two_factor(user):
        details["second_factor"] = "required"
    _record_user_event(Actor.person(user), "login", user, new_value=details)


def record_logout(user, request, reason: str = "") -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        return
    _record_user_event(Actor.person(user), "logout", user, new_value={"ip": client_ip(request)}, reason=reason)


def _tried_username(credentials: dict | None) -> str:
    username_field = get_user_model().USERNAME_FIELD
    value = (credentials or {}).get(username_field) or (credentials or {}).get("username") or ""
    return str(value)[:MAX_USERNAME]


def _existing_user(username: str):
    if not username:
        return None
    return get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username}).first()


def record_login_failed(credentials: dict | None, request, *, refused_while_locked: bool = False) -> LoginFailure:
    """A failed sign-in, in the chain of failed sign-ins (never the clinical trail): the
    username tried and where from, never the password. Counted against the address."""
    reason = LoginFailure.Reason.LOCKED if refused_while_locked else LoginFailure.Reason.CREDENTIALS
    return failures.record_failure(_tried_username(credentials), client_ip(request), reason)


def record_account_locked(username: str, request) -> None:
    """The lock of a real account, in the clinical trail as that person; a name that is
    no account leaves only its failed sign-ins."""
    from axes.helpers import get_cool_off, get_failure_limit

    user = _existing_user(str(username or "")[:MAX_USERNAME])
    if user is None:
        return
    cool_off = get_cool_off(request)
    details = {
        "ip": client_ip(request),
        "failures": get_failure_limit(request, getattr(request, "axes_credentials", None)),
        "locked_minutes": int(cool_off.total_seconds() // 60) if cool_off else None,
    }
    _record_user_event(Actor.person(user), "account_locked", user, new_value=details)


# --- TOTP two-factor ------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    secret: str  # base32, as authenticator apps type it
    uri: str  # otpauth://totp/...

    @property
    def secret_groups(self) -> str:
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    @property
    def qr_svg(self) -> str:
        """The otpauth URI as a QR code, an SVG made here to put inline in the page: no
        script, no style attribute, no remote service. Only path data, so safe to embed."""
        code = segno.make(self.uri, error="m")
        svg = code.svg_inline(scale=4, border=4, dark="#000", light="#fff", svgclass="qr", lineclass=None)
        return mark_safe(svg)  # noqa: S308 (generated by segno from our own URI: no markup of the user)


def pending_enrolment(user) -> Enrolment:
    """The user's unconfirmed device (created once, so reloading the page keeps the secret)."""
    with audited():
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
    actor = Actor.person(user)
    token = "".join(str(token or "").split())
    with audited():
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


def reset_two_factor(user, actor: Actor, reason: str, *, study_id: int | None = None) -> int:
    """Remove a user's devices (lost phone): they enrol again at their next sign-in.
    ``study_id``: the study whose administrator resets it (the event is in its trail)."""
    with audited():
        count, _ = TOTPDevice.objects.filter(user=user).delete()
        record(
            actor,
            "two_factor_reset",
            study_id=study_id,
            object_type="user",
            object_id=user.pk,
            object_label=user.get_username(),
            reason=reason,
            new_value={"devices_removed": count},
        )
    return count


def unlock_account(username: str, actor: Actor, reason: str, *, study_id: int | None = None) -> int:
    """Clear the failed attempts of a username from every address (django-axes), audited.
    ``study_id``: the study whose administrator unlocks it (the event is in its trail)."""
    from axes.handlers.proxy import AxesProxyHandler

    with audited():
        count = AxesProxyHandler.reset_attempts(username=username)
        record(
            actor,
            "account_unlocked",
            study_id=study_id,
            object_type="user",
            object_id=getattr(_existing_user(username), "pk", ""),
            object_label=username[:MAX_USERNAME],
            reason=reason,
            new_value={"attempt_records_cleared": count},
        )
    return count
