from django.apps import AppConfig


class DeviationsConfig(AppConfig):
    name = "trialdesk.deviations"
    label = "deviations"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.deviations.casebook import register_sections
        from trialdesk.deviations.services import on_form_saved

        form_saved.subscribe(on_form_saved)
        register_sections()
