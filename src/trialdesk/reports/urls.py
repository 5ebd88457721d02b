"""The recruitment dashboard."""

from django.urls import path

from trialdesk.reports import views

urlpatterns = [
    path("recruitment/", views.recruitment, name="recruitment"),
]
