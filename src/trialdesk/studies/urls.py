"""The study's own pages (its operational status)."""

from django.urls import path

from trialdesk.studies import views

urlpatterns = [
    path("status/", views.status_page, name="study-status"),
]
