from django.urls import path

from trialdesk.api.redcap import views

urlpatterns = [
    path("api/", views.api, name="redcap-api"),
]
