"""The audit viewer and its CSV export, per scope (mounted at /audit/)."""

from django.urls import path

from trialdesk.audit_viewer import views

urlpatterns = [
    path("", views.trail, {"kind": "study"}, name="audit-study"),
    path("csv/", views.trail_csv, {"kind": "study"}, name="audit-study-csv"),
    path("sites/<str:key>/", views.trail, {"kind": "site"}, name="audit-site"),
    path("sites/<str:key>/csv/", views.trail_csv, {"kind": "site"}, name="audit-site-csv"),
    path("subjects/<int:key>/", views.trail, {"kind": "subject"}, name="audit-subject"),
    path("subjects/<int:key>/csv/", views.trail_csv, {"kind": "subject"}, name="audit-subject-csv"),
    path("records/<int:key>/", views.trail, {"kind": "record"}, name="audit-record"),
    path("records/<int:key>/csv/", views.trail_csv, {"kind": "record"}, name="audit-record-csv"),
]
