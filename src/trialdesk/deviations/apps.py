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
        from django.utils.translation import gettext_noop

        from trialdesk.deviations.services import ASSESSMENT_WINDOW_QUERY
        from trialdesk.queries import wording

        wording.register(ASSESSMENT_WINDOW_QUERY, name=gettext_noop("Assessment within its window"))
