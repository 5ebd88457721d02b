from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "trialdesk.jobs"
    label = "jobs"
