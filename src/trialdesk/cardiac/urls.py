from django.urls import path

from trialdesk.cardiac import views

app_name = "cardiac"

urlpatterns = [
    path("cardiac/holds/", views.hold_list, name="list"),
    path("subjects/<int:subject_id>/cardiac-hold/", views.decide, name="decide"),
]
