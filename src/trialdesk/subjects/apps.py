from django.apps import AppConfig


class SubjectsConfig(AppConfig):
    name = "trialdesk.subjects"
    label = "subjects"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.subjects import consistency
        from trialdesk.subjects.calendar import on_form_saved

        form_saved.subscribe(on_form_saved)
        form_saved.subscribe(consistency.on_form_saved)
        from trialdesk.queries import wording

        wording.register(consistency.ELIGIBILITY_QUERY_PREFIX, consistency.eligibility_text)
        wording.register(consistency.SEX_QUERY, consistency.episode_text)
        wording.register(consistency.AGE_QUERY, consistency.episode_text)
        from trialdesk.subjects import casebook_header

        casebook_header.register(
            casebook_header.HeaderFact("alert-eligibility", 70, consistency.eligibility_alert)
        )
