"""The analysis report's pages: who may read them (every role of the cast, own and every site),
what they show, in English and in French."""

from __future__ import annotations

import re

import pytest
from tests.conftest import PASSWORD

ANALYSIS = "/reports/analysis/"
SAFETY = "/reports/safety/"

# role -> (the whole analysis, the safety report). The analysis reads every site's data: a role
# bound to some sites (investigators, coordinators, monitors) reads neither, whatever its site.
MATRIX = {
    "investigator_nantes": (404, 404),
    "coordinator_nantes": (404, 404),
    "investigator_rennes": (404, 404),
    "monitor": (404, 404),
    "data_manager": (200, 200),
    "statistician": (200, 200),
    "sponsor": (200, 200),
    "safety_officer": (404, 200),
}


def _login(client, cast, role: str):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    return client


@pytest.mark.parametrize(("role", "expected"), MATRIX.items())
def test_each_role_reads_the_reports_its_role_allows_and_nothing_else(
    client, cast, enrolled_subject, role, expected
):
    _login(client, cast, role)
    assert (client.get(ANALYSIS).status_code, client.get(SAFETY).status_code) == expected


def test_a_monitor_of_every_site_still_does_not_read_the_analysis(client, cast, study):
    from trialdesk.studies.models import Membership, Role

    Membership.objects.filter(user=cast.monitor).delete()
    Membership.objects.create(user=cast.monitor, study=study, role=Role.MONITOR, site=None)
    _login(client, cast, "monitor")
    assert client.get(ANALYSIS).status_code == 404 and client.get(SAFETY).status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, study):
    for url in (ANALYSIS, SAFETY):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_analysis_shows_every_section_and_the_subject_it_counts(client, cast, enrolled_subject):
    page = _login(client, cast, "statistician").get(ANALYSIS).content.decode()
    for section in (
        "identification",
        "flow",
        "baseline",
        "exposure",
        "primary-endpoint",
        "overall-survival",
        "leukemia-free-survival",
        "transfusions",
        "cytogenetics",
        "safety",
        "appendix",
    ):
        assert f'id="{section}"' in page, section
    assert 'data-figure="enrolled">1<' in page
    # enrolled but not yet given a dose: not in the treated population, the rate has no denominator
    assert 'data-figure="treated">0<' in page and 'data-n="0"' in page
    # the data as the page read them, identified by the SHA-256 a data cut of them would carry
    assert re.search(r'<td class="hash">[0-9a-f]{64}</td>', page)


def test_the_statisticians_page_is_pseudonymised(client, cast, enrolled_subject):
    enrolled_subject.initials = "JDU"
    enrolled_subject.save(update_fields=["initials"])
    page = _login(client, cast, "statistician").get(ANALYSIS).content.decode()
    assert "JDU" not in page and 'id="identification"' in page


def test_the_safety_report_leaves_out_the_efficacy_sections(client, cast, enrolled_subject):
    page = _login(client, cast, "safety_officer").get(SAFETY).content.decode()
    assert 'id="safety"' in page and 'id="primary-endpoint"' not in page and 'id="flow"' not in page
    assert ANALYSIS not in page  # no link to a page the safety officer cannot read


def test_the_analysis_reads_in_french(client, cast, enrolled_subject):
    _login(client, cast, "data_manager")
    page = client.get(ANALYSIS, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Rapport d’analyse" in page and "Critère principal" in page and "Analysis report" not in page
    assert "Population d’analyse : Patients traités" in page  # French punctuation: a space before the colon


@pytest.mark.parametrize(
    ("role", "shown"), [("sponsor", True), ("statistician", True), ("investigator_nantes", False)]
)
def test_the_recruitment_page_links_to_the_reports_for_those_who_read_them(client, cast, study, role, shown):
    page = _login(client, cast, role).get("/reports/recruitment/").content.decode()
    assert ('id="analysis-links"' in page) is shown
