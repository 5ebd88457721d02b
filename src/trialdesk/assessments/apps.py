from django.apps import AppConfig


class AssessmentsConfig(AppConfig):
    name = "trialdesk.assessments"
    label = "assessments"
