"""A token for each member of the standard cast, and a client that sends it."""

from __future__ import annotations

import pytest

from trialdesk.api.tokens import create_token

CAST_ROLES = [
    "investigator_nantes",
    "investigator_rennes",
    "coordinator_nantes",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor",
    "safety_officer",
]


@pytest.fixture
def api_tokens(cast, study):
    """role name of the cast -> raw token."""
    return {name: create_token(getattr(cast, name), study).raw for name in CAST_ROLES}


class ApiClient:
    def __init__(self, client, study, raw: str | None):
        self.client, self.prefix, self.raw = client, f"/studies/{study.nct_id}/api", raw

    def _headers(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.raw}"} if self.raw else {}

    def get(self, path, **params):
        return self.client.get(self.prefix + path, params, **self._headers())

    def post(self, path, body):
        return self.client.post(self.prefix + path, body, content_type="application/json", **self._headers())

    def put(self, path, body):
        return self.client.put(self.prefix + path, body, content_type="application/json", **self._headers())


@pytest.fixture
def api_as(client, study, api_tokens):
    """api_as("monitor").get("/subjects")"""
    return lambda name: ApiClient(client, study, api_tokens[name] if name else None)
