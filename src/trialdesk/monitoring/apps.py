from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "trialdesk.monitoring"
    label = "monitoring"

    def ready(self) -> None:
        # how the audit trail reads what the services record of a visit report (crf.display)
        from django.utils.translation import gettext_lazy as _
        from django.utils.translation import pgettext_lazy

        from trialdesk.crf.display import RecordedValues, register_recorded_values
        from trialdesk.monitoring.models import (
            FindingCategory,
            FollowUpState,
            ReportStatus,
            Severity,
            VisitKind,
        )
        from trialdesk.monitoring.services import SIGNATURE_MEANING

        register_recorded_values(
            "monitoring_visit",
            RecordedValues(
                labels={
                    "visit_date": _("Visit date"),
                    "kind": pgettext_lazy("monitoring visit", "Kind"),
                    "attendees": _("Attendees"),
                    "summary": _("Summary"),
                    "category": _("Category"),
                    "severity": _("Severity"),
                    "text": pgettext_lazy("monitoring visit", "Text"),
                    "due_on": pgettext_lazy("monitoring visit", "Due on"),
                    "state": pgettext_lazy("monitoring visit", "State"),
                    "meaning_text": _("Meaning"),
                    "content_sha256": _("SHA-256 of the signed content"),
                    "verified_records": _("Records verified"),
                    "queries_raised": _("Queries raised"),
                },
                choices={
                    "kind": VisitKind,
                    "status": ReportStatus,
                    "category": FindingCategory,
                    "severity": Severity,
                    "state": FollowUpState,
                    # the meaning signed, stored in English: the same words in the reader's language
                    "meaning_text": {"Author of this monitoring visit report": SIGNATURE_MEANING},
                },
                # a person's words, and the meaning as it was signed
                typed=frozenset({"attendees", "summary", "text", "printed_name", "meaning_text"}),
            ),
        )
