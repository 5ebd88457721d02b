from django.apps import AppConfig


class CardiacConfig(AppConfig):
    name = "trialdesk.cardiac"
    label = "cardiac"
