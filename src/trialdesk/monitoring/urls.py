from django.urls import path

from trialdesk.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.visit_list, name="list"),
    path("new/", views.visit_create, name="new"),
    path("<int:monitoring_visit_id>/", views.visit_page, name="visit"),
    path("<int:monitoring_visit_id>/edit/", views.visit_edit, name="edit"),
    path("<int:monitoring_visit_id>/findings/", views.finding_add, name="finding-add"),
    path("<int:monitoring_visit_id>/findings/remove/", views.finding_remove, name="finding-remove"),
    path("<int:monitoring_visit_id>/follow-ups/", views.follow_up_add, name="follow-up-add"),
    path("<int:monitoring_visit_id>/follow-ups/state/", views.follow_up_state, name="follow-up-state"),
    path("<int:monitoring_visit_id>/follow-ups/remove/", views.follow_up_remove, name="follow-up-remove"),
    path("<int:monitoring_visit_id>/follow-ups/done/", views.follow_up_done, name="follow-up-done"),
    path("<int:monitoring_visit_id>/sign/", views.visit_sign, name="sign"),
    path("<int:monitoring_visit_id>/addendum/", views.visit_addendum, name="addendum"),
    path("<int:monitoring_visit_id>/report.pdf", views.visit_pdf, name="pdf"),
    path("<int:monitoring_visit_id>/findings.csv", views.visit_csv, name="csv"),
    path("<int:monitoring_visit_id>/report.json", views.visit_json, name="json"),
]
