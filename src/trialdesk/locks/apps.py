from django.apps import AppConfig


class LocksConfig(AppConfig):
    """Locks at record, subject, site and study level (the lock columns live on those models)."""

    name = "trialdesk.locks"
    label = "locks"

    def ready(self) -> None:
        from trialdesk.locks import header
        from trialdesk.subjects import casebook_header

        casebook_header.register(casebook_header.HeaderFact("lock", 40, header.lock_state))
