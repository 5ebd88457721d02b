"""Helpers of the screening and enrollment page tests: dates relative to today, so that
the screening values are inside the protocol's window whatever day the tests run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from tests.conftest import ELIGIBLE_SCREENING


def today() -> dt.date:
    return timezone.localdate()


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def screening_post(screened_on: dt.date, **changes) -> dict[str, str]:
    """The eligible screening form as a browser posts it, dated ``screened_on``."""
    data = {
        **ELIGIBLE_SCREENING,
        "screening_date": screened_on.isoformat(),
        "consent_date": (screened_on - dt.timedelta(days=1)).isoformat(),
        **changes,
    }
    return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in data.items()}


def login(client, username: str):
    """Sign in as one of the cast (password only: these tests are not about the second factor)."""
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def password_only(settings):
    """Two-factor enforcement is tested by the accounts tests; these pages are not about it."""
    settings.TRIALDESK_REQUIRE_2FA = False


def screen_in_browser(client, site_code: str = "NTE", screened_on: dt.date | None = None, **changes):
    """Screen a patient through the pages: the short form, then the screening form.
    Returns the new subject."""
    from trialdesk.subjects.models import Subject

    screened_on = screened_on or days_ago(2)
    before = set(Subject.objects.system("test").values_list("pk", flat=True))
    response = client.post(
        f"/sites/{site_code}/screening/new/",
        {"screened_on": screened_on.isoformat(), "sex": "M", "age": "62", "initials": "JD"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    (pk,) = set(Subject.objects.system("test").values_list("pk", flat=True)) - before
    assert response["Location"] == f"/subjects/{pk}/visits/SCR/forms/screening/"
    response = client.post(response["Location"], screening_post(screened_on, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    return Subject.objects.system("test").get(pk=pk)


def screen_with_services(user, site, screened_on: dt.date | None = None, **changes):
    """The same patient, screened through the services (for tests of other pages)."""
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import register_screening

    screened_on = screened_on or days_ago(2)
    subject = register_screening(user, site, screened_on=screened_on, sex="M", age_at_screening=62)
    save_form(user, subject, "screening", screening_post(screened_on, **changes), visit=subject.visits.get())
    return subject
