"""Signing in as a test client does: through the login form, with a second factor if needed.

Importable by other tests that want a fully verified session with 2FA on
(``sign_in_verified``), instead of turning TRIALDESK_REQUIRE_2FA off.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from tests.conftest import PASSWORD

LOGIN_URL = "/accounts/login/"
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "src" / "trialdesk" / "web" / "settings.py"


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app would show now for this device."""
    device.refresh_from_db()
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{value:0{device.digits}d}"


def post_login(client, username: str, password: str = PASSWORD, *, ip: str = "10.0.0.1", **extra):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def enrolled_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="test phone", confirmed=True)


def sign_in_verified(client, user) -> TOTPDevice:
    """A session as after password + TOTP code: the user is verified (django-otp)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or enrolled_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def settings_module(monkeypatch, **env) -> dict:
    """The settings module's values as a fresh process would compute them from this environment."""
    for name in (
        "TRIALDESK_DEBUG",
        "TRIALDESK_HTTPS",
        "TRIALDESK_REQUIRE_2FA",
        "TRIALDESK_SESSION_IDLE_MINUTES",
        "TRIALDESK_LOGIN_FAILURE_LIMIT",
        "TRIALDESK_LOCKOUT_MINUTES",
        "TRIALDESK_PROXY_COUNT",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))
