"""Screening in the browser: the screening log, screening a patient, the eligibility
panel, screen failures, re-screening and the isolation of sites."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.subjects.screening_helpers import (  # noqa: F401 (password_only is a fixture)
    days_ago,
    login,
    password_only,
    screen_in_browser,
    screen_with_services,
    today,
)

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.subjects.models import Subject, SubjectStatus

pytestmark = pytest.mark.usefixtures("password_only")


@pytest.fixture
def coordinator(client, cast):
    return login(client, "coord.nantes")


@pytest.fixture
def rennes(study):
    return study.sites.get(code="RNS")


# --------------------------------------------------------------------------- screening a patient


def test_the_coordinator_screens_a_patient_and_lands_on_the_screening_form(coordinator, site):
    page = coordinator.get("/sites/NTE/screening/").content.decode()
    assert 'id="screen-a-patient"' in page
    subject = screen_in_browser(coordinator, screened_on=days_ago(1))
    assert subject.site == site and subject.status == SubjectStatus.SCREENING
    assert subject.screening_number == "NTE-S01"
    assert subject.age_at_screening == 62 and subject.year_of_birth is None and subject.initials == "JD"
    assert FormRecord.objects.system("test").get(subject=subject, form_code="screening").data["alt"] == 35
    log = coordinator.get("/sites/NTE/screening/").content.decode()
    assert "NTE-S01" in log and 'data-verdict="eligible"' in log


def test_the_short_form_asks_no_name_and_no_birth_date(coordinator, site):
    page = coordinator.get("/sites/NTE/screening/new/").content.decode()
    for name in ("screened_on", "sex", "year_of_birth", "age", "initials"):
        assert f'name="{name}"' in page
    assert 'name="name"' not in page and 'name="birth_date"' not in page
    response = coordinator.post(
        "/sites/NTE/screening/new/",
        {
            "screened_on": days_ago(1).isoformat(),
            "sex": "F",
            "year_of_birth": "1964-03-12",
            "initials": "Jeanne",
        },
    )
    assert response.status_code == 400
    assert "never a name" in response.content.decode()
    assert not Subject.objects.system("test").exists()


def test_a_screening_date_in_the_future_is_refused_and_nothing_is_written(coordinator, site):
    events = AuditEvent.objects.count()
    response = coordinator.post(
        "/sites/NTE/screening/new/",
        {"screened_on": (today() + dt.timedelta(days=1)).isoformat(), "sex": "M", "age": "50"},
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not Subject.objects.system("test").exists() and AuditEvent.objects.count() == events


def test_year_of_birth_and_age_together_are_refused(coordinator, site):
    response = coordinator.post(
        "/sites/NTE/screening/new/",
        {"screened_on": days_ago(1).isoformat(), "sex": "M", "age": "50", "year_of_birth": "1970"},
    )
    assert response.status_code == 400 and "not both" in response.content.decode()
    assert not Subject.objects.system("test").exists()


def test_screening_at_a_foreign_site_is_not_found_and_writes_nothing(client, cast):
    login(client, "inv.nantes")
    events = AuditEvent.objects.count()
    response = client.post(
        "/sites/RNS/screening/new/", {"screened_on": days_ago(1).isoformat(), "sex": "M", "age": "50"}
    )
    assert response.status_code == 404
    assert client.get("/sites/RNS/screening/new/").status_code == 404
    assert client.get("/sites/RNS/screening/").status_code == 404
    assert not Subject.objects.system("test").exists() and AuditEvent.objects.count() == events


def test_a_monitor_reads_the_log_but_cannot_screen(client, cast, site):
    screen_with_services(cast.investigator_nantes, site)
    login(client, "monitor")
    page = client.get("/sites/NTE/screening/").content.decode()
    assert "NTE-S01" in page and 'id="screen-a-patient"' not in page
    assert client.get("/sites/NTE/screening/new/").status_code == 403
    response = client.post(
        "/sites/NTE/screening/new/", {"screened_on": days_ago(1).isoformat(), "sex": "M", "age": "5"}
    )
    assert response.status_code == 403 and Subject.objects.system("test").count() == 1


def test_the_statistician_sees_the_log_without_age_or_initials(client, cast, site):
    import re

    from trialdesk.subjects.services import register_screening

    subject = register_screening(
        cast.investigator_nantes, site, screened_on=days_ago(3), sex="F", year_of_birth=1951, initials="MB"
    )

    def log_and_header(username):
        login(client, username)
        log = client.get("/sites/NTE/screening/").content.decode()
        header = client.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
        return (
            re.search(r'<table class="grid" id="screening-log">.*?</table>', log, re.S).group(0),
            re.search(r'<p class="meta">.*?</p>', header, re.S).group(0),
        )

    table, meta = log_and_header("statistician")
    assert "NTE-S01" in table and "Female" in table
    assert "1951" not in table and ">MB<" not in table and "Year of birth" not in table
    assert "1951" not in meta and "MB" not in meta
    table, meta = log_and_header("inv.nantes")
    assert "1951" in table and "<td>MB</td>" in table
    assert "born 1951" in meta and "MB" in meta


# --------------------------------------------------------------------------- site isolation


def test_rennes_never_sees_the_screening_log_of_nantes(client, cast, site, rennes):
    nantes_subject = screen_with_services(cast.investigator_nantes, site)
    rennes_subject = screen_with_services(cast.investigator_rennes, rennes)
    login(client, "inv.rennes")
    log = client.get("/sites/RNS/screening/").content.decode()
    assert rennes_subject.screening_number in log and nantes_subject.screening_number not in log
    assert client.get("/sites/NTE/screening/").status_code == 404
    for url in (
        f"/subjects/{nantes_subject.pk}/eligibility/",
        f"/subjects/{nantes_subject.pk}/rescreen/",
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        f"/subjects/{nantes_subject.pk}/enroll/",
        f"/subjects/{nantes_subject.pk}/screen-failure/",
        f"/subjects/{nantes_subject.pk}/rescreen/",
    ):
        assert (
            client.post(
                url, {"reason": "x", "consent_date": "2020-01-01", "enrolled_on": "2020-01-01"}
            ).status_code
            == 404
        )
    nantes_subject.refresh_from_db()
    assert nantes_subject.status == SubjectStatus.SCREENING and nantes_subject.rescreen_of is None
    assert Subject.objects.system("test").count() == 2


# --------------------------------------------------------------------------- eligibility panel


def test_the_panel_shows_each_criterion_with_its_explanation_and_source(coordinator, site):
    subject = screen_in_browser(coordinator, alt=310, alt_uln=40)
    page = coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'id="eligibility" data-verdict="not_eligible"' in page
    assert 'data-criterion="I4" data-status="not_met"' in page
    assert 'data-criterion="I1" data-status="met"' in page
    assert "AST or ALT &lt;= 5 times the upper limit of normal" in page  # the registry text
    assert "above 5 × ULN" in page  # the explanation of the engine
    assert 'class="source registry"' in page
    # how the protocol reads the ambiguous text, in plain words; the authors' note stays in the file
    assert "AST and ALT each at most 5 times the upper limit of normal." in page
    assert "D-LIVER" not in page
    assert f'action="/subjects/{subject.pk}/enroll/"' not in page  # no enroll form when not eligible


def test_a_patient_without_screening_data_is_not_yet_assessable_with_the_missing_values(coordinator, site):
    coordinator.post(
        "/sites/NTE/screening/new/",
        {"screened_on": days_ago(1).isoformat(), "sex": "F", "year_of_birth": "1960"},
    )
    subject = Subject.objects.system("test").get()
    page = coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'data-verdict="not_assessable"' in page
    assert 'id="missing"' in page and "Bone marrow blasts" in page and "Age at screening" in page


def test_values_older_than_the_window_make_the_patient_not_yet_assessable(coordinator, site):
    subject = screen_in_browser(coordinator, screened_on=days_ago(20))
    page = coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'id="eligibility" data-verdict="not_assessable"' in page
    assert 'id="stale-values"' in page and "14-day screening window" in page


def test_correcting_a_screening_value_with_a_reason_re_evaluates_eligibility(coordinator, site):
    subject = screen_in_browser(coordinator, alt=310, alt_uln=40)
    url = f"/subjects/{subject.pk}/visits/SCR/forms/screening/"
    record = FormRecord.objects.system("test").get(subject=subject, form_code="screening")
    post = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in record.data.items()}
    without_reason = coordinator.post(url, {**post, "alt": "31", "_version": "1"})
    assert without_reason.status_code == 400
    assert (
        'data-verdict="not_eligible"'
        in coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    )
    response = coordinator.post(url, {**post, "alt": "31", "_version": "1", "_reason": "transcription_error"})
    assert response.status_code == 302
    page = coordinator.get(f"/subjects/{subject.pk}/eligibility/").content.decode()
    assert 'id="eligibility" data-verdict="eligible"' in page
    change = AuditEvent.objects.filter(field="alt", object_type="form_record").order_by("-sequence").first()
    assert change.old_value == 310 and change.new_value == 31 and "Transcription error" in change.reason


# --------------------------------------------------------------------------- screen failure, re-screening


def test_a_screen_failure_records_the_criteria_not_met(coordinator, site):
    subject = screen_in_browser(coordinator, alt=310, alt_uln=40, lvef_pct=40)
    response = coordinator.post(f"/subjects/{subject.pk}/screen-failure/", {"reason": ""})
    assert response.status_code == 302
    subject.refresh_from_db()
    assert subject.status == SubjectStatus.SCREEN_FAILED
    assert subject.screen_failure_criteria == ["I4", "E2"]
    event = AuditEvent.objects.filter(action="screen_failure", object_id=str(subject.pk)).get()
    assert event.new_value["criteria_not_met"] == ["I4", "E2"]
    log = coordinator.get("/sites/NTE/screening/").content.decode()
    assert "I4, E2" in log and "Screen failure" in log


def test_a_screen_failure_with_no_failed_criterion_needs_a_reason(coordinator, site):
    subject = screen_in_browser(coordinator)
    response = coordinator.post(f"/subjects/{subject.pk}/screen-failure/", {"reason": "  "})
    assert response.status_code == 400 and "say why" in response.content.decode()
    subject.refresh_from_db()
    assert subject.status == SubjectStatus.SCREENING
    coordinator.post(f"/subjects/{subject.pk}/screen-failure/", {"reason": "Consent withdrawn"})
    subject.refresh_from_db()
    assert subject.status == SubjectStatus.SCREEN_FAILED
    assert subject.screen_failure_criteria == [] and subject.screen_failure_reason == "Consent withdrawn"


def test_re_screening_opens_a_new_linked_episode_with_no_data_copied(coordinator, site):
    failed = screen_in_browser(coordinator, screened_on=days_ago(30), lvef_pct=40)
    coordinator.post(f"/subjects/{failed.pk}/screen-failure/", {"reason": ""})
    page = coordinator.get(f"/subjects/{failed.pk}/eligibility/").content.decode()
    assert 'id="rescreen"' in page
    form = coordinator.get(f"/subjects/{failed.pk}/rescreen/").content.decode()
    assert 'value="JD"' in form and 'value="62"' in form  # proposed, visibly, for the user to confirm
    response = coordinator.post(
        f"/subjects/{failed.pk}/rescreen/",
        {"screened_on": days_ago(1).isoformat(), "sex": "M", "age": "62", "initials": "JD"},
    )
    assert response.status_code == 302
    new = Subject.objects.system("test").exclude(pk=failed.pk).get()
    assert new.rescreen_of == failed and new.screening_number == "NTE-S02"
    assert new.status == SubjectStatus.SCREENING
    assert not FormRecord.objects.system("test").filter(subject=new).exists()
    assert response["Location"] == f"/subjects/{new.pk}/visits/SCR/forms/screening/"
    failed.refresh_from_db()
    assert failed.status == SubjectStatus.SCREEN_FAILED and failed.screen_failure_criteria == ["E2"]
    assert AuditEvent.objects.filter(action="rescreen", object_id=str(failed.pk)).exists()
    old_page = coordinator.get(f"/subjects/{failed.pk}/eligibility/").content.decode()
    assert 'id="rescreened-as"' in old_page and 'id="rescreen"' not in old_page


def test_an_episode_is_re_screened_only_once_and_only_after_a_screen_failure(coordinator, site):
    open_episode = screen_in_browser(coordinator)
    refused = coordinator.post(
        f"/subjects/{open_episode.pk}/rescreen/",
        {"screened_on": days_ago(1).isoformat(), "sex": "M", "age": "62"},
    )
    assert refused.status_code == 302 and Subject.objects.system("test").count() == 1
    coordinator.post(f"/subjects/{open_episode.pk}/screen-failure/", {"reason": "Consent withdrawn"})
    post = {"screened_on": today().isoformat(), "sex": "M", "age": "62"}
    assert coordinator.post(f"/subjects/{open_episode.pk}/rescreen/", post).status_code == 302
    second = coordinator.post(f"/subjects/{open_episode.pk}/rescreen/", post)
    assert second.status_code == 400 and "already re-screened" in second.content.decode()
    assert Subject.objects.system("test").count() == 2


def test_the_screening_pages_need_no_inline_style_under_the_content_security_policy(coordinator, site):
    subject = screen_in_browser(coordinator)
    for url in ("/sites/NTE/screening/", "/sites/NTE/screening/new/", f"/subjects/{subject.pk}/eligibility/"):
        page = coordinator.get(url).content.decode()
        main = page[page.index("<main") :]
        assert "<style" not in main and " style=" not in main, url


def test_the_log_reads_the_database_in_a_fixed_number_of_queries(coordinator, cast, site):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert coordinator.get("/sites/NTE/screening/").status_code == 200
        return len(captured)

    screen_with_services(cast.investigator_nantes, site)
    two = queries()
    for _ in range(4):
        screen_with_services(cast.investigator_nantes, site)
    assert queries() == two
