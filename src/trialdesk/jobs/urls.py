"""The user's background jobs: the list a page polls, and the download of a finished job."""

from django.urls import path

from trialdesk.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.rows, name="rows"),
    path("<uuid:job_id>/download/", views.download, name="download"),
]
