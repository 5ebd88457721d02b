from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "trialdesk.treatment"
    label = "treatment"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.queries import answers
        from trialdesk.treatment import pages
        from trialdesk.treatment.services import on_form_saved, prescription_answers

        form_saved.subscribe(on_form_saved)
        # the protocol's edit checks ``answered_by: validated_prescription``
        answers.register("validated_prescription", prescription_answers)
        pages.register_all()
