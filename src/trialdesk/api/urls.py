"""The REST API at ``/api/`` (its OpenAPI document and docs) and, under each study's
prefix, ``/studies/<NCT id>/api/…`` (see ``trialdesk.api.rest``); the user's token page,
``/studies/<NCT id>/account/api-tokens/``."""

from django.urls import path

from trialdesk.api import views
from trialdesk.api.rest import api

urlpatterns = [
    path("api/", api.urls),
    path("account/api-tokens/", views.tokens_page, name="api-tokens"),
    path("account/api-tokens/revoke/", views.revoke_page, name="api-token-revoke"),
]
