from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "trialdesk.studies"
    label = "studies"
