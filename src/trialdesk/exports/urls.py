"""The exports page and its background exports (one file, or a folder as a zip), and the PDF casebook."""

from django.urls import path

from trialdesk.exports import casebook_views, views

app_name = "exports"

urlpatterns = [
    path("casebook/<int:subject_id>/pdf/", casebook_views.casebook_pdf_download, name="casebook-pdf"),
    path("", views.export_page, name="page"),
    path("odm/", views.download, {"kind": "odm"}, name="odm"),
    path("csv/", views.download, {"kind": "csv"}, name="csv"),
    path("sdtm/", views.download, {"kind": "sdtm"}, name="sdtm"),
    path("fhir/", views.download, {"kind": "fhir"}, name="fhir"),
    path("ctgov-results/", views.download, {"kind": "ctgov-results"}, name="ctgov-results"),
]
