from django.apps import AppConfig


class TreatmentConfig(AppConfig):
    name = "trialdesk.treatment"
    label = "treatment"
