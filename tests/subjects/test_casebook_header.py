"""The casebook's header (issue 15): who the subject is, where they stand, and the alerts that
hold for them — each alert shown while it holds and not otherwise — plus the visit grid's
"when needed" visits, the audit link of each record and the timeline.

Clinical numbers: the cardiac hold rule is the trastuzumab label's (DESIGN §4: an absolute
LVEF drop >= 16 points); the response criteria are ASH's (BBMT 2010;16:1187, Table 4a), see
tests/assessments/conftest.py for the marrows used here.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tests.assessments import conftest as assessments
from tests.cardiac.conftest import lvef_data
from tests.conftest import PASSWORD
from tests.safety.conftest import SERIOUS_AE

from trialdesk.crf.services import save_form
from trialdesk.subjects.models import Subject

pytestmark = pytest.mark.django_db

# a baseline marrow at screening and the month-1 marrow (tests/assessments/conftest.py)
marrow_subject = assessments.marrow_subject
month_marrow = assessments.month_marrow


def _page(client, user, subject) -> str:
    client.login(username=user.username, password=PASSWORD)
    response = client.get(f"/subjects/{subject.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _header(page: str) -> str:
    start = page.index('id="casebook-header"')
    return page[start : page.index("</header>", start)]


def _started(subject, on=dt.date(2026, 11, 25)):
    Subject.internal.filter(pk=subject.pk).update(first_dose_on=on)
    return Subject.internal.select_related("site", "study").get(pk=subject.pk)


def test_the_header_names_the_subject_site_and_status_as_labels(client, cast, enrolled_subject):
    header = _header(_page(client, cast.investigator_nantes, enrolled_subject))
    assert enrolled_subject.subject_code in header
    assert "Nantes University Hospital" in header
    assert ">Enrolled<" in header and ">enrolled<" not in header  # the label, not the code
    assert 'id="fact-signature"' in header and "not signed" in header
    assert 'id="fact-lock"' in header and "not locked" in header


def test_without_an_alert_the_header_shows_none(client, cast, enrolled_subject):
    header = _header(_page(client, cast.investigator_nantes, enrolled_subject))
    assert 'id="casebook-alerts"' not in header


def test_a_cardiac_hold_in_force_is_an_alert(client, cast, enrolled_subject):
    subject = _started(enrolled_subject)
    save_form(cast.investigator_nantes, subject, "lvef", lvef_data(46), visit=subject.visits.get(code="C1"))
    header = _header(_page(client, cast.investigator_nantes, subject))
    assert 'id="alert-cardiac-hold"' in header and "treatment withheld since" in header
    assert "16 points below baseline" in header  # 62 % -> 46 %: the label's 16-point drop


def test_an_lvef_that_keeps_the_rule_raises_no_cardiac_alert(client, cast, enrolled_subject):
    subject = _started(enrolled_subject)
    save_form(
        cast.investigator_nantes, subject, "lvef", lvef_data(53), visit=subject.visits.get(code="C1")
    )  # 62 -> 53: 9 points, above 50 %
    assert 'id="alert-cardiac-hold"' not in _header(_page(client, cast.investigator_nantes, subject))


def test_an_sae_the_sponsor_has_not_acknowledged_is_an_alert_until_it_is(client, cast, enrolled_subject):
    from trialdesk.safety.models import SaeReport
    from trialdesk.safety.services import acknowledge

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    header = _header(_page(client, cast.investigator_nantes, enrolled_subject))
    assert 'id="alert-sae"' in header
    assert "Serious adverse event:</strong>" in header and "not yet acknowledged by the sponsor (1)" in header
    acknowledge(cast.safety_officer, SaeReport.objects.system("test").get())
    assert 'id="alert-sae"' not in _header(_page(client, cast.investigator_nantes, enrolled_subject))


def test_a_non_serious_event_is_no_alert(client, cast, enrolled_subject):
    from tests.safety.conftest import NON_SERIOUS_AE

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(NON_SERIOUS_AE))
    assert 'id="alert-sae"' not in _header(_page(client, cast.investigator_nantes, enrolled_subject))


def test_an_eligibility_criterion_failing_after_enrollment_is_an_alert(client, cast, enrolled_subject):
    from tests.conftest import ELIGIBLE_SCREENING

    record = enrolled_subject.form_records.get(form_code="screening")
    data = dict(ELIGIBLE_SCREENING, ecog=4)  # ECOG 4 fails the performance-status criterion
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        data,
        visit=record.visit,
        expected_version=record.version,
        reason="transcription_error",
    )
    header = _header(_page(client, cast.data_manager, enrolled_subject))
    assert 'id="alert-eligibility"' in header and "no longer met since enrollment" in header


def test_the_best_response_is_the_one_the_analysis_counts(client, cast, month_marrow):
    """Month 1: blasts 60 -> 20 % with platelets 40: no response by the criteria, although the
    investigator wrote PR (unconfirmed): the analysis counts the derived NR."""
    from trialdesk.analysis.endpoints import response_rate  # noqa: F401 - the analysis reads the same course
    from trialdesk.assessments.services import category_label, subject_course

    subject = month_marrow.subject
    course = subject_course(cast.investigator_nantes, subject.study, subject)
    header = _header(_page(client, cast.investigator_nantes, subject))
    assert course.confirmed.best is not None
    assert f">{category_label(course.confirmed.best)}<" in header
    assert "No response" in header and "Partial response" not in header


def test_before_any_marrow_the_best_response_says_not_assessed_yet(client, cast, enrolled_subject):
    assert "not assessed yet" in _header(_page(client, cast.investigator_nantes, enrolled_subject))


@pytest.mark.parametrize(
    ("utc", "days"),
    [
        # Nantes is in Europe/Paris (UTC+1 in December): 22:59 UTC is still 1 December there
        (dt.datetime(2026, 12, 1, 22, 59, tzinfo=dt.UTC), 7),
        # 23:00 UTC is midnight of 2 December at the site, while the server's UTC date is still the 1st
        (dt.datetime(2026, 12, 1, 23, 0, tzinfo=dt.UTC), 8),
    ],
)
def test_days_on_treatment_count_from_the_first_dose_at_the_sites_date(
    cast, enrolled_subject, monkeypatch, utc, days
):
    from django.test import RequestFactory
    from django.utils import timezone

    from trialdesk.studies.access import study_access
    from trialdesk.subjects.casebook_sections import CasebookContext
    from trialdesk.treatment.header import days_on_treatment

    subject = _started(enrolled_subject)  # first dose 25 November: day 1
    monkeypatch.setattr(timezone, "now", lambda: utc)
    request = RequestFactory().get("/")
    request.user = cast.investigator_nantes
    ctx = CasebookContext(request, subject.study, subject, study_access(request.user, subject.study), [])
    item = days_on_treatment(ctx)
    assert item.text.startswith(f"{days} days")


def test_after_the_end_of_treatment_the_days_stop_at_its_date(client, cast, enrolled_subject):
    subject = _started(enrolled_subject)
    Subject.internal.filter(pk=subject.pk).update(treatment_ended_on=dt.date(2026, 11, 27))
    assert "3 days (first dose" in _header(_page(client, cast.investigator_nantes, subject))


def test_event_driven_visits_read_when_needed_and_cells_say_their_status_in_words(
    client, cast, enrolled_subject
):
    page = _page(client, cast.investigator_nantes, enrolled_subject)
    grid = page[page.index('<table class="grid casebook">') : page.index("</table>")]
    assert "when needed" in grid  # CARD and EOS have no planned date
    assert "Complete" in grid and "to do" in grid


@pytest.mark.parametrize("who", ["investigator_nantes", "coordinator_nantes", "monitor", "data_manager"])
def test_each_record_links_to_its_audit_trail_for_site_staff_too(client, cast, enrolled_subject, who):
    record = enrolled_subject.form_records.get(form_code="screening")
    page = _page(client, getattr(cast, who), enrolled_subject)
    assert f'href="/audit/records/{record.pk}/"' in page
    assert client.get(f"/audit/records/{record.pk}/").status_code == 200


def test_the_sponsor_sees_no_audit_link(client, cast, enrolled_subject):
    record = enrolled_subject.form_records.get(form_code="screening")
    assert f'href="/audit/records/{record.pk}/"' not in _page(client, cast.sponsor, enrolled_subject)


def test_the_timeline_lists_doses_marrows_and_events_in_date_order(client, cast, month_marrow):
    subject = month_marrow.subject
    save_form(cast.investigator_nantes, subject, "adverse_event", dict(SERIOUS_AE))  # onset 26 Nov
    page = _page(client, cast.investigator_nantes, subject)
    timeline = page[page.index('id="timeline"') : page.index("</ol>", page.index('id="timeline"'))]
    baseline, event, month = (
        timeline.index("Baseline marrow: blasts 60 %"),
        timeline.index("Febrile neutropenia"),
        timeline.index("Marrow blasts 20 % — derived response: No response"),
    )
    assert baseline < event < month  # 20 Nov, 26 Nov, 30 Nov
    # the kind says it is serious (the word alone would read as the form's field code)
    assert "Serious adverse event</span>" in timeline and "Febrile neutropenia</span>, grade 3" in timeline


def test_the_header_reads_in_a_constant_number_of_queries(
    client, cast, enrolled_subject, django_assert_max_num_queries
):
    """One SAE or four, a page read costs the same (each fact reads in a fixed number of queries)."""
    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE))
    client.login(username=cast.investigator_nantes.username, password=PASSWORD)
    url = f"/subjects/{enrolled_subject.pk}/"
    client.get(url)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(3):
        save_form(
            cast.investigator_nantes, enrolled_subject, "adverse_event", dict(SERIOUS_AE, grade=3 + n % 2)
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
