"""Receivers of Django's authentication signals and of django-axes lockouts.

Sign-in and sign-out go to the clinical audit trail as the user (no clinical role); a
failed sign-in goes to the chain of failed sign-ins only (``accounts.failures``), so an
anonymous client never writes to the clinical trail. The lock of a real account is an
event of that account in the clinical trail.
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from trialdesk.accounts import services

LOGOUT_REASON_ATTRIBUTE = "trialdesk_logout_reason"


@receiver(user_logged_in, dispatch_uid="trialdesk.accounts.login")
def audit_login(sender, request, user, **kwargs):
    services.record_login(user, request)


@receiver(user_logged_out, dispatch_uid="trialdesk.accounts.logout")
def audit_logout(sender, request, user, **kwargs):
    services.record_logout(user, request, reason=getattr(request, LOGOUT_REASON_ATTRIBUTE, ""))


@receiver(user_login_failed, dispatch_uid="trialdesk.accounts.login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already masked the password in ``credentials``; only the username is kept.
    services.record_login_failed(credentials, request, refused_while_locked=_refused_while_locked(request))


@receiver(user_locked_out, dispatch_uid="trialdesk.accounts.locked_out")
def audit_account_locked(sender, request, username, ip_address, **kwargs):
    # django-axes sends this on the failure that reaches the limit, and again on each attempt
    # refused during the lockout; those are failed sign-ins, not new locks.
    if not _refused_while_locked(request):
        services.record_account_locked(username, request)


def _refused_while_locked(request) -> bool:
    """The attempt was refused by the lockout before any password check (axes' early path:
    the request is marked locked out but no failures were counted for it)."""
    return (
        bool(getattr(request, "axes_locked_out", False))
        and getattr(request, "axes_failures_since_start", None) is None
    )
