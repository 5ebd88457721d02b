"""Sign-in (slowed down per address, locked per username), the lockout page, and TOTP
enrolment / verification."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from trialdesk.accounts import services

LOGIN_TEMPLATE = "accounts/login.html"


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": gettext_lazy("Your username and password didn't match. Try again."),
    }


class LoginView(auth_views.LoginView):
    template_name = LOGIN_TEMPLATE
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # An address that failed too often waits before any password is checked again.
        ip = services.client_ip(request)
        wait = services.throttle_wait(ip)
        if wait:
            username = str(request.POST.get("username", ""))[:150]
            services.record_refusal(username, ip)
            return throttled(request, wait, username)
        return super().post(request, *args, **kwargs)


def throttled(request, seconds: int, username: str):
    """The sign-in page saying how long to wait, as 429 with Retry-After."""
    form = SignInForm(request, initial={"username": username})
    context = {"form": form, "throttled_seconds": seconds, "next": request.POST.get("next", "")}
    response = render(request, LOGIN_TEMPLATE, context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): the sign-in page with the reason."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))[:150]
    form = SignInForm(request, initial={"username": username})
    context = {"form": form, "locked_minutes": minutes, "locked": True, "next": request.POST.get("next", "")}
    return render(request, LOGIN_TEMPLATE, context, status=429)


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("6-digit code"),
        max_length=16,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "pattern": r"[0-9 ]*",
            }
        ),
    )


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _token_page(request, template: str, form: TokenForm, context: dict, *, check) -> object:
    """Shared POST handling of the two pages: check the code, or say why not."""
    if request.method == "POST" and form.is_valid():
        try:
            if check(request, form.cleaned_data["token"]):
                return redirect(_next_url(request))
            form.add_error("token", _("This code is not valid. Enter the code your app shows now."))
        except services.Throttled as exc:
            form.add_error(
                "token",
                ngettext(
                    "Too many wrong codes. Wait %(seconds)d second, then try again.",
                    "Too many wrong codes. Wait %(seconds)d seconds, then try again.",
                    exc.seconds,
                )
                % {"seconds": exc.seconds},
            )
    status = 400 if form.errors else 200
    return render(request, template, {**context, "form": form, "next": _next_url(request)}, status=status)


@never_cache
@sensitive_post_parameters("token")
@login_required
def two_factor_setup(request):
    """First sign-in of a user who needs a second factor: show the secret, confirm a code."""
    if _already_verified(request):
        return redirect(_next_url(request))
    if services.confirmed_device(request.user) is not None:
        # Replacing an enrolled device needs the old one (or an administrator's reset).
        return redirect(f"{reverse('two-factor-verify')}?{request.GET.urlencode()}")
    enrolment = services.pending_enrolment(request.user)
    form = TokenForm(request.POST or None)
    return _token_page(
        request,
        "accounts/two_factor_setup.html",
        form,
        {"enrolment": enrolment, "issuer": getattr(settings, "OTP_TOTP_ISSUER", "trialdesk")},
        check=services.confirm_enrolment,
    )


@never_cache
@sensitive_post_parameters("token")
@login_required
def two_factor_verify(request):
    if _already_verified(request):
        return redirect(_next_url(request))
    if services.confirmed_device(request.user) is None:
        return redirect(f"{reverse('two-factor-setup')}?{request.GET.urlencode()}")
    form = TokenForm(request.POST or None)
    return _token_page(
        request, "accounts/two_factor_verify.html", form, {}, check=services.verify_second_factor
    )


def _already_verified(request) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())
