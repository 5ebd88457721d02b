from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Login hardening: lockouts (django-axes), TOTP two-factor (django-otp), idle timeout,
    security headers, error pages, and the audit events of signing in and out."""

    name = "trialdesk.accounts"
    label = "accounts"
    verbose_name = "Accounts and login"

    def ready(self) -> None:
        from trialdesk.accounts import receivers  # noqa: F401  (connects the audit receivers)
