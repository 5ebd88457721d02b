"""The demo trial built once per test module into the test database (rolled back after it)."""

from __future__ import annotations

import pytest

DEMO_SEED = 2012


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo study (protocol, sites, users, the seeded cohort), shared by a module's tests.

    Built inside one transaction that is rolled back at the end of the module (never
    flushed: the audit trail refuses it on PostgreSQL); each test runs in a savepoint of it."""
    from django.db import transaction
    from django.test import override_settings

    from trialdesk.demo.builder import build_demo
    from trialdesk.protocol import default_protocol_path
    from trialdesk.studies.models import Study

    with django_db_blocker.unblock(), override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ):
        with transaction.atomic():
            build_demo(default_protocol_path(), password="demo-password-of-the-tests-42", seed=DEMO_SEED)
            yield Study.objects.get()
            transaction.set_rollback(True)


@pytest.fixture
def demo_study(demo, db):
    return demo


def user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)
