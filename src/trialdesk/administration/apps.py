from django.apps import AppConfig


class AdministrationConfig(AppConfig):
    name = "trialdesk.administration"
    label = "administration"
