"""A Nantes subject whose screening form the monitor verifies, and their visit reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from trialdesk.queries.models import SourceVerification
from trialdesk.queries.services import raise_query, verify_source


@pytest.fixture
def nantes(study):
    return study.sites.get(code="NTE")


@pytest.fixture
def rennes(study):
    return study.sites.get(code="RNS")


@pytest.fixture
def screening_record(enrolled_subject):
    return enrolled_subject.form_records.get(form_code="screening")


def mark(monitor, record, field_code: str, *, on: dt.datetime | None = None):
    """An SDV mark of ``field_code`` by ``monitor``, made at ``on`` (now by default)."""
    sdv = verify_source(monitor, record, field_code)
    if on is not None:
        SourceVerification.objects.system("tests date their marks").filter(pk=sdv.pk).update(verified_at=on)
        sdv.verified_at = on
    return sdv


def query(monitor, record, field_code: str, text: str = "Please check against the source."):
    return raise_query(monitor, record, field_code, text)


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


@pytest.fixture
def draft(cast, nantes, screening_record):
    from trialdesk.monitoring.services import create_visit

    return create_visit(
        cast.monitor, nantes, visit_date=nantes.today(), kind="on_site", attendees="Dr Inv Nantes"
    )


@pytest.fixture
def signed(cast, draft):
    from tests.conftest import PASSWORD

    from trialdesk.monitoring.services import add_finding, add_follow_up, sign_visit

    add_finding(
        cast.monitor,
        draft,
        category="consent",
        severity="major",
        text="Consent form version 2 signed after the screening marrow.",
    )
    add_follow_up(
        cast.monitor,
        draft,
        text="File the re-consent in the ISF.",
        responsible="Dr Inv Nantes",
        due_on=draft.visit_date + dt.timedelta(days=14),
    )
    return sign_visit(cast.monitor, draft, password=PASSWORD)
