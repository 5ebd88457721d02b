from django.apps import AppConfig


class CardiacConfig(AppConfig):
    name = "trialdesk.cardiac"
    label = "cardiac"

    def ready(self) -> None:
        from trialdesk.cardiac import pages
        from trialdesk.cardiac.services import on_form_saved
        from trialdesk.crf.events import form_saved

        form_saved.subscribe(on_form_saved)
        pages.register_all()
