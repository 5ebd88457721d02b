from django.urls import path

from trialdesk.workspace import views

app_name = "workspace"
urlpatterns = [
    path("queries/", views.query_list, name="queries"),
    path("incomplete-forms/", views.incomplete_forms, name="incomplete-forms"),
    path("changed-forms/", views.changed_forms, name="changed-forms"),
    path("saes/", views.sae_list, name="saes"),
    path("adverse-events/", views.adverse_events, name="adverse-events"),
    path("due-this-week/", views.due_this_week, name="due-this-week"),
]
