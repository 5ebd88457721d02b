from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    name = "trialdesk.signatures"
    label = "signatures"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.signatures.services import void_signatures_for_change

        form_saved.subscribe(void_signatures_for_change)
        from trialdesk.signatures import header
        from trialdesk.subjects import casebook_header

        casebook_header.register(casebook_header.HeaderFact("signature", 30, header.signature_state))
