"""Each role's home (issue 15): what it counts on the standard cast, that a count follows the
thing it counts, that every count opens the list behind it, and the site scope."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.conftest import ELIGIBLE_SCREENING
from tests.safety.conftest import SERIOUS_AE
from tests.treatment.conftest import give, prescribe  # noqa: F401  (fixtures)
from tests.workspace.conftest import FIRST_DOSE_DAY, HOME, count, home, link

from trialdesk.crf.services import save_form
from trialdesk.queries.services import raise_query


def test_the_coordinator_sees_the_infusion_due_today_until_it_is_recorded(
    as_user,
    at,
    cast,
    enrolled_subject,
    prescribe,  # noqa: F811
    give,  # noqa: F811
):
    at(FIRST_DOSE_DAY)
    client = as_user("coordinator_nantes")
    page = home(client)
    assert count(page, "infusions-due") == "1"
    assert 'data-details="today"' in page and enrolled_subject.label in page
    # the computed dose is one click away: the infusion form, which computes it
    assert f"/subjects/{enrolled_subject.pk}/logs/infusion/new/" in page

    # trastuzumab label: 4 mg/kg loading dose on day 0 (the nurse records what the investigator validated)
    give(prescribe(enrolled_subject, FIRST_DOSE_DAY.date(), 70))
    page = home(client)
    assert count(page, "infusions-due") == "0"
    assert 'data-details="today"' not in page


def test_the_next_day_an_infusion_not_given_is_late(as_user, at, cast, enrolled_subject):
    at(FIRST_DOSE_DAY + dt.timedelta(days=1))
    page = home(as_user("coordinator_nantes"))
    assert count(page, "infusions-due") == "0" and count(page, "infusions-late") == "1"


def test_open_queries_and_incomplete_forms_of_the_site_are_counted(as_user, cast, enrolled_subject):
    client = as_user("coordinator_nantes")
    assert count(home(client), "open-queries") == "0"
    record = enrolled_subject.form_records.get(form_code="screening")
    raise_query(cast.monitor, record, "ecog", "Please confirm ECOG against the source.")
    save_form(cast.coordinator_nantes, enrolled_subject, "transfusion", {"transfusion_date": "2026-11-24"})
    page = home(client)
    assert count(page, "open-queries") == "1"
    assert count(page, "incomplete-forms") == "1"
    assert link(page, "open-queries").endswith("queries/?view=mine&status=open&site=NTE")
    listing = client.get(link(page, "incomplete-forms")).content.decode()
    assert "data-record=" in listing and enrolled_subject.label in listing


def test_a_screening_in_progress_is_counted_until_the_patient_is_enrolled(as_user, cast, screened_subject):
    from trialdesk.subjects.services import enroll

    client = as_user("coordinator_nantes")
    assert count(home(client), "screenings") == "1"
    enroll(
        cast.investigator_nantes,
        screened_subject,
        consent_date=dt.date(2026, 11, 19),
        enrolled_on=dt.date(2026, 11, 24),
        today=dt.date(2026, 11, 25),
    )
    assert count(home(client), "screenings") == "0"


def test_the_coordinator_has_nothing_to_sign(as_user, cast, enrolled_subject):
    page = home(as_user("coordinator_nantes"))
    assert 'data-section="today"' in page and 'data-section="decide"' not in page


def test_the_investigator_gets_the_coordinators_list_and_what_to_decide(as_user, cast, enrolled_subject):
    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    page = home(as_user("investigator_nantes"))
    assert 'data-section="today"' in page and 'data-section="decide"' in page
    assert count(page, "to-sign") == "1"  # a casebook with data and no signature
    assert count(page, "saes-to-review") == "1"
    assert count(page, "cardiac-holds") == "0" and count(page, "discordant") == "0"


def test_a_rennes_investigator_never_counts_a_nantes_subject(as_user, cast, enrolled_subject):
    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    page = home(as_user("investigator_rennes"))
    assert count(page, "to-sign", "RNS") == "0" and count(page, "saes-to-review", "RNS") == "0"
    assert count(page, "incomplete-forms", "RNS") == "0"
    assert 'data-site="NTE"' not in page and enrolled_subject.label not in page


def test_the_monitor_sees_queries_by_age_per_site_and_forms_changed_since_the_last_verification(
    as_user, cast, enrolled_subject
):
    from trialdesk.queries.models import Query
    from trialdesk.queries.services import verify_source

    client = as_user("monitor")
    record = enrolled_subject.form_records.get(form_code="screening")
    page = home(client)
    assert count(page, "last-visit") == "never"
    assert count(page, "changed-forms") == "1" and count(page, "changed-forms", "RNS") == "0"
    verify_source(cast.monitor, record, field_code="", expected_version=record.version)
    page = home(client)
    assert count(page, "changed-forms") == "0" and count(page, "last-visit") != "never"
    save_form(cast.investigator_nantes, enrolled_subject, "transfusion", {"transfusion_date": "2026-11-24"})
    assert count(home(client), "changed-forms") == "1"

    query = raise_query(cast.monitor, record, "ecog", "Please confirm ECOG against the source.")
    # queries.services.AGE_BUCKETS: 0–7, 8–30, >30 days
    page = home(client)
    assert count(page, "queries-age-0-7") == "1" and count(page, "queries-age-31-") == "0"
    Query.objects.system("test: an older query").filter(pk=query.pk).update(
        raised_at=query.raised_at - dt.timedelta(days=31)
    )
    page = home(client)
    assert count(page, "queries-age-0-7") == "0" and count(page, "queries-age-31-") == "1"
    listing = client.get(link(page, "queries-age-31-")).content.decode()
    assert f'data-query="{query.pk}"' in listing


@pytest.mark.parametrize(("days", "band"), [(7, "0-7"), (8, "8-30"), (30, "8-30"), (31, "31-")])
def test_a_querys_age_band_is_the_query_lists_whole_days(as_user, cast, enrolled_subject, days, band):
    from trialdesk.queries.models import Query

    record = enrolled_subject.form_records.get(form_code="screening")
    query = raise_query(cast.monitor, record, "ecog", "Please confirm ECOG.")
    Query.objects.system("test: an older query").filter(pk=query.pk).update(
        raised_at=query.raised_at - dt.timedelta(days=days, minutes=1)
    )
    page = home(as_user("monitor"))
    assert count(page, f"queries-age-{band}") == "1"


def test_the_data_manager_sees_edit_check_failures_by_rule(as_user, cast, screened_subject):
    # AST > 5 × ULN (the registry's criterion): a failing rule raises a system query
    data = dict(ELIGIBLE_SCREENING, ast=400)
    record = screened_subject.form_records.get(form_code="screening")
    save_form(
        cast.investigator_nantes,
        screened_subject,
        "screening",
        data,
        visit=record.visit,
        expected_version=record.version,
        reason="source_updated",
    )
    from trialdesk.queries.models import Query

    system = Query.objects.system("test").filter(raised_by__isnull=True, status="open")
    client = as_user("data_manager")
    page = home(client)
    assert 'data-section="edit-checks"' in page and 'data-section="data-review"' in page
    assert 'data-section="sites"' in page  # the site table stays, as one section
    for query in system:
        line = f"check-{query.check_code}"
        assert count(page, line) == str(system.filter(check_code=query.check_code).count())
        assert query.check_code not in _visible_text(page)
        assert f'data-query="{query.pk}"' in client.get(link(page, line)).content.decode()


def test_the_sponsor_sees_recruitment_safety_signals_deviations_and_status(as_user, cast, enrolled_subject):
    # grade 3, serious
    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    client = as_user("sponsor")
    page = home(client)
    for section in ("recruitment", "safety-signals", "deviations", "sites"):
        assert f'data-section="{section}"' in page
    assert count(page, "enrolled", "") == "1"
    assert count(page, "status", "") == "Recruiting"
    assert count(page, "severe-events") == "1" and count(page, "saes") == "1"
    assert count(page, "saes-unacknowledged") == "1"
    listing = client.get(link(page, "severe-events")).content.decode()
    assert "Febrile neutropenia" in listing


def test_the_safety_officer_sees_what_is_left_to_do_on_each_sae(as_user, cast, enrolled_subject):
    from trialdesk.safety import services
    from trialdesk.safety.models import SaeReport

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    client = as_user("safety_officer")
    page = home(client)
    assert count(page, "saes-to-acknowledge") == "1" and count(page, "expectedness") == "0"
    report = SaeReport.objects.system("test").get()
    services.acknowledge(cast.safety_officer, report)
    page = home(client)
    assert count(page, "saes-to-acknowledge") == "0" and count(page, "expectedness") == "1"
    listing = client.get(link(page, "expectedness")).content.decode()
    assert f'data-sae="{report.pk}"' in listing and f"/safety/sae/{report.pk}/cioms.pdf" in listing
    report.refresh_from_db()
    services.assess_expectedness(cast.safety_officer, report, "unexpected", "not in the reference document")
    page = home(client)
    # related ("possible") and unexpected: a SUSAR, with its deadline listed
    assert count(page, "expectedness") == "0" and count(page, "susars") == "1"
    assert 'data-details="vigilance"' in page


def test_the_statistician_gets_the_analysis_pages_and_the_exports(as_user, cast, enrolled_subject):
    client = as_user("statistician")
    page = home(client)
    assert 'data-section="analysis"' in page
    for url in ("/reports/analysis/", "/reports/safety/", "/exports/"):
        assert f'href="/studies/NCT00724360{url}"' in page
    assert enrolled_subject.initials == "" or enrolled_subject.initials not in _visible_text(page)


ROLES = [
    "investigator_nantes",
    "coordinator_nantes",
    "investigator_rennes",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor",
    "safety_officer",
]


@pytest.mark.parametrize("role", ROLES)
def test_every_count_of_a_home_opens_for_its_user(as_user, cast, enrolled_subject, role):
    import re

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    client = as_user(role)
    page = home(client)
    links = set(re.findall(r'data-count="[^"]+" data-site="[^"]*"><a href="([^"]+)"', page))
    links |= set(
        re.findall(r'<ul class="links">.*?</ul>', page, re.S)
        and re.findall(
            r'<li><a href="([^"]+)"', re.search(r'<ul class="links">.*?</ul>', page, re.S).group(0)
        )
    )
    assert links, f"{role}: a home without counts"
    for url in links:
        response = client.get(url.replace("&amp;", "&").split("#")[0])
        assert response.status_code == 200, f"{role}: {url} -> {response.status_code}"


def test_the_site_filter_narrows_the_counts_and_refuses_a_foreign_site(as_user, cast, enrolled_subject):
    client = as_user("monitor")
    page = home(client, site="RNS")
    assert count(page, "changed-forms", "RNS") == "0" and count(page, "changed-forms", "NTE") is None
    assert client.get(HOME, {"site": "CFD"}).status_code == 404
    assert as_user("coordinator_nantes").get(HOME, {"site": "RNS"}).status_code == 404


def test_a_user_with_two_roles_sees_the_sections_of_each(as_user, cast, study, enrolled_subject):
    from trialdesk.studies.models import Membership, Role

    Membership.objects.create(user=cast.monitor, study=study, role=Role.DATA_MANAGER)
    page = home(as_user("monitor"))
    assert 'data-role="monitor"' in page and 'data-role="data_manager"' in page
    assert 'data-section="monitoring"' in page and 'data-section="edit-checks"' in page


def test_the_home_speaks_french(as_user, cast, enrolled_subject):
    client = as_user("coordinator_nantes")
    page = client.get(HOME, headers={"accept-language": "fr"}).content.decode()
    assert "Aujourd&#x27;hui au centre" in page or "Aujourd'hui au centre" in page
    assert "Requêtes ouvertes adressées au centre" in page and "Infusions due today" not in page


def _visible_text(page: str) -> str:
    import re

    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_a_locked_casebook_is_counted_for_the_data_manager(as_user, cast, enrolled_subject):
    from trialdesk.locks.services import lock, unlock

    client = as_user("data_manager")
    assert count(home(client), "locked-subjects") == "0"
    lock(cast.data_manager, enrolled_subject, reason="database lock of the subject")
    page = home(client)
    assert count(page, "locked-subjects") == "1" and count(page, "locked-subjects", "RNS") == "0"
    assert link(page, "locked-subjects").endswith("/locks/")
    enrolled_subject.refresh_from_db()
    unlock(cast.data_manager, enrolled_subject, reason="a correction is needed")
    assert count(home(client), "locked-subjects") == "0"


def test_the_home_with_urgent_work_comes_first_for_a_user_of_two_roles(
    as_user, at, cast, study, enrolled_subject
):
    from trialdesk.queries.models import Query
    from trialdesk.studies.models import Membership, Role

    at(FIRST_DOSE_DAY)  # the day of the first infusion: nothing late at the site
    Membership.objects.create(
        user=cast.coordinator_nantes, study=study, role=Role.MONITOR, site=study.sites.get(code="NTE")
    )
    client = as_user("coordinator_nantes")
    page = home(client)
    assert page.index('data-role="coordinator"') < page.index('data-role="monitor"')
    record = enrolled_subject.form_records.get(form_code="screening")
    query = raise_query(cast.monitor, record, "ecog", "Please confirm ECOG against the source.")
    Query.objects.system("test: an old query").filter(pk=query.pk).update(
        raised_at=FIRST_DOSE_DAY - dt.timedelta(days=40)
    )
    page = home(client)  # a query open for more than 30 days: the monitor's work is urgent
    assert page.index('data-role="monitor"') < page.index('data-role="coordinator"')


def test_the_data_manager_counts_what_the_sites_worklist_lists_as_overdue(
    as_user, at, cast, enrolled_subject
):
    from trialdesk.deviations.services import worklist

    at(FIRST_DOSE_DAY + dt.timedelta(days=1))  # the first infusion, not given, is late
    page = home(as_user("data_manager"))
    listed = worklist(
        cast.data_manager,
        enrolled_subject.study,
        enrolled_subject.site,
        now=FIRST_DOSE_DAY + dt.timedelta(days=1),
    )
    assert count(page, "missing-forms") == str(len(listed.overdue)) == "1"
    assert count(page, "missing-forms", "RNS") == "0"


def test_a_sites_sae_count_opens_that_sites_saes(as_user, cast, enrolled_subject):
    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    client = as_user("sponsor")
    page = home(client)
    nantes = client.get(link(page, "saes-unacknowledged")).content.decode()
    rennes = client.get(link(page, "saes-unacknowledged", "RNS")).content.decode()
    assert nantes.count("data-sae=") == 1 and rennes.count("data-sae=") == 0


def test_forms_changed_count_from_the_monitors_last_signed_visit_report(as_user, cast, enrolled_subject):
    from tests.conftest import PASSWORD

    from trialdesk.crf.models import FormRecord
    from trialdesk.monitoring.services import create_visit, sign_visit
    from trialdesk.studies.models import Site

    site = Site.objects.get(pk=enrolled_subject.site_id)
    yesterday = site.today() - dt.timedelta(days=1)
    visit = create_visit(cast.monitor, site, visit_date=yesterday, kind="on_site")
    sign_visit(cast.monitor, visit, password=PASSWORD)
    client = as_user("monitor")
    page = home(client)
    assert count(page, "last-visit") == f"{yesterday:%Y-%m-%d}"
    assert "/monitoring/?site=NTE" in link(page, "last-visit")
    assert count(page, "changed-forms") == "1"  # the screening form, saved today
    # saved on the day of the visit (the site's date): seen at the visit
    FormRecord.objects.system("test: a form saved on the visit's day").filter(
        subject=enrolled_subject
    ).update(updated_at=dt.datetime.combine(yesterday, dt.time(12), tzinfo=dt.UTC))
    assert count(home(client), "changed-forms") == "0"
