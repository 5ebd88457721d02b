"""HTTP-layer guards: security headers, idle timeout, and the second factor before any page."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import ngettext

from trialdesk.accounts import services
from trialdesk.accounts.receivers import LOGOUT_REASON_ATTRIBUTE

LAST_SEEN_SESSION_KEY = "trialdesk_last_seen"


def redirect_to(request, url: str) -> HttpResponse:
    """A redirect a browser follows, and an htmx request too (a whole-page HX-Redirect, not a
    login form swapped into a fragment)."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def _with_next(url_name: str, request) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': request.get_full_path()})}"


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (Django's own
    middleware sets X-Frame-Options, Referrer-Policy, nosniff, COOP and HSTS)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "TRIALDESK_CONTENT_SECURITY_POLICY", "")
        if policy:
            response.headers.setdefault("Content-Security-Policy", policy)
        permissions = getattr(settings, "TRIALDESK_PERMISSIONS_POLICY", "")
        if permissions:
            response.headers.setdefault("Permissions-Policy", permissions)
        return response


class IdleTimeoutMiddleware:
    """Sign out a user whose session saw no request for TRIALDESK_SESSION_IDLE_MINUTES.

    The session cookie and the stored session expire after the same delay
    (SESSION_COOKIE_AGE, saved on every request); this makes it exact, audited (a
    ``logout`` event with the reason) and explained on the login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            minutes = int(getattr(settings, "TRIALDESK_SESSION_IDLE_MINUTES", 30))
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            if isinstance(last_seen, int | float) and now - last_seen > minutes * 60:
                setattr(request, LOGOUT_REASON_ATTRIBUTE, f"idle for more than {minutes} minutes")
                logout(request)
                messages.warning(
                    request,
                    ngettext(
                        "You were signed out after %(minutes)d minute without activity. Please sign in again.",
                        "You were signed out after %(minutes)d minutes without activity. Please sign in again.",
                        minutes,
                    )
                    % {"minutes": minutes},
                )
                return redirect_to(request, _with_next("login", request))
            request.session[LAST_SEEN_SESSION_KEY] = now
        return self.get_response(request)


class TwoFactorMiddleware:
    """Until their session is verified by a TOTP code, a signed-in user (every user needs a
    second factor unless TRIALDESK_REQUIRE_2FA=0) sees only the enrolment / verification
    pages, sign-out and the language switch. Needs django_otp's OTPMiddleware before it.

    Sets ``request.two_factor_done``: the base template shows the study's menu only then."""

    EXEMPT_URL_NAMES = ("login", "logout", "two-factor-setup", "two-factor-verify", "set_language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        blocked = self._redirect_if_unverified(request)
        request.two_factor_done = blocked is None and not services.two_factor_pending(request)
        return blocked or self.get_response(request)

    def _redirect_if_unverified(self, request):
        if not services.two_factor_enforced():
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        is_verified = getattr(user, "is_verified", None)
        if is_verified is None:
            raise RuntimeError("TwoFactorMiddleware needs django_otp.middleware.OTPMiddleware before it")
        if is_verified() or self._is_exempt(request.path):
            return None
        if not services.requires_two_factor(user):
            return None
        target = "two-factor-verify" if services.confirmed_device(user) else "two-factor-setup"
        return redirect_to(request, _with_next(target, request))

    def _is_exempt(self, path: str) -> bool:
        if settings.STATIC_URL and path.startswith(settings.STATIC_URL):
            return True
        return any(path == reverse(name) for name in self.EXEMPT_URL_NAMES)
