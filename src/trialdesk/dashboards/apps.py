from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "trialdesk.dashboards"
    label = "dashboards"
