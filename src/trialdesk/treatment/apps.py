from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "trialdesk.treatment"
    label = "treatment"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.treatment import pages
        from trialdesk.treatment.services import on_form_saved

        form_saved.subscribe(on_form_saved)
        pages.register_all()
