from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "trialdesk.pharmacy"
    label = "pharmacy"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.pharmacy.panels import register_panel
        from trialdesk.pharmacy.subscribers import check_dispensing

        form_saved.subscribe(check_dispensing)
        register_panel()
        # how the audit trail reads a disposal's kind (crf.display)
        from trialdesk.crf.display import RecordedValues, register_recorded_values
        from trialdesk.pharmacy.models import DisposalKind

        register_recorded_values("drug_disposal", RecordedValues(choices={"kind": DisposalKind}))
