"""Voiding a log entry from its page: kept, struck through, with the reason; never deleted."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import save_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def transfusion(cast, enrolled_subject):
    data = {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2}
    return save_form(cast.investigator_nantes, enrolled_subject, "transfusion", data).record


def _url(record, suffix=""):
    return f"/subjects/{record.subject_id}/logs/{record.form_code}/{record.repeat}/{suffix}"


def test_the_site_voids_an_entry_with_a_reason_and_it_stays_struck_through(client, cast, transfusion):
    client.login(username=cast.coordinator_nantes.username, password=PASSWORD)
    page = client.get(_url(transfusion)).content.decode()
    assert 'id="void-form"' in page
    response = client.post(_url(transfusion, "void/"), {"reason": "typed in the wrong patient's casebook"})
    assert response.status_code == 302
    record = FormRecord.objects.system("test").get(pk=transfusion.pk)
    assert record.voided_at is not None and record.void_reason == "typed in the wrong patient's casebook"
    page = client.get(_url(transfusion)).content.decode()
    assert 'id="voided"' in page and "is-voided" in page and 'id="void-form"' not in page
    assert 'type="submit" class="primary"' not in page  # a voided entry is not edited any more
    assert AuditEvent.objects.filter(action="void", object_id=str(record.pk)).exists()


def test_voiding_without_a_reason_is_refused_and_changes_nothing(client, cast, transfusion):
    client.login(username=cast.investigator_nantes.username, password=PASSWORD)
    response = client.post(_url(transfusion, "void/"), {"reason": "  "}, follow=True)
    assert "reason" in response.content.decode().lower()
    assert FormRecord.objects.system("test").get(pk=transfusion.pk).voided_at is None


@pytest.mark.parametrize("role", ["monitor", "data_manager", "statistician"])
def test_only_site_staff_who_enter_data_may_void(client, cast, transfusion, role):
    client.login(username=getattr(cast, role).username, password=PASSWORD)
    assert 'id="void-form"' not in client.get(_url(transfusion)).content.decode()
    assert client.post(_url(transfusion, "void/"), {"reason": "no"}).status_code in (403, 404)
    assert FormRecord.objects.system("test").get(pk=transfusion.pk).voided_at is None
