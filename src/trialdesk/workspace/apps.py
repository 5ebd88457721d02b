from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "trialdesk.workspace"
    label = "workspace"
