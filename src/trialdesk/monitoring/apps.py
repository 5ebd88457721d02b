from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "trialdesk.monitoring"
    label = "monitoring"
