"""The exports page and its downloads (ODM file, CSV folder as a zip)."""

from django.urls import path

from trialdesk.exports import casebook_views, views

app_name = "exports"

urlpatterns = [
    path("casebook/<int:subject_id>/pdf/", casebook_views.casebook_pdf_download, name="casebook-pdf"),
    path("", views.export_page, name="page"),
    path("odm/", views.download, {"kind": "odm"}, name="odm"),
    path("csv/", views.download, {"kind": "csv"}, name="csv"),
]
