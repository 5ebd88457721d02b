"""Filters and pages of the cardiac-hold list (issue 15, studies.listing): holds in force by
default, every hold or one status on demand, a start period, a site; bad values named, a
foreign site 404; paginated."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.cardiac.models import CardiacHold, HoldCriterion, HoldStatus
from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.studies.listing import PER_PAGE
from trialdesk.subjects.models import Subject, SubjectStatus, Visit

pytestmark = pytest.mark.usefixtures("password_only")


def _holds(study, n, start=0, site="NTE", status=HoldStatus.ACTIVE, on=dt.date(2026, 11, 10)):
    for k in range(start, start + n):
        subject = Subject.objects.create(
            study=study,
            site=study.sites.get(code=site),
            screening_number=f"S-{site}-{k:03d}",
            subject_code=f"{site}-{k:03d}",
            status=SubjectStatus.ENROLLED,
            screened_on=dt.date(2026, 9, 2),
            enrolled_on=dt.date(2026, 9, 9),
        )
        visit = Visit.objects.create(subject=subject, code="SCR", title="visit", sequence=0)
        record = FormRecord.objects.create(
            subject=subject,
            visit=visit,
            form_code="lvef",
            data={"lvef_pct": 40},
            status=FormStatus.INCOMPLETE,
        )
        CardiacHold.objects.create(
            subject=subject,
            record=record,
            started_on=on,
            baseline_pct=62,
            value_pct=40,
            drop_points=22,
            criterion=HoldCriterion.DROP,
            explanation="a drop of 22 points",
            repeat_lvef_due_on=on + dt.timedelta(28),
            status=status,
            opened_at=timezone.now(),
        )


def _page(client, **params) -> str:
    response = client.get("/cardiac/holds/", params)
    assert response.status_code == 200
    return response.content.decode()


def test_holds_in_force_by_default_every_hold_or_one_status_on_demand(client, cast, study):
    _holds(study, 1, 0, status=HoldStatus.ACTIVE)
    _holds(study, 1, 10, status=HoldStatus.LIFTED)
    login(client, "monitor")
    page = _page(client)
    assert "NTE-000" in page and "NTE-010" not in page
    page = _page(client, status="all")
    assert "NTE-000" in page and "NTE-010" in page
    page = _page(client, status="lifted")
    assert "NTE-010" in page and "NTE-000" not in page
    assert "NTE-010" in _page(client, show="all")  # the older link of the homes still works


def test_a_start_period_and_a_site_narrow_the_list(client, cast, study):
    _holds(study, 1, 0, on=dt.date(2026, 11, 1))
    _holds(study, 1, 10, on=dt.date(2026, 11, 20))
    _holds(study, 1, 0, site="RNS", on=dt.date(2026, 11, 20))
    login(client, "monitor")
    page = _page(client, date_from="2026-11-15")
    assert "NTE-010" in page and "RNS-000" in page and "NTE-000" not in page
    page = _page(client, date_from="2026-11-15", site="RNS")
    assert "RNS-000" in page and "NTE-010" not in page


def test_bad_values_are_named_and_a_foreign_site_is_404(client, cast, study):
    _holds(study, 1)
    login(client, "inv.rennes")
    assert client.get("/cardiac/holds/", {"site": "NTE"}).status_code == 404
    login(client, "monitor")
    page = _page(client, status="cured", date_to="soon")
    assert "“cured” is not a status of this list." in page
    assert "“To” is not a date (year-month-day)." in page
    assert "NTE-000" in page


def test_the_list_is_paginated(client, cast, study):
    _holds(study, PER_PAGE + 2)
    login(client, "monitor")
    assert "page=2" in _page(client)
    assert _page(client, page=2).count("data-hold=") == 2
