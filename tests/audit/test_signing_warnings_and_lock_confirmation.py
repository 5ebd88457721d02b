"""Before signing, what is incomplete or open is listed and must be acknowledged; a study or
site lock asks for confirmation (what and how much is locked) and a reason."""

from __future__ import annotations

from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.queries.services import raise_query
from trialdesk.signatures.models import Signature
from trialdesk.studies.models import Site, Study


def _login(client, username):
    client.login(username=username, password=PASSWORD)
    return client


def test_the_sign_page_lists_open_queries_and_asks_to_acknowledge_them(client, cast, enrolled_subject):
    record = enrolled_subject.form_records.get(form_code="screening")
    query = raise_query(cast.monitor, record, "ecog", "Please confirm ECOG.")
    _login(client, "inv.nantes")
    url = f"/audit/subjects/{enrolled_subject.pk}/sign/"
    page = client.get(url).content.decode()
    assert 'id="signing-warnings"' in page and f"#{query.pk}" in page and 'name="reviewed"' in page
    assert "Screening and eligibility" in page  # the form's title, not its code
    response = client.post(url, {"password": PASSWORD})
    assert response.status_code == 400
    assert not Signature.objects.system("test").filter(subject=enrolled_subject).exists()
    response = client.post(url, {"password": PASSWORD, "reviewed": "1"})
    assert response.status_code == 302
    assert Signature.objects.system("test").filter(subject=enrolled_subject).count() == 1


def test_the_sign_page_lists_incomplete_forms(client, cast, enrolled_subject):
    from trialdesk.crf.services import save_form

    visit = enrolled_subject.visits.exclude(code="SCR").order_by("sequence").first()
    form_code = visit.code and enrolled_subject.study.protocol.visit(visit.code).forms[0]
    save_form(cast.investigator_nantes, enrolled_subject, form_code, {}, visit=visit)
    _login(client, "inv.nantes")
    page = client.get(f"/audit/subjects/{enrolled_subject.pk}/sign/").content.decode()
    assert 'id="incomplete-forms"' in page and "Incomplete" in page


def test_a_complete_casebook_without_queries_signs_without_acknowledgement(client, cast, enrolled_subject):
    _login(client, "inv.nantes")
    url = f"/audit/subjects/{enrolled_subject.pk}/sign/"
    assert 'id="signing-warnings"' not in client.get(url).content.decode()
    assert client.post(url, {"password": PASSWORD}).status_code == 302


def test_a_study_lock_asks_for_confirmation_showing_what_is_locked(client, cast, enrolled_subject):
    study = Study.objects.get()
    _login(client, "datamanager")
    before = AuditEvent.objects.count()
    response = client.post(f"/audit/locks/study/{study.pk}/", {"action": "lock", "reason": ""})
    page = response.content.decode()
    assert response.status_code == 200 and 'id="lock-confirm-form"' in page
    assert "1 subject will be locked" in page and "with 1 form record" in page
    study.refresh_from_db()
    assert study.locked_at is None and AuditEvent.objects.count() == before


def test_a_confirmed_study_lock_needs_a_reason(client, cast, enrolled_subject):
    study = Study.objects.get()
    _login(client, "datamanager")
    url = f"/audit/locks/study/{study.pk}/"
    assert client.post(url, {"action": "lock", "confirmed": "1", "reason": " "}).status_code == 400
    study.refresh_from_db()
    assert study.locked_at is None
    assert client.post(url, {"action": "lock", "confirmed": "1", "reason": "database lock"}).status_code == 302
    study.refresh_from_db()
    assert study.locked_at is not None


def test_a_site_lock_counts_the_sites_subjects_only(client, cast, enrolled_subject):
    site = Site.objects.get(code="RNS")
    _login(client, "datamanager")
    page = client.post(f"/audit/locks/site/{site.pk}/", {"action": "lock"}).content.decode()
    assert "0 subjects will be locked" in page
    client.post(f"/audit/locks/site/{site.pk}/", {"action": "lock", "confirmed": "1", "reason": "closed site"})
    site.refresh_from_db()
    assert site.locked_at is not None


def test_a_monitor_gets_no_confirmation_page_for_a_site_lock(client, cast, enrolled_subject):
    _login(client, "monitor")
    assert client.post(f"/audit/locks/site/{enrolled_subject.site_id}/", {"action": "lock"}).status_code == 403
