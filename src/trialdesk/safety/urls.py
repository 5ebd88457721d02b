from django.urls import path

from trialdesk.safety import views

app_name = "safety"

urlpatterns = [
    path("", views.sae_list, name="sae-list"),
    path("adverse-events/", views.ae_list, name="ae-list"),
    path("sae/<int:report_id>/", views.sae_detail, name="sae"),
    path("sae/<int:report_id>/cioms.pdf", views.cioms_pdf, name="cioms"),
]
