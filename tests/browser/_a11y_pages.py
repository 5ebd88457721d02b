"""The main pages of issue 15 as their roles open them, shared by the accessibility and the
width checks: (what, username, path) on the small cast's study with one enrolled subject
who has a serious adverse event and an open query."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

STUDY = "/studies/NCT00724360"


@pytest.fixture
def main_pages(cast, enrolled_subject):
    from tests.safety.conftest import SERIOUS_AE

    from trialdesk.crf.models import FormRecord
    from trialdesk.crf.services import save_form
    from trialdesk.queries.services import raise_query
    from trialdesk.safety.models import SaeReport

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    record = FormRecord.objects.system("test").filter(subject=enrolled_subject, form_code="screening").get()
    raise_query(cast.monitor, record, "ecog", "Please check the ECOG score against the source.")
    sae = SaeReport.objects.system("test").get(record__subject=enrolled_subject)
    s = enrolled_subject.pk
    return [
        ("login", None, "/accounts/login/"),
        ("coordinator home", cast.coordinator_nantes, f"{STUDY}/"),
        ("investigator home", cast.investigator_nantes, f"{STUDY}/"),
        ("monitor home", cast.monitor, f"{STUDY}/"),
        ("data manager home", cast.data_manager, f"{STUDY}/"),
        ("sponsor home", cast.sponsor, f"{STUDY}/"),
        ("safety officer home", cast.safety_officer, f"{STUDY}/"),
        ("statistician home", cast.statistician, f"{STUDY}/"),
        ("casebook", cast.coordinator_nantes, f"/subjects/{s}/"),
        ("screening form", cast.coordinator_nantes, f"/subjects/{s}/visits/SCR/forms/screening/"),
        ("visit form", cast.coordinator_nantes, f"/subjects/{s}/visits/M1/forms/marrow_assessment/"),
        ("infusion form", cast.investigator_nantes, f"/subjects/{s}/logs/infusion/new/"),
        ("queries", cast.coordinator_nantes, f"{STUDY}/queries/"),
        ("SAE", cast.safety_officer, f"{STUDY}/safety/sae/{sae.pk}/"),
        ("dashboards", cast.sponsor, f"{STUDY}/dashboards/"),
        ("report", cast.statistician, f"{STUDY}/reports/analysis/"),
        ("users", cast.sponsor, f"{STUDY}/administration/users/"),
    ]


def open_as(page, user, path: str) -> None:
    """Signs ``user`` in (none: signed out) and opens ``path``, asserting it is a page."""
    from tests.browser.conftest import sign_in

    page.context.clear_cookies()
    if user is not None:
        sign_in(page, user.username, PASSWORD)
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    page.wait_for_load_state("networkidle")
