"""Safety: CTCAE-coded adverse events, SAE notification, the safety officer's acknowledgement and expectedness, SUSAR deadlines, CIOMS I (issue 10)."""

from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "trialdesk.safety"
    label = "safety"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.crf.panels import FormPanel, register
        from trialdesk.safety import panels, services
        from trialdesk.subjects import casebook_sections

        form_saved.subscribe(services.on_form_saved)
        from django.utils.translation import gettext_noop

        from trialdesk.queries import wording

        wording.register(services.FATAL_CHECK, name=gettext_noop("A grade 5 event and the recorded death"))
        # how the audit trail reads the safety officer's assessment (crf.display)
        from django.utils.translation import gettext_lazy

        from trialdesk.crf.display import RecordedValues, register_recorded_values
        from trialdesk.safety.models import Expectedness

        register_recorded_values(
            "sae",
            RecordedValues(
                labels={
                    "expectedness": gettext_lazy("Expectedness"),
                    "aware_on": gettext_lazy("Sponsor aware on"),
                },
                choices={"expectedness": Expectedness},
            ),
        )
        from trialdesk.safety import header
        from trialdesk.subjects import casebook_header

        casebook_header.register(casebook_header.HeaderFact("alert-sae", 60, header.open_sae))
        casebook_header.register_timeline(casebook_header.TimelineSource("adverse-events", header.timeline))
        register(
            FormPanel(
                key="ctcae-grades",
                order=20,
                template="safety/_ctcae_panel.html",
                reads=panels.ctcae_reads,
                context=panels.ctcae_context,
            )
        )
        casebook_sections.register(
            casebook_sections.CasebookSection(
                key="safety",
                order=40,
                template="safety/_casebook_section.html",
                context=panels.casebook_context,
            )
        )
