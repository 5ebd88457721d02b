"""Deviations, acknowledgements, the window query at save, the worklist and the casebook (issue 9)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.services import save_form
from trialdesk.deviations.models import DeviationAcknowledgement
from trialdesk.deviations.services import (
    AcknowledgementRefused,
    acknowledge,
    deviation_rows,
    worklist,
)
from trialdesk.queries.models import Query
from trialdesk.subjects.models import Subject

NOW = dt.datetime(2026, 12, 20, 10, 0, tzinfo=dt.UTC)


def infusion(
    day: dt.date, *, loading: bool, given: float, prescribed: float | None = None, weight: float = 70
):
    per_kg = 4 if loading else 2
    return {
        "infusion_date": day.isoformat(),
        "weight_kg": weight,
        "loading": loading,
        "dose_mg_per_kg": per_kg,
        "prescribed_dose_mg": prescribed if prescribed is not None else per_kg * weight,
        "administered_dose_mg": given,
        "infusion_reaction": False,
    }


@pytest.fixture
def treated(cast, enrolled_subject):
    """Loading dose on 25 Nov, then a dose 16 days later given as maintenance (missed, no reload)."""
    user = cast.investigator_nantes
    save_form(user, enrolled_subject, "infusion", infusion(dt.date(2026, 11, 25), loading=True, given=280))
    save_form(user, enrolled_subject, "infusion", infusion(dt.date(2026, 12, 11), loading=False, given=140))
    return Subject.objects.system("test").select_related("site", "study").get(pk=enrolled_subject.pk)


def test_a_missed_dose_without_reload_is_listed_with_stable_keys(cast, study, treated):
    rows = deviation_rows(cast.data_manager, study, now=NOW)
    assert {r.deviation.key for r in rows} == {"missed_dose:after:infusion#1", "reload_not_given:infusion#2"}
    assert all(r.link.startswith(f"/subjects/{treated.pk}/logs/infusion/") for r in rows)


def test_a_rennes_investigator_sees_no_nantes_deviation(cast, study, treated):
    assert deviation_rows(cast.investigator_rennes, study, now=NOW) == []
    assert len(deviation_rows(cast.investigator_nantes, study, now=NOW)) == 2


def test_an_acknowledgement_is_audited_and_stays_attached_after_a_re_save(cast, study, treated):
    before = AuditEvent.objects.count()
    acknowledge(
        cast.monitor, treated, "reload_not_given:infusion#2", "Pharmacy had no vial; see note.", now=NOW
    )
    event = AuditEvent.objects.order_by("-pk").first()
    assert AuditEvent.objects.count() == before + 1
    assert (
        event.action == "deviation.acknowledge"
        and event.role == "monitor"
        and event.field == "reload_not_given:infusion#2"
    )
    record = treated.form_records.get(form_code="infusion", repeat=2)
    save_form(
        cast.investigator_nantes,
        treated,
        "infusion",
        {**record.data, "administered_dose_mg": 139},
        repeat=2,
        expected_version=record.version,
        reason="transcription_error",
    )
    rows = {r.deviation.key: r for r in deviation_rows(cast.data_manager, study, now=NOW)}
    assert rows["reload_not_given:infusion#2"].acknowledgement.comment == "Pharmacy had no vial; see note."
    assert rows["missed_dose:after:infusion#1"].acknowledgement is None


def test_it_refuses_an_acknowledgement_without_comment_or_by_an_investigator(cast, treated):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(AcknowledgementRefused):
        acknowledge(cast.data_manager, treated, "reload_not_given:infusion#2", "  ", now=NOW)
    with pytest.raises(PermissionDenied):
        acknowledge(cast.investigator_nantes, treated, "reload_not_given:infusion#2", "ok", now=NOW)
    with pytest.raises(AcknowledgementRefused):
        acknowledge(cast.data_manager, treated, "late_dose:infusion#9", "no such deviation", now=NOW)
    assert not DeviationAcknowledgement.objects.system("test").exists()


def _aspirate_a_day_after_its_window(cast, treated) -> dt.date:
    """The M1 marrow saved one day after its window closed; its date."""
    visit = treated.visits.get(code="M1")
    outside = visit.window_end + dt.timedelta(days=1)
    data = {
        "assessment_date": outside.isoformat(),
        "marrow_blasts_pct": 40,
        "circulating_blasts_present": False,
        "anc": 0.8,
        "platelets": 40,
        "hemoglobin": 9,
        "extramedullary_disease": False,
        "karyotype_done": False,
        "investigator_response": "NR",
    }
    save_form(cast.investigator_nantes, treated, "marrow_assessment", data, visit=visit)
    return outside


def test_an_aspirate_outside_its_window_raises_a_query_at_save_and_is_a_deviation(cast, study, treated):
    _aspirate_a_day_after_its_window(cast, treated)
    assert (
        Query.objects.system("test").filter(check_code="assessment_window", record__subject=treated).count()
        == 1
    )
    keys = {r.deviation.key for r in deviation_rows(cast.data_manager, study, now=NOW)}
    assert "assessment_out_of_window:M1/marrow_assessment" in keys


def test_an_aspirate_outside_its_window_is_queried_in_the_readers_language(cast, study, treated):
    from django.utils import translation

    from trialdesk.queries import wording

    outside = _aspirate_a_day_after_its_window(cast, treated)
    query = Query.objects.system("test").get(check_code="assessment_window", record__subject=treated)
    assert query.summary.startswith(
        f"This assessment is outside its window: done on {outside.isoformat()}, 1 day(s)"
    )
    with translation.override("fr"):
        shown = wording.of_summary(query, study.protocol)
    assert shown.lang == "" and shown.text.startswith(
        f"Cette évaluation est hors de sa fenêtre : fait le {outside.isoformat()}, 1 jour(s) après sa fenêtre"
    )


def test_an_aspirate_on_the_last_day_of_its_window_raises_no_query(cast, treated):
    visit = treated.visits.get(code="M1")
    data = {
        "assessment_date": visit.window_end.isoformat(),
        "marrow_blasts_pct": 40,
        "circulating_blasts_present": False,
        "anc": 0.8,
        "platelets": 40,
        "hemoglobin": 9,
        "extramedullary_disease": False,
        "karyotype_done": False,
        "investigator_response": "NR",
    }
    save_form(cast.investigator_nantes, treated, "marrow_assessment", data, visit=visit)
    assert not Query.objects.system("test").filter(check_code="assessment_window").exists()


def test_the_site_date_is_paris_just_after_midnight_while_utc_is_still_the_day_before(site):
    just_after_paris_midnight = dt.datetime(2026, 12, 17, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 18th in Paris
    assert site.time_zone == "Europe/Paris"
    assert site.today(just_after_paris_midnight) == dt.date(2026, 12, 18)


def test_the_worklist_uses_the_sites_date(cast, study, site, enrolled_subject):
    """A loading dose on 11 Dec: the next is due on the 18th (7 days later)."""
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "infusion",
        infusion(dt.date(2026, 12, 11), loading=True, given=280),
    )
    paris_18th = worklist(
        cast.coordinator_nantes, study, site, now=dt.datetime(2026, 12, 17, 23, 30, tzinfo=dt.UTC)
    )
    utc_17th = worklist(
        cast.coordinator_nantes, study, site, now=dt.datetime(2026, 12, 17, 22, 30, tzinfo=dt.UTC)
    )
    assert paris_18th.today == dt.date(2026, 12, 18)
    assert [i.key for _s, i in paris_18th.due_today] == ["infusion:next"]
    assert utc_17th.today == dt.date(2026, 12, 17)
    assert "infusion:next" not in [i.key for _s, i in utc_17th.due_today]
    assert "infusion:next" in [i.key for _s, i in utc_17th.this_week]


# ------------------------------------------------------------------ pages


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.parametrize("role", ["data_manager", "monitor", "sponsor", "investigator_nantes"])
def test_the_listing_shows_each_deviation_linked_to_its_record(client, cast, treated, role):
    page = _login(client, getattr(cast, role)).get("/deviations/").content.decode()
    assert (
        "Reload not given after a missed dose" in page and f"/subjects/{treated.pk}/logs/infusion/2/" in page
    )
    assert "reload_not_given" not in page.replace('data-deviation="reload_not_given:infusion#2"', "").replace(
        'value="reload_not_given:infusion#2"', ""
    )


def test_the_listing_of_a_site_outside_scope_is_not_found(client, cast, treated):
    assert _login(client, cast.investigator_rennes).get("/deviations/sites/NTE/").status_code == 404
    page = client.get("/deviations/").content.decode()
    assert "Reload not given" not in page


def test_the_safety_officer_and_the_statistician_reach_the_listing_as_their_role_allows(
    client, cast, study, treated
):
    assert _login(client, cast.statistician).get("/deviations/").status_code == 200


def test_a_monitor_acknowledges_from_the_listing(client, cast, treated):
    _login(client, cast.monitor)
    response = client.post(
        f"/deviations/subjects/{treated.pk}/acknowledge/",
        {"key": "missed_dose:after:infusion#1", "comment": "Patient on holiday.", "next": "/deviations/"},
    )
    assert response.status_code == 302
    page = client.get("/deviations/").content.decode()
    assert 'data-acknowledged="missed_dose:after:infusion#1"' in page and "Patient on holiday." in page


def test_an_investigator_cannot_acknowledge(client, cast, treated):
    response = _login(client, cast.investigator_nantes).post(
        f"/deviations/subjects/{treated.pk}/acknowledge/",
        {"key": "missed_dose:after:infusion#1", "comment": "x"},
    )
    assert response.status_code == 403
    assert not DeviationAcknowledgement.objects.system("test").exists()


def test_the_csv_lists_the_deviations_of_the_users_sites(client, cast, treated):
    response = _login(client, cast.data_manager).get("/deviations/csv/")
    lines = response.content.decode().splitlines()
    assert response["Content-Type"].startswith("text/csv") and lines[0].startswith("site,subject,key,rule")
    assert len(lines) == 3 and all(line.startswith("NTE,") for line in lines[1:])


def test_the_casebook_shows_the_calendar_exposure_and_deviations(client, cast, treated):
    page = _login(client, cast.investigator_nantes).get(f"/subjects/{treated.pk}/").content.decode()
    assert 'id="treatment-calendar-items"' in page and 'id="exposure"' in page
    assert "Reload (loading dose)" in page and "Reload not given after a missed dose" in page


def test_a_monitor_acknowledges_from_the_casebook(client, cast, treated):
    page = _login(client, cast.monitor).get(f"/subjects/{treated.pk}/").content.decode()
    assert f'action="/deviations/subjects/{treated.pk}/acknowledge/"' in page
    response = client.post(
        f"/deviations/subjects/{treated.pk}/acknowledge/",
        {"key": "missed_dose:after:infusion#1", "comment": "Seen.", "next": f"/subjects/{treated.pk}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/subjects/{treated.pk}/"
    page = client.get(f"/subjects/{treated.pk}/").content.decode()
    assert 'data-acknowledged="missed_dose:after:infusion#1"' in page


def test_the_worklist_page_is_linked_from_the_site_page_and_lists_in_french(client, cast, treated):
    from django.conf import settings

    _login(client, cast.coordinator_nantes)
    assert "/deviations/sites/NTE/worklist/" in client.get("/sites/NTE/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = client.get("/deviations/sites/NTE/worklist/").content.decode()
    assert "En retard" in page and "Liste de travail du traitement" in page


def _subjects(study, site, upto: int, investigator):
    """Enrolled subjects with one loading dose each, written directly (a fixture)."""
    from trialdesk.crf.models import FormRecord, FormStatus

    for n in range(Subject.objects.system("test").filter(study=study).count(), upto):
        subject = Subject.objects.create(
            study=study,
            site=site,
            screening_number=f"D-S{n:03d}",
            subject_code=f"D-{n:03d}",
            status="enrolled",
            screened_on=dt.date(2026, 11, 20),
            enrolled_on=dt.date(2026, 11, 24),
            first_dose_on=dt.date(2026, 11, 25),
        )
        FormRecord.objects.create(
            subject=subject,
            form_code="infusion",
            repeat=1,
            data=infusion(dt.date(2026, 11, 25), loading=True, given=300),
            status=FormStatus.COMPLETE,
            filled_fields=8,
        )


def _count(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", ["/deviations/", "/deviations/sites/NTE/worklist/"])
def test_the_listing_and_worklist_take_the_same_number_of_queries_for_3_and_30_subjects(
    client, cast, study, site, url
):
    _login(client, cast.data_manager)
    _subjects(study, site, 3, cast.investigator_nantes)
    client.get(url)
    few = _count(client, url)
    _subjects(study, site, 30, cast.investigator_nantes)
    assert _count(client, url) == few


def test_a_cardiac_hold_asks_a_repeat_lvef_stops_the_next_dose_and_a_dose_during_it_is_a_deviation(
    cast, study, site, enrolled_subject
):
    """Baseline LVEF 62 % (screening); 45 % on 4 Dec is a drop of 17 points, at least 16: a hold
    (trastuzumab label, protocol dose_rules.cardiac_hold)."""
    from trialdesk.cardiac.models import CardiacHold

    user = cast.investigator_nantes
    save_form(user, enrolled_subject, "infusion", infusion(dt.date(2026, 11, 27), loading=True, given=280))
    visit = enrolled_subject.visits.get(code="C1")
    save_form(
        user,
        enrolled_subject,
        "lvef",
        {"assessment_date": "2026-12-04", "lvef_pct": 45, "method": "echo", "symptoms": False},
        visit=visit,
    )
    hold = CardiacHold.objects.system("test").get(subject=enrolled_subject)
    work = worklist(cast.coordinator_nantes, study, site, now=dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC))
    listed = {i.key: i for _s, i in work.overdue + work.due_today + work.this_week}
    assert "infusion:next" not in listed  # no dose proposed while on hold
    assert hold.repeat_lvef_due_on == dt.date(2026, 12, 4) + dt.timedelta(days=28)  # protocol: within 4 weeks
    repeat = f"repeat_lvef:cardiac_hold#{hold.pk}"
    later = worklist(cast.coordinator_nantes, study, site, now=dt.datetime(2026, 12, 29, 9, 0, tzinfo=dt.UTC))
    assert repeat in [i.key for _s, i in later.this_week]
    past = worklist(cast.coordinator_nantes, study, site, now=dt.datetime(2027, 1, 2, 9, 0, tzinfo=dt.UTC))
    assert repeat in [i.key for _s, i in past.overdue]
    save_form(user, enrolled_subject, "infusion", infusion(dt.date(2026, 12, 4), loading=False, given=140))
    keys = {r.deviation.key for r in deviation_rows(cast.data_manager, study, now=NOW)}
    assert "dose_during_hold:infusion#2" in keys


def test_the_listing_shows_the_overall_exposure_of_the_users_sites(client, cast, treated):
    """Two doses (280 + 140 mg), 16 days apart: one missed dose, no reload (given as maintenance)."""
    page = _login(client, cast.data_manager).get("/deviations/").content.decode()
    summary = page.split('id="exposure-summary"')[1].split("</table>")[0]
    cells = [c for c in summary.split('<td class="num">')[1:]]
    assert cells[0].startswith("1<") and cells[1].startswith("2<") and cells[2].startswith("420 mg")
    assert cells[6].startswith("1<") and cells[7].startswith("0<")
    assert (
        'id="exposure-summary"'
        in _login(client, cast.investigator_rennes).get("/deviations/").content.decode()
    )


def test_a_voided_infusion_no_longer_makes_a_deviation(cast, study, treated):
    from trialdesk.crf.services import void_record

    record = treated.form_records.get(form_code="infusion", repeat=2)
    void_record(cast.investigator_nantes, record, "entered for the wrong patient")
    keys = {r.deviation.key for r in deviation_rows(cast.data_manager, study, now=NOW)}
    assert "reload_not_given:infusion#2" not in keys


@pytest.mark.parametrize(("hour_utc_day", "bucket"), [(9, "due_today"), (10, "overdue")])
def test_a_weekly_dose_is_due_until_day_9_and_overdue_from_day_10(
    cast, study, site, enrolled_subject, hour_utc_day, bucket
):
    """On time up to 9 days after the previous dose (dose_rules.timing.late_after_days)."""
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "infusion",
        infusion(dt.date(2026, 12, 1), loading=True, given=280),
    )
    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC) + dt.timedelta(days=hour_utc_day)
    work = worklist(cast.coordinator_nantes, study, site, now=now)
    assert [i.key for _s, i in getattr(work, bucket)] == ["infusion:next"]
