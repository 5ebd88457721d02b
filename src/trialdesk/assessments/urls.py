"""Pages of the assessments app (mounted at /assessments/)."""

from django.urls import path

from trialdesk.assessments import views

app_name = "assessments"

urlpatterns = [
    path("records/<int:record_id>/confirm-response/", views.confirm, name="confirm"),
]
