"""The demo trial loaded once per test module into the test database (rolled back after it)."""

from __future__ import annotations

import pytest

DEMO_SEED = 2012


@pytest.fixture(scope="module")
def demo(demo_builds, django_db_blocker):
    """The demo study (protocol, sites, users, the seeded cohort), shared by a module's tests.

    Loaded (built once for the run: tests/conftest.py ``demo_builds``) inside one transaction
    that is rolled back at the end of the module (never flushed: the audit trail refuses it
    on PostgreSQL); each test runs in a savepoint of it."""
    from django.db import transaction

    from trialdesk.studies.models import Study

    with django_db_blocker.unblock():
        with transaction.atomic():
            demo_builds.load(seed=DEMO_SEED)
            yield Study.objects.get()
            transaction.set_rollback(True)


@pytest.fixture
def demo_study(demo, db):
    return demo


def user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)
