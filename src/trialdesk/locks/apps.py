from django.apps import AppConfig


class LocksConfig(AppConfig):
    """Locks at record, subject, site and study level (the lock columns live on those models)."""

    name = "trialdesk.locks"
    label = "locks"
