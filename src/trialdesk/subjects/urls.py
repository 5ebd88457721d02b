"""Screening, eligibility, enrollment and re-screening pages."""

from django.urls import path

from trialdesk.subjects import screening_views as views
from trialdesk.subjects import search

urlpatterns = [
    path("subjects/search/", search.subject_search, name="subject-search"),
    path("sites/<str:site_code>/screening/", views.screening_log, name="screening-log"),
    path("sites/<str:site_code>/screening/new/", views.screen_patient, name="screening-new"),
    path("subjects/<int:subject_id>/eligibility/", views.eligibility, name="subject-eligibility"),
    path("subjects/<int:subject_id>/enroll/", views.enroll_subject, name="subject-enroll"),
    path("subjects/<int:subject_id>/screen-failure/", views.screen_failure, name="subject-screen-failure"),
    path("subjects/<int:subject_id>/rescreen/", views.rescreen, name="subject-rescreen"),
    path(
        "subjects/<int:subject_id>/confirm-enrollment/",
        views.confirm_pending_enrollment,
        name="subject-confirm-enrollment",
    ),
    path("subjects/<int:subject_id>/reconsent/", views.reconsent, name="subject-reconsent"),
]
