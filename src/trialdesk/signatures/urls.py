"""Electronic signatures (mounted at /audit/, where they have always been)."""

from django.urls import path

from trialdesk.signatures import views

urlpatterns = [
    path("subjects/<int:subject_id>/sign/", views.sign_page, name="sign"),
    path("to-sign/", views.to_sign_page, name="casebooks-to-sign"),
]
