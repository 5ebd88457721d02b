from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "trialdesk.exports"
    label = "exports"
