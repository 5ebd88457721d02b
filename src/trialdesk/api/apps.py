from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "trialdesk.api"
    label = "api"
