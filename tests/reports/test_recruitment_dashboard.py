"""The recruitment dashboard: figures from a known database state, the forecast as
``trialdesk.stats.forecast`` computes it, the warning around its threshold, site scope."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

from trialdesk.reports.recruitment import Plan, planned_end, recruitment_report, recruitment_target
from trialdesk.stats.forecast import SiteRecruitment, forecast_recruitment
from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = pytest.mark.usefixtures("password_only")

D = dt.date
AS_OF = D(2008, 6, 30)
URL = f"/reports/recruitment/?as_of={AS_OF.isoformat()}"
NTE_ACTIVATED, RNS_ACTIVATED = D(2007, 1, 1), D(2007, 6, 1)
NTE_ENROLLED = (D(2007, 3, 10), D(2007, 9, 15), D(2008, 2, 1))
RNS_ENROLLED = (D(2008, 5, 20),)


def _subject(study, site, number, screened_on, status, *, enrolled_on=None, criteria=(), reason=""):
    Subject.objects.create(
        study=study,
        site=site,
        screening_number=f"{site.code}-S{number:02d}",
        subject_code=f"{site.code}-{number:03d}" if enrolled_on else None,
        status=status,
        screened_on=screened_on,
        enrolled_on=enrolled_on,
        consent_date=enrolled_on,
        screen_failure_criteria=list(criteria),
        screen_failure_reason=reason,
    )


@pytest.fixture
def recruitment(study, cast):
    """Nantes (open since 2007-01-01) enrolled 3 of 7 screened; Rennes (2007-06-01) 1 of 3
    screened by 2008-06-30, a fourth screened later; the four other sites are not activated."""
    nte, rns = study.sites.get(code="NTE"), study.sites.get(code="RNS")
    nte.activated_on, rns.activated_on = NTE_ACTIVATED, RNS_ACTIVATED
    nte.save(), rns.save()
    enrolled = SubjectStatus.ENROLLED
    for n, day in enumerate(NTE_ENROLLED, start=1):
        _subject(study, nte, n, day - dt.timedelta(days=10), enrolled, enrolled_on=day)
    failed = SubjectStatus.SCREEN_FAILED
    _subject(study, nte, 4, D(2007, 4, 2), failed, criteria=["I6"])
    _subject(study, nte, 5, D(2007, 11, 5), failed, criteria=["I6", "E2"])
    _subject(study, nte, 6, D(2008, 3, 3), failed, reason="Consent  withdrawn")
    _subject(study, nte, 7, D(2008, 6, 20), SubjectStatus.SCREENING)  # no data yet: not assessable
    _subject(study, rns, 1, D(2008, 5, 12), enrolled, enrolled_on=RNS_ENROLLED[0])
    _subject(study, rns, 2, D(2008, 1, 8), failed, criteria=["I6"])
    _subject(study, rns, 3, D(2008, 6, 25), enrolled, enrolled_on=D(2008, 7, 2))  # enrolled after as_of
    _subject(study, rns, 4, D(2008, 7, 15), failed, criteria=["E1"])  # screened after as_of
    return study


def _direct_forecast(study):
    protocol = study.protocol
    sites = [
        SiteRecruitment("NTE", NTE_ACTIVATED, NTE_ENROLLED),
        SiteRecruitment("RNS", RNS_ACTIVATED, RNS_ENROLLED),
    ]
    return forecast_recruitment(sites, AS_OF, 15, D(2011, 7, 31), seed=0), protocol


def _chart(page: str, chart_id: str) -> tuple[str, str]:
    """(alt text, SVG text) of a chart of the page."""
    match = re.search(rf'id="{chart_id}"><img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)">', page)
    return match.group(2), base64.b64decode(match.group(1)).decode("utf-8")


def _row(page: str, site: str) -> dict[str, str]:
    row = re.search(rf'<tr data-site="{site}">(.*?)</tr>', page, re.S).group(1)
    return dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))


# --------------------------------------------------------------------------- figures


def test_the_figures_are_computed_per_site_and_overall_from_the_database(client, recruitment):
    page = login(client, "sponsor").get(URL).content.decode()
    nte, rns = _row(page, "NTE"), _row(page, "RNS")
    assert nte == {
        "days_active": str((AS_OF - NTE_ACTIVATED).days),
        "screened": "7",
        "eligible": "3",
        "enrolled": "3",
        "screen_failed": "3",
        "days_since_last": str((AS_OF - D(2008, 2, 1)).days),
    }
    assert rns == {
        "days_active": str((AS_OF - RNS_ACTIVATED).days),
        "screened": "3",
        "eligible": "2",
        "enrolled": "1",
        "screen_failed": "1",
        "days_since_last": str((AS_OF - RNS_ENROLLED[0]).days),
    }
    assert _row(page, "CFD")["days_active"] == "—" and _row(page, "CFD")["screened"] == "0"
    for figure, value in {"screened": 10, "eligible": 5, "enrolled": 4, "screen_failed": 4}.items():
        assert f'data-figure="{figure}">{value}<' in page
    assert f'data-figure="days_since_last_enrollment">{(AS_OF - RNS_ENROLLED[0]).days}<' in page


def test_screen_failure_reasons_are_ranked_with_the_registry_text(client, recruitment):
    page = login(client, "sponsor").get(URL).content.decode()
    table = re.search(r'id="failure-reasons">(.*?)</table>', page, re.S).group(1)
    ranked = re.findall(r'data-reason="([\w-]+)">.*?data-col="count">(\d+)<', table, re.S)
    assert ranked == [("I6", "3"), ("E2", "1"), ("other", "1")]
    assert "&gt; 20% blasts in bone marrow," in table and "FEVG &lt; 50%" in table
    assert "Consent withdrawn" in table  # free reasons, whitespace normalised
    assert "E1" not in table  # screened after the as-of date


def test_the_month_by_month_figures_accumulate(recruitment, cast):
    report = recruitment_report(cast.sponsor, recruitment, AS_OF)
    months = {m.month: m for m in report.months}
    assert report.months[0].month == D(2007, 1, 1) and report.months[-1].month == D(2008, 6, 1)
    assert months[D(2008, 5, 1)].enrolled == 1 and months[D(2008, 5, 1)].screened == 1
    assert months[D(2008, 6, 1)].screened == 2 and months[D(2008, 6, 1)].eligible == 1
    assert report.months[-1].cumulative_enrolled == 4 and report.months[-1].cumulative_screened == 10
    assert report.months[-1].planned == pytest.approx(report.plan.expected_on(AS_OF))


def test_the_plan_runs_from_the_first_activation_to_the_target_on_the_planned_end(client, recruitment):
    report = recruitment_report(recruitment.memberships.get(role="sponsor_admin").user, recruitment, AS_OF)
    assert report.target.count == 15 and not report.target.planned  # the registry's 15 are "actual"
    assert planned_end(recruitment.protocol) == D(2011, 7, 31)  # primary completion 2011-07
    assert report.plan == Plan(NTE_ACTIVATED, D(2011, 7, 31), 15)
    assert report.plan.expected_on(D(2009, 4, 16)) == pytest.approx(15 * 836 / 1672)
    page = login(client, "sponsor").get(URL).content.decode()
    assert 'id="plan"' in page and "2007-01-01" in page and "2011-07-31" in page
    assert "gives no planned enrollment target" in page and "(15, actual)" in page
    label, svg = _chart(page, "enrollment-chart")
    assert label == "Cumulative enrollment against the plan"
    assert svg.startswith("<svg") and "Plan" in svg and "NTE" in svg and "RNS" in svg


def test_the_target_of_an_anticipated_enrollment_is_planned():
    from types import SimpleNamespace

    protocol = SimpleNamespace(
        identification=SimpleNamespace(enrollment=SimpleNamespace(count=40, type="anticipated"))
    )
    target = recruitment_target(protocol)
    assert target.count == 40 and target.planned


# --------------------------------------------------------------------------- forecast


def test_the_forecast_shown_is_the_one_trialdesk_stats_computes(client, recruitment):
    expected, _ = _direct_forecast(recruitment)
    page = login(client, "sponsor").get(URL).content.decode()
    assert f'data-forecast="median_date">{expected.median_date.isoformat()}<' in page
    low80, high80 = expected.interval_80
    low95, high95 = expected.interval_95
    assert f'data-forecast="interval_80">{low80.isoformat()} – {high80.isoformat()}<' in page
    assert f'data-forecast="interval_95">{low95.isoformat()} – {high95.isoformat()}<' in page
    probability = expected.probability_by_planned_end
    assert f'data-value="{probability}">{probability * 100:.0f} %<' in page
    assert 'data-forecast="enrolled">4<' in page and 'data-forecast="target">15<' in page
    label, svg = _chart(page, "fan-chart")
    assert label == "Forecast of the date the target is reached"
    assert "80 % interval" in svg and "95 % interval" in svg and "Planned end" in svg
    assert "Site CFD is not activated: left out of the forecast." in page


def test_the_forecast_input_is_the_activated_sites_enrollments_up_to_the_as_of_date(recruitment, cast):
    report = recruitment_report(cast.data_manager, recruitment, AS_OF)
    assert report.forecast_input == [
        SiteRecruitment("NTE", NTE_ACTIVATED, NTE_ENROLLED),
        SiteRecruitment("RNS", RNS_ACTIVATED, RNS_ENROLLED),
    ]


def test_the_sponsor_and_the_data_manager_are_warned_below_the_threshold(client, settings, recruitment):
    expected, _ = _direct_forecast(recruitment)
    probability = expected.probability_by_planned_end
    assert 0.05 < probability < 0.95  # the known state gives a forecast in the balance

    settings.TRIALDESK_FORECAST_WARNING_PROBABILITY = probability + 0.01
    for username in ("sponsor", "datamanager"):
        page = login(client, username).get(URL).content.decode()
        assert 'id="forecast-warning"' in page, username
        assert f"is {probability * 100:.0f} %, below the warning threshold" in page
    statistician = login(client, "statistician").get(URL).content.decode()
    assert 'data-forecast="median_date"' in statistician and 'id="forecast-warning"' not in statistician

    settings.TRIALDESK_FORECAST_WARNING_PROBABILITY = probability - 0.01
    for username in ("sponsor", "datamanager"):
        assert 'id="forecast-warning"' not in login(client, username).get(URL).content.decode()


def test_the_default_threshold_is_one_half(client, settings, recruitment, monkeypatch):
    from trialdesk.reports.recruitment import warning_probability

    del settings.TRIALDESK_FORECAST_WARNING_PROBABILITY
    monkeypatch.delenv("TRIALDESK_FORECAST_WARNING_PROBABILITY", raising=False)
    assert warning_probability() == 0.5
    expected, _ = _direct_forecast(recruitment)
    page = login(client, "sponsor").get(URL).content.decode()
    assert ('id="forecast-warning"' in page) == (expected.probability_by_planned_end < 0.5)


def test_without_any_enrollment_there_is_no_forecast_and_no_warning(client, study, cast):
    site = study.sites.get(code="NTE")
    site.activated_on = D(2007, 1, 1)
    site.save()
    page = login(client, "sponsor").get(URL).content.decode()
    assert 'id="forecast-problem"' in page and "without any enrolled patient" in page
    assert 'id="forecast-warning"' not in page


# --------------------------------------------------------------------------- site scope


def test_rennes_sees_only_its_own_numbers_and_no_trial_wide_forecast(client, recruitment):
    page = login(client, "inv.rennes").get(URL).content.decode()
    assert 'data-site="RNS"' in page and 'data-site="NTE"' not in page
    assert 'data-figure="screened">3<' in page and 'data-figure="enrolled">1<' in page
    assert 'id="forecast"' not in page and 'id="trial-wide-only"' in page
    assert 'id="failure-reasons"' in page and "FEVG" not in page  # Nantes' E2 failure stays hidden
    assert client.get(URL + "&site=NTE").status_code == 404
    assert client.get(URL + "&site=RNS").status_code == 200


def test_a_site_filter_restricts_the_figures_for_the_sponsor(client, recruitment):
    page = login(client, "sponsor").get(URL + "&site=NTE").content.decode()
    assert 'data-site="NTE"' in page and 'data-site="RNS"' not in page
    assert 'data-figure="enrolled">4<' not in page and 'data-figure="enrolled">3<' in page
    assert client.get(URL + "&site=XYZ").status_code == 404


def test_a_future_as_of_date_is_not_accepted(client, recruitment):
    from django.utils import timezone

    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    page = (
        login(client, "sponsor").get(f"/reports/recruitment/?as_of={tomorrow.isoformat()}").content.decode()
    )
    assert "cannot be dated in the future" in page
    assert f"as of {timezone.localdate().isoformat()}" in page


def test_the_dashboard_and_its_warning_are_in_french(client, settings, recruitment):
    settings.TRIALDESK_FORECAST_WARNING_PROBABILITY = 0.99
    page = login(client, "sponsor").get(URL, headers={"accept-language": "fr"}).content.decode()
    assert "Recrutement menacé" in page and "sous le seuil d’alerte de 99 %" in page
    assert "Date médiane d’atteinte de l’objectif" in page and "Motifs d’échec de sélection" in page
    assert _chart(page, "enrollment-chart")[0] == "Inclusions cumulées comparées au plan"
    assert "intervalle à 80 %" in _chart(page, "fan-chart")[1]


def test_the_dashboard_needs_no_inline_style_under_the_content_security_policy(client, recruitment):
    page = login(client, "sponsor").get(URL).content.decode()
    main = page[page.index("<main") :]
    assert "<style" not in main and " style=" not in main and "<svg" not in main
    assert '<link rel="stylesheet" href="/static/reports/recruitment.css">' in main


def test_the_dashboard_reads_the_database_in_a_fixed_number_of_queries(client, recruitment):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, "sponsor")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    before = queries()
    nte = recruitment.sites.get(code="NTE")
    for n in range(8, 14):
        _subject(recruitment, nte, n, D(2008, 6, 1), SubjectStatus.SCREENING)
    assert queries() == before
