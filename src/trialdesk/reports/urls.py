"""The recruitment dashboard and the analysis report (whole, or its safety part)."""

from django.urls import path

from trialdesk.reports import views

urlpatterns = [
    path("recruitment/", views.recruitment, name="recruitment"),
    path("analysis/", views.analysis_report, name="analysis_report"),
    path("safety/", views.safety_report, name="safety_report"),
    path("analysis/download/", views.report_download, {"kind": "analysis-report"}, name="analysis_report_download"),
    path("safety/download/", views.report_download, {"kind": "safety-report"}, name="safety_report_download"),
]
