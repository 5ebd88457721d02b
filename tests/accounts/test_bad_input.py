"""Oversized and malformed posts at the HTTP layer: a clear page, nothing written."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.accounts.helpers import sign_in_verified

from trialdesk.audit.models import AuditEvent

pytestmark = pytest.mark.urls("tests.accounts.probe_urls")

ONE_MIB = 1024 * 1024


@pytest.fixture
def signed_in(client, cast):
    sign_in_verified(client, cast.investigator_nantes)
    return client


def test_the_upload_limit_is_one_mib(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == ONE_MIB


def test_an_oversized_form_post_gets_a_413_page_and_writes_nothing(signed_in):
    before = AuditEvent.objects.count()
    response = signed_in.post("/_probe/write/", {"note": "x" * (ONE_MIB + 1)})
    page = response.content.decode()
    assert response.status_code == 413
    assert "What you sent is too large" in page and "at most 1 MiB" in page
    assert "Traceback" not in page and "RequestDataTooBig" not in page
    assert AuditEvent.objects.count() == before


def test_an_oversized_urlencoded_body_is_refused_before_it_is_read(signed_in):
    before = AuditEvent.objects.count()
    body = "note=" + "y" * (ONE_MIB + 10)
    response = signed_in.post("/_probe/write/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and AuditEvent.objects.count() == before


def test_an_oversized_sign_in_post_is_refused_with_the_page(study):
    response = Client().post("/accounts/login/", {"username": "u" * (ONE_MIB + 1), "password": "p"})
    assert response.status_code == 413
    assert not AuditEvent.objects.filter(action="login_failed").exists()


def test_too_many_fields_are_refused_with_the_page(signed_in, settings):
    before = AuditEvent.objects.count()
    response = signed_in.post(
        "/_probe/write/", {f"f{i}": "1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    )
    assert response.status_code == 413 and "too many fields" in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_a_post_under_the_limit_is_accepted(signed_in):
    response = signed_in.post("/_probe/write/", {"note": "x" * 1000})
    assert response.status_code == 200


def test_the_413_page_is_in_the_users_language(signed_in):
    response = signed_in.post("/_probe/write/", {"note": "x" * (ONE_MIB + 1)}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 413 and "trop volumineux" in response.content.decode()
