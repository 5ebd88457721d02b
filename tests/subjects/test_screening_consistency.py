"""The screening form against the screening episode (age, sex), and eligibility changed after enrollment."""

from __future__ import annotations

import datetime as dt

from tests.conftest import ELIGIBLE_SCREENING, PASSWORD

from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form
from trialdesk.queries.models import Query, QueryStatus
from trialdesk.subjects.consistency import AGE_QUERY, ELIGIBILITY_QUERY_PREFIX, SEX_QUERY
from trialdesk.subjects.services import register_screening

D = dt.date


def _episode(cast, site, **identity):
    return register_screening(
        cast.investigator_nantes, site, screened_on=D(2026, 11, 20), today=D(2026, 11, 25), **identity
    )


def _save(cast, subject, **changes):
    return save_form(
        cast.investigator_nantes,
        subject,
        "screening",
        dict(ELIGIBLE_SCREENING, **changes),
        visit=subject.visits.get(),
    )


def _queries(subject, code):
    return list(Query.objects.system("test").filter(record__subject=subject, check_code=code))


def test_a_form_sex_unlike_the_episodes_raises_a_query_to_the_site(cast, site):
    subject = _episode(cast, site, sex="M", year_of_birth=1964)
    _save(cast, subject, sex="female")
    [query] = _queries(subject, SEX_QUERY)
    assert query.field_code == "sex" and query.status == QueryStatus.OPEN
    assert "Female" in query.summary and "Male" in query.summary and "female" not in query.summary


def test_a_form_age_unlike_the_year_of_birth_raises_a_query(cast, site):
    subject = _episode(cast, site, sex="M", year_of_birth=1975)
    _save(cast, subject, age_years=30)
    [query] = _queries(subject, AGE_QUERY)
    assert query.field_code == "age_years" and "1975" in query.summary


def test_an_age_that_the_year_of_birth_allows_raises_nothing(cast, site):
    for age in (61, 62):  # born 1964, screened in 2026: before or after the birthday
        subject = _episode(cast, site, sex="M", year_of_birth=1964)
        _save(cast, subject, age_years=age)
        assert _queries(subject, AGE_QUERY) == [] and _queries(subject, SEX_QUERY) == []


def test_an_age_at_screening_must_be_the_forms_age(cast, site):
    subject = _episode(cast, site, sex="M", age_at_screening=60)
    _save(cast, subject, age_years=62)
    assert len(_queries(subject, AGE_QUERY)) == 1


def test_an_unknown_sex_on_the_episode_is_not_compared(cast, site):
    subject = _episode(cast, site, sex="U", year_of_birth=1964)
    _save(cast, subject, sex="female")
    assert _queries(subject, SEX_QUERY) == []


def test_screen_a_patient_pre_selects_no_sex(client, cast, site):
    client.login(username="inv.nantes", password=PASSWORD)
    page = client.get("/sites/NTE/screening/new/").content.decode()
    select = page[page.index('name="sex"') :]
    select = select[: select.index("</select>")]
    assert '<option value="" selected>' in select
    assert 'value="F" selected' not in select and 'value="M" selected' not in select
    response = client.post("/sites/NTE/screening/new/", {"screened_on": "2026-11-20", "age": "60"})
    assert response.status_code == 400  # the sex must be answered


def test_a_criterion_failing_after_enrollment_raises_a_query_citing_it(cast, enrolled_subject):
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "ecog": 3},
        visit=record.visit,
        reason="transcription_error",
        expected_version=record.version,
    )
    [query] = Query.objects.system("test").filter(
        record=record, check_code__startswith=ELIGIBILITY_QUERY_PREFIX
    )
    criterion = query.check_code[len(ELIGIBILITY_QUERY_PREFIX) :]
    assert query.field_code == "ecog" and criterion in query.summary
    assert query.raised_by is None and query.status == QueryStatus.OPEN


def test_a_change_after_enrollment_that_keeps_every_criterion_raises_nothing(cast, enrolled_subject):
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "ecog": 2},
        visit=record.visit,
        reason="transcription_error",
        expected_version=record.version,
    )
    assert not Query.objects.system("test").filter(check_code__startswith=ELIGIBILITY_QUERY_PREFIX).exists()


def test_the_data_manager_worklist_lists_the_subject_whose_eligibility_changed(
    client, cast, enrolled_subject
):
    record = FormRecord.objects.system("test").get(subject=enrolled_subject, form_code="screening")
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "screening",
        {**record.data, "ecog": 3},
        visit=record.visit,
        reason="transcription_error",
        expected_version=record.version,
    )
    query = Query.objects.system("test").get(check_code__startswith=ELIGIBILITY_QUERY_PREFIX)
    client.login(username="datamanager", password=PASSWORD)
    assert 'id="enrollment-worklist-link"' in client.get("/", follow=True).content.decode()
    page = client.get("/worklists/eligibility-changed/").content.decode()
    assert f'data-subject="{enrolled_subject.subject_code}"' in page and f"#{query.pk}" in page
    assert "NTE" in page
    client.login(username="inv.nantes", password=PASSWORD)
    assert client.get("/worklists/eligibility-changed/").status_code == 403


def _correct(cast, subject, **changes):
    record = FormRecord.objects.system("test").get(subject=subject, form_code="screening")
    return save_form(
        cast.investigator_nantes,
        subject,
        "screening",
        {**record.data, **changes},
        visit=record.visit,
        reason="transcription_error",
        expected_version=record.version,
    )


def test_correcting_the_sex_on_the_form_closes_its_query(cast, site):
    subject = _episode(cast, site, sex="M", year_of_birth=1964)
    _save(cast, subject, sex="female")
    _correct(cast, subject, sex="male")
    [query] = _queries(subject, SEX_QUERY)
    assert query.status == QueryStatus.CLOSED and query.closed_by is None
    assert "agrees with the screening episode" in query.messages.order_by("pk").last().text


def test_correcting_the_age_on_the_form_closes_its_query_and_a_wrong_one_keeps_it(cast, site):
    subject = _episode(cast, site, sex="M", year_of_birth=1975)
    _save(cast, subject, age_years=30)
    _correct(cast, subject, age_years=31)  # still wrong: the query stays open, no second one
    [query] = _queries(subject, AGE_QUERY)
    assert query.status == QueryStatus.OPEN
    _correct(cast, subject, age_years=51)  # born 1975, screened 2026: 50 or 51
    [query] = _queries(subject, AGE_QUERY)
    assert query.status == QueryStatus.CLOSED


def test_a_criterion_met_again_after_enrollment_closes_its_query(cast, enrolled_subject):
    _correct(cast, enrolled_subject, ecog=3)
    _correct(cast, enrolled_subject, ecog=1)
    [query] = Query.objects.system("test").filter(check_code__startswith=ELIGIBILITY_QUERY_PREFIX)
    assert query.status == QueryStatus.CLOSED
    assert "met again" in query.messages.order_by("pk").last().text
