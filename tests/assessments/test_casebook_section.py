"""The casebook's response and transfusions: best overall response derived and confirmed,
first response, nadir, cytogenetic response, HER2 over time, transfusion needs (criteria:
BBMT 2010;16:1187, Table 4a; transfusion needs per 28 days, independence >= 56 days)."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.assessments.conftest import login

from trialdesk.assessments.services import confirm_response

pytestmark = pytest.mark.django_db


@pytest.fixture
def treated(cast, month_marrow):
    from trialdesk.audit.services import Actor, audited
    from trialdesk.crf.services import save_form
    from trialdesk.subjects.services import record_first_dose

    subject = month_marrow.subject
    with audited():
        record_first_dose(subject, dt.date(2026, 11, 24), Actor.system("test"))
    for on, product, units in (
        ("2026-11-01", "red_cells", 2),
        ("2026-11-15", "platelets", 1),
        ("2026-11-26", "red_cells", 1),
    ):
        save_form(
            cast.coordinator_nantes,
            subject,
            "transfusion",
            {"transfusion_date": on, "product": product, "units": units},
        )
    return month_marrow


def _section(client, subject, **headers):
    html = client.get(f"/subjects/{subject.pk}/", **headers).content.decode()
    start = html.index('id="course-of-disease"')
    return html[start : html.index("</section>", start)]


def test_the_casebook_shows_the_derived_and_the_confirmed_best_response(client, cast, treated):
    confirm_response(cast.investigator_nantes, treated, "Cytolytic response.")
    section = _section(login(client, cast.investigator_nantes), treated.subject)
    assert "Best overall response (derived)</dt><dd>No response" in section
    assert "Best overall response (confirmed)</dt><dd><strong>Partial response (PR)" in section
    assert "differs; confirmed with a justification" in section
    assert "Yes: the abnormal baseline karyotype is normal on 2026-11-30" in section
    assert "2026-11-20: 45.0 %" in section and "2026-11-30: 30.0 %" in section
    assert "20.0 % (2026-11-30)" in section  # the nadir


def test_the_casebook_shows_the_transfusion_needs_before_and_on_treatment(client, cast, treated):
    section = _section(login(client, cast.coordinator_nantes), treated.subject)
    # 28 days before the first dose (2026-10-27 to 2026-11-23): 2 red-cell units, 1 platelet unit
    assert "2026-10-27 – 2026-11-23</td><td>2</td><td>1</td>" in section
    assert "not known yet (fewer than 56 days on treatment)" in section


def test_the_statistician_reads_the_section_without_the_sites_free_text(client, cast, treated):
    confirm_response(cast.investigator_nantes, treated, "Dr Martin saw a cytolytic response.")
    section = _section(login(client, cast.statistician), treated.subject)
    assert "Partial response (PR)" in section and "Martin" not in section


def test_the_section_reads_in_french(client, cast, treated):
    section = _section(login(client, cast.coordinator_nantes), treated.subject, HTTP_ACCEPT_LANGUAGE="fr")
    assert "Meilleure réponse globale (calculée)" in section and "Absence de réponse" in section
    assert "plaquettes 40 (moins de 100)" in section and "Besoins transfusionnels" in section
