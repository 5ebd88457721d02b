from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "trialdesk.crf"
    label = "crf"
