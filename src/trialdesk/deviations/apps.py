from django.apps import AppConfig


class DeviationsConfig(AppConfig):
    name = "trialdesk.deviations"
    label = "deviations"
