"""Locks (mounted at /audit/, where they have always been)."""

from django.urls import path

from trialdesk.locks import views

urlpatterns = [
    path("locks/", views.locks_page, name="locks"),
    path("locks/<str:level>/<int:pk>/", views.lock_action, name="lock-action"),
]
