from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "trialdesk.assessments"
    label = "assessments"

    def ready(self) -> None:
        from trialdesk.assessments import sections, services
        from trialdesk.crf import panels, savereads
        from trialdesk.crf.events import form_saved
        from trialdesk.subjects import casebook_sections

        form_saved.subscribe(services.on_form_saved)
        savereads.declare(services.save_reads)
        from trialdesk.queries import wording

        wording.register(
            services.DISCORDANCE_QUERY, services.discordance_text, name=services.DISCORDANCE_NAME
        )
        from trialdesk.assessments import header
        from trialdesk.subjects import casebook_header

        casebook_header.register(casebook_header.HeaderFact("best-response", 20, header.best_response))
        casebook_header.register_timeline(casebook_header.TimelineSource("marrows", header.timeline))
        panels.register(
            panels.FormPanel(
                key="derived-response",
                order=20,
                template="assessments/_response_panel.html",
                reads=sections.panel_reads,
                context=sections.panel_context,
            )
        )
        casebook_sections.register(
            casebook_sections.CasebookSection(
                key="course-of-disease",
                order=20,
                template="assessments/_casebook_section.html",
                context=sections.casebook_context,
            )
        )
