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
        # a dose given during a cardiac hold: the hold said again in the reader's language
        from trialdesk.queries import wording
        from trialdesk.treatment.services import Q_HOLD, RULE_NAMES, hold_text

        wording.register(Q_HOLD, hold_text)
        for code, name in RULE_NAMES.items():
            wording.register(code, name=name)
        # the protocol's edit checks ``answered_by: validated_prescription``
        answers.register("validated_prescription", prescription_answers)
        pages.register_all()
        from trialdesk.subjects import casebook_header
        from trialdesk.treatment import header

        casebook_header.register(
            casebook_header.HeaderFact("days-on-treatment", 10, header.days_on_treatment)
        )
        casebook_header.register_timeline(casebook_header.TimelineSource("doses", header.timeline))
