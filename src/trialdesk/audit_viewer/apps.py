from django.apps import AppConfig


class AuditViewerConfig(AppConfig):
    """The audit trail read by people: per record, subject, site and study, and its CSV export."""

    name = "trialdesk.audit_viewer"
    label = "audit_viewer"
