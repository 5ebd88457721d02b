from django.apps import AppConfig


class QueriesConfig(AppConfig):
    name = "trialdesk.queries"
    label = "queries"
