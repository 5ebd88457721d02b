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
        from trialdesk.cardiac import header
        from trialdesk.subjects import casebook_header

        casebook_header.register(casebook_header.HeaderFact("alert-cardiac-hold", 50, header.hold_alert))
        casebook_header.register_timeline(casebook_header.TimelineSource("cardiac-holds", header.timeline))
