"""The pages of the cardiac hold: who reaches them, at which sites, and what they show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from tests.conftest import ELIGIBLE_SCREENING, PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.cardiac.models import HoldStatus
from trialdesk.cardiac.services import active_hold

pytestmark = pytest.mark.django_db

PAST = "2026-11-26"  # after the enrollment of the cast's subjects, before any day these tests run


@pytest.fixture
def safety_officer(study):
    from django.contrib.auth import get_user_model

    from trialdesk.studies.models import Membership, Role

    user = get_user_model().objects.create_user("safety", password=PASSWORD)
    Membership.objects.create(user=user, study=study, role=Role.SAFETY_OFFICER)
    return user


@pytest.fixture
def held(cast, study, enrolled_subject, save_lvef, safety_officer):
    """A subject on hold at Nantes and another at Clermont-Ferrand (outside the monitor's sites)."""
    from trialdesk.crf.services import save_form
    from trialdesk.studies.models import Membership, Role
    from trialdesk.subjects.services import enroll, register_screening

    save_lvef(enrolled_subject, 40, on=PAST)  # the investigator decides on the site's today, after it
    cfd = cast.investigator_rennes.__class__.objects.create_user("inv.cfd", password=PASSWORD)
    site = study.sites.get(code="CFD")
    Membership.objects.create(user=cfd, study=study, role=Role.INVESTIGATOR, site=site)
    other = register_screening(cfd, site, screened_on=dt.date(2026, 11, 20), today=dt.date(2026, 11, 25))
    save_form(cfd, other, "screening", dict(ELIGIBLE_SCREENING), visit=other.visits.get())
    other = enroll(
        cfd,
        other,
        consent_date=dt.date(2026, 11, 19),
        enrolled_on=dt.date(2026, 11, 24),
        today=dt.date(2026, 11, 25),
    )
    save_lvef(other, 44, user=cfd, on=PAST)
    return {"NTE": enrolled_subject, "CFD": other}


def _client(client, cast, role, safety_officer=None):
    user = safety_officer if role == "safety_officer" else getattr(cast, role)
    client.login(username=user.username, password=PASSWORD)
    return client


# role -> (decision page GET at NTE, POST lift at NTE, list shows NTE, list shows CFD)
MATRIX = {
    "investigator_nantes": (200, 302, True, False),
    "coordinator_nantes": (200, 403, True, False),
    "investigator_rennes": (404, 404, False, False),
    "monitor": (200, 403, True, False),
    "data_manager": (200, 403, True, True),
    "statistician": (200, 403, True, True),
    "sponsor": (200, 403, True, True),
    "safety_officer": (404, 404, True, True),
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_the_access_matrix_of_the_cardiac_pages(client, cast, held, safety_officer, role):
    get_status, post_status, sees_nte, sees_cfd = MATRIX[role]
    c = _client(client, cast, role, safety_officer)
    nte, cfd = held["NTE"], held["CFD"]
    assert c.get(f"/subjects/{nte.pk}/cardiac-hold/").status_code == get_status
    page = c.get("/cardiac/holds/")
    assert page.status_code == 200
    body = page.content.decode()
    assert (nte.label in body) is sees_nte and (cfd.label in body) is sees_cfd
    if role != "data_manager" and not sees_cfd:  # a foreign site's subject is 404, GET and POST
        assert c.get(f"/subjects/{cfd.pk}/cardiac-hold/").status_code == 404
        assert c.post(f"/subjects/{cfd.pk}/cardiac-hold/", {"action": "lift", "why": "x"}).status_code == 404
    before = AuditEvent.objects.count()
    response = c.post(f"/subjects/{nte.pk}/cardiac-hold/", {"action": "lift", "why": "cardiology: resume"})
    assert response.status_code == post_status
    assert (active_hold(nte) is None) is (post_status == 302)
    if post_status != 302:
        assert AuditEvent.objects.count() == before


def test_an_anonymous_visitor_is_sent_to_sign_in(client, held):
    for path in (f"/subjects/{held['NTE'].pk}/cardiac-hold/", "/cardiac/holds/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_casebook_shows_the_hold_its_reason_the_repeat_due_date_and_the_series(client, cast, held):
    c = _client(client, cast, "investigator_nantes")
    page = c.get(f"/subjects/{held['NTE'].pk}/").content.decode()
    assert 'data-cardiac-hold="active"' in page
    assert "Hold: LVEF 40 %, a drop of 22 points from 62 % at baseline (16 points or more)." in page
    assert "Repeat LVEF due by 2026-12-24." in page
    assert "data-lvef-series" in page and "Meets the hold rule" in page and "Grade 3" in page
    assert "data-decide-hold" in page


def test_a_coordinator_sees_the_hold_but_no_way_to_lift_it(client, cast, held):
    c = _client(client, cast, "coordinator_nantes")
    casebook = c.get(f"/subjects/{held['NTE'].pk}/").content.decode()
    assert 'data-cardiac-hold="active"' in casebook and "data-decide-hold" not in casebook
    page = c.get(f"/subjects/{held['NTE'].pk}/cardiac-hold/").content.decode()
    assert 'id="hold-decision"' not in page and "Only an investigator of the site" in page


def test_a_lift_without_a_reason_is_refused_with_a_message(client, cast, held):
    c = _client(client, cast, "investigator_nantes")
    response = c.post(f"/subjects/{held['NTE'].pk}/cardiac-hold/", {"action": "lift", "why": ""})
    assert response.status_code == 400 and "Give the reason for your decision." in response.content.decode()
    assert active_hold(held["NTE"]) is not None


def test_stopping_treatment_from_the_page_ends_the_hold_and_treatment(client, cast, held):
    c = _client(client, cast, "investigator_nantes")
    response = c.post(f"/subjects/{held['NTE'].pk}/cardiac-hold/", {"action": "stop", "why": "LVEF 40 %"})
    assert response.status_code == 302
    subject = held["NTE"].__class__.objects.system("test").get(pk=held["NTE"].pk)
    assert subject.treatment_ended_on is not None
    assert subject.cardiac_holds.get().status == HoldStatus.TREATMENT_STOPPED


def test_the_list_shows_every_hold_when_asked_and_filters_by_site(client, cast, held):
    c = _client(client, cast, "data_manager")
    page = c.get("/cardiac/holds/?site=CFD").content.decode()
    assert held["CFD"].label in page and held["NTE"].label not in page
    assert c.get("/cardiac/holds/?site=ZZZ").status_code == 404


def test_a_monitor_cannot_filter_on_a_site_outside_their_scope(client, cast, held):
    c = _client(client, cast, "monitor")
    assert c.get("/cardiac/holds/?site=CFD").status_code == 404


def test_the_pages_read_in_french(client, cast, held):
    c = _client(client, cast, "investigator_nantes")
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    page = c.get(f"/subjects/{held['NTE'].pk}/cardiac-hold/").content.decode()
    assert "Suspension pour toxicité cardiaque" in page
    assert "FEVG 40 %, une baisse de 22 points par rapport à 62 % à l’inclusion" in page
    listing = c.get("/cardiac/holds/").content.decode()
    assert "Patients en suspension cardiaque" in listing


# ---------------------------------------------------------------- the LVEF form's live panel


def _preview(c, subject, **values):
    url = f"/subjects/{subject.pk}/visits/C1/forms/lvef/"
    return c.post(url, {"_preview": "1", **values}, headers={"HX-Request": "true"}).content.decode()


def test_the_lvef_form_shows_the_drop_and_the_suggested_grade_as_typed(client, cast, enrolled_subject):
    c = _client(client, cast, "coordinator_nantes")
    page = c.get(f"/subjects/{enrolled_subject.pk}/visits/C1/forms/lvef/").content.decode()
    assert 'id="panel-cardiac-lvef"' in page and "data-lvef-panel" not in page  # nothing typed yet
    html = _preview(c, enrolled_subject, lvef_pct="48")
    assert "A drop of 14 points from 62 % at baseline." in html
    assert "Hold: LVEF 48 %, below 50 % with a drop of 14 points" in html
    assert "Saving it puts the subject on cardiac hold." in html
    assert "Suggested CTCAE v5.0 grade: 2" in html
    assert '<span lang="en">Ejection fraction decreased: Resting ejection fraction (EF) 50 - 40%' in html
    assert not enrolled_subject.form_records.filter(form_code="lvef").exists()


def test_the_panel_says_whether_the_grade_entered_agrees(client, cast, enrolled_subject):
    c = _client(client, cast, "investigator_nantes")
    assert "agrees with the suggestion" in _preview(
        c, enrolled_subject, lvef_pct="48", ef_decreased_grade="2"
    )
    assert "differs from the suggestion" in _preview(
        c, enrolled_subject, lvef_pct="48", ef_decreased_grade="3"
    )
    assert "agrees with the suggestion" in _preview(
        c, enrolled_subject, lvef_pct="60", ef_decreased_grade="0"
    )


def test_a_grade_ctcae_does_not_define_is_refused_and_nothing_saved(cast, enrolled_subject, save_lvef):
    from trialdesk.crf.services import FormSaveRefused

    with pytest.raises(FormSaveRefused):
        save_lvef(enrolled_subject, 60, ef_decreased_grade=1)  # CTCAE v5.0: no grade 1 of this term
    assert not enrolled_subject.form_records.filter(form_code="lvef").exists()


def test_the_form_page_says_why_grade_1_is_refused(client, cast, enrolled_subject):
    c = _client(client, cast, "investigator_nantes")
    url = f"/subjects/{enrolled_subject.pk}/visits/C1/forms/lvef/"
    response = c.post(
        url,
        {
            "assessment_date": "2027-02-15",
            "lvef_pct": "60",
            "method": "echo",
            "symptoms": "false",
            "ef_decreased_grade": "1",
            "_version": "0",
        },
    )
    assert response.status_code == 400
    assert "defines no grade 1" in response.content.decode().replace("&#x27;", "'")


def test_the_statistician_reads_the_hold_without_the_sites_free_text(client, cast, held):
    from trialdesk.cardiac.services import lift_hold

    lift_hold(
        cast.investigator_nantes,
        active_hold(held["NTE"]),
        "Dr Martin, cardiology, agrees",
        on=dt.date.today(),
    )
    c = _client(client, cast, "statistician")
    casebook = c.get(f"/subjects/{held['NTE'].pk}/").content.decode()
    listing = c.get("/cardiac/holds/?show=all").content.decode()
    assert 'data-cardiac-hold="lifted"' in casebook and "a drop of 22 points" in casebook
    assert "Dr Martin" not in casebook and "Dr Martin" not in listing
    investigator = (
        _client(client, cast, "investigator_nantes").get(f"/subjects/{held['NTE'].pk}/").content.decode()
    )
    assert "Dr Martin, cardiology, agrees" in investigator
