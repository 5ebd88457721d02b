from django.urls import path

from trialdesk.treatment import views

app_name = "treatment"

urlpatterns = [
    path("subjects/<int:subject_id>/prescription/validate/", views.validate, name="validate"),
]
