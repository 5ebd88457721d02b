from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "trialdesk.pharmacy"
    label = "pharmacy"
