"""The REST API at ``/api/`` (its OpenAPI document and docs) and, under each study's
prefix, ``/studies/<NCT id>/api/…`` (see ``trialdesk.api.rest``)."""

from django.urls import path

from trialdesk.api.rest import api

urlpatterns = [
    path("api/", api.urls),
]
