from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "trialdesk.reports"
    label = "reports"
