"""The audit trail's filters are the shared list filters (issue 15, studies.listing): site (the
study-wide trail), user, action, field and days, each named when its value is not one of the
list's, with the shared pagination; a site user's filter never widens what they see."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from tests.conftest import ELIGIBLE_SCREENING

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.services import save_form

STUDY_TRAIL = "/studies/NCT00724360/audit/"


def _sequences(page: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-sequence="(\d+)"', page)}


@pytest.fixture
def rennes_subject(cast, study):
    from trialdesk.subjects.services import register_screening

    subject = register_screening(
        cast.investigator_rennes,
        study.sites.get(code="RNS"),
        screened_on=dt.date(2026, 11, 20),
        today=dt.date(2026, 11, 25),
        year_of_birth=1950,
    )
    save_form(
        cast.investigator_rennes, subject, "screening", dict(ELIGIBLE_SCREENING), visit=subject.visits.get()
    )
    return subject


def test_the_study_trail_keeps_one_sites_events_with_the_filter_shown_and_removable(
    client, cast, screened_subject, rennes_subject
):
    client.force_login(cast.data_manager)
    page = client.get(STUDY_TRAIL, {"site": "RNS"}).content.decode()
    shown = _sequences(page)
    assert shown and {e.site_code for e in AuditEvent.objects.filter(sequence__in=shown)} == {"RNS"}
    assert shown == set(
        AuditEvent.objects.filter(site_code="RNS").values_list("sequence", flat=True)
    )  # every Rennes event (fewer than a page)
    assert '<option value="RNS" selected>' in page and "Clear the filters" in page
    cleared = _sequences(client.get(STUDY_TRAIL).content.decode())
    assert shown < cleared


def test_an_unknown_site_user_action_or_field_is_named_and_not_applied(client, cast, screened_subject):
    client.force_login(cast.data_manager)
    everything = _sequences(client.get(STUDY_TRAIL).content.decode())
    for name, value, message in (
        ("site", "XYZ", "There is no site “XYZ” in your list."),
        ("user", "nobody", "“nobody” is not a choice of this list."),
        ("action", "explode", "“explode” is not a choice of this list."),
        ("field", "nothing", "“nothing” is not a choice of this list."),
    ):
        response = client.get(STUDY_TRAIL, {name: value})
        page = response.content.decode()
        assert response.status_code == 200 and message in page, name
        assert _sequences(page) == everything, name


def test_each_filter_narrows_the_trail(client, cast, screened_subject, rennes_subject):
    client.force_login(cast.data_manager)
    by_user = _sequences(client.get(STUDY_TRAIL, {"user": "inv.rennes"}).content.decode())
    assert by_user and by_user == set(
        AuditEvent.objects.filter(username="inv.rennes").values_list("sequence", flat=True)
    )
    by_action = _sequences(client.get(STUDY_TRAIL, {"action": "create", "site": "NTE"}).content.decode())
    assert by_action == set(
        AuditEvent.objects.filter(action="create", site_code="NTE").values_list("sequence", flat=True)
    )
    by_field = _sequences(client.get(STUDY_TRAIL, {"field": "ecog"}).content.decode())
    assert by_field == set(AuditEvent.objects.filter(field="ecog").values_list("sequence", flat=True))
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    assert _sequences(client.get(STUDY_TRAIL, {"date_from": tomorrow}).content.decode()) == set()


def test_a_site_users_filters_cannot_widen_their_scope(client, cast, screened_subject, rennes_subject):
    client.force_login(cast.investigator_nantes)
    url = f"/studies/NCT00724360/audit/subjects/{screened_subject.pk}/"
    own = _sequences(client.get(url).content.decode())
    # a Rennes user is not among the choices of a Nantes subject's trail; a site is not a filter there
    page = client.get(url, {"user": "inv.rennes", "site": "RNS"}).content.decode()
    assert "“inv.rennes” is not a choice of this list." in page
    assert _sequences(page) == own
    assert not AuditEvent.objects.filter(sequence__in=own, site_code="RNS").exists()
    assert 'name="site"' not in page
    # nor does the study-wide trail open for them, filter or not
    assert client.get(STUDY_TRAIL, {"site": "NTE"}).status_code == 404


def test_the_csv_export_keeps_the_sites_events_and_records_the_filter(
    client, cast, screened_subject, rennes_subject
):
    client.force_login(cast.data_manager)
    response = client.get(f"{STUDY_TRAIL}csv/", {"site": "NTE"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {r["site"] for r in rows} == {"NTE"}
    export = AuditEvent.objects.get(action="export")
    assert export.new_value["filters"] == {"site": "NTE"}


def test_an_invalid_filter_exports_nothing_and_goes_back_to_the_page(client, cast, screened_subject):
    client.force_login(cast.data_manager)
    response = client.get(f"{STUDY_TRAIL}csv/", {"user": "nobody"})
    assert response.status_code == 302 and "user=nobody" in response.url
    assert not AuditEvent.objects.filter(action="export").exists()


def test_the_pages_carry_the_filters(client, cast, screened_subject):
    from trialdesk.audit.services import Actor, audited, record

    with audited():
        for i in range(55):
            record(
                Actor.for_user(cast.investigator_nantes, "investigator"),
                "change",
                study_id=screened_subject.study_id,
                site=screened_subject.site,
                object_type="subject",
                object_id=screened_subject.pk,
                object_label=screened_subject.label,
                field="note",
                new_value=i,
            )
    client.force_login(cast.data_manager)
    page = client.get(STUDY_TRAIL, {"field": "note", "site": "NTE"}).content.decode()
    assert len(_sequences(page)) == 50
    assert re.search(r'href="\?(site=NTE&amp;field=note|field=note&amp;site=NTE)&amp;page=2"', page)
    second = client.get(STUDY_TRAIL, {"field": "note", "site": "NTE", "page": "2"}).content.decode()
    assert len(_sequences(second)) == 5
