from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "trialdesk.queries"
    label = "queries"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.queries.services import on_form_saved

        form_saved.subscribe(on_form_saved)
