from django.apps import AppConfig
from django.core import checks


class QueriesConfig(AppConfig):
    name = "trialdesk.queries"
    label = "queries"

    def ready(self) -> None:
        from trialdesk.crf.events import form_saved
        from trialdesk.queries.services import on_form_saved

        form_saved.subscribe(on_form_saved)
        checks.register(_answers_are_registered)
        from trialdesk.queries import services, wording

        # a change made in response: the fields by their labels, the values as labels
        wording.register_template(services.T_CHANGED_IN_RESPONSE, services.changes_in_response)
        # a change of another record resolved a check: that record named by its form's title
        wording.register_template(services.T_CLOSED_BY_CHANGE_ELSEWHERE, services.changed_elsewhere)
        wording.register_template(services.T_CLOSED_BY_CHANGE_ELSEWHERE_RULE, services.changed_elsewhere)


def _answers_are_registered(app_configs=None, **kwargs):
    """Every ``answered_by`` of the protocols shipped with trialdesk names a fact an app registered."""
    from trialdesk.protocol.loader import default_protocol_path, load_protocol
    from trialdesk.queries.answers import registered

    known = registered()
    return [
        checks.Error(
            f"{path.name}: {form.code}.{check.code}: answered_by {check.answered_by!r} is registered by "
            f"no app (known: {', '.join(sorted(known)) or 'none'}).",
            id="queries.E001",
        )
        for path in sorted(default_protocol_path().parent.glob("*.yaml"))
        for form in load_protocol(path).forms
        for check in form.edit_checks
        if check.answered_by and check.answered_by not in known
    ]
