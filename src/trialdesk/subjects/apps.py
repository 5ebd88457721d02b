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
        from trialdesk.subjects import calendar

        wording.register(
            consistency.ELIGIBILITY_QUERY_PREFIX,
            consistency.eligibility_text,
            name=consistency.ELIGIBILITY_NAME,
        )
        wording.register(consistency.SEX_QUERY, consistency.episode_text, name=consistency.SEX_NAME)
        wording.register(consistency.AGE_QUERY, consistency.episode_text, name=consistency.AGE_NAME)
        wording.register(calendar.SCREENING_WINDOW_QUERY, name=calendar.SCREENING_WINDOW_NAME)
        from trialdesk.subjects import casebook_header

        casebook_header.register(
            casebook_header.HeaderFact("alert-eligibility", 70, consistency.eligibility_alert)
        )
