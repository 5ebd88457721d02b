"""A subscriber of FormSaved refuses a save (SaveRefusedBy): nothing is written, the user
gets the message on the field it names, on the form page like a validation error."""

from __future__ import annotations

import pytest
from tests.conftest import PASSWORD

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.events import SaveRefusedBy, form_saved
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import FormInvalid, save_form

TRANSFUSION = {"transfusion_date": "2026-11-24", "product": "red_cells", "units": 2}


@pytest.fixture
def refusing_subscriber():
    """A subscriber that refuses any transfusion of more than 3 units, on the units field."""
    seen = []

    def refuse(event):
        seen.append(event.record.pk)
        if event.record.form_code == "transfusion" and event.record.data.get("units", 0) > 3:
            raise SaveRefusedBy("units", "Not more than 3 units here.")

    form_saved.subscribe(refuse)
    yield seen
    form_saved._subscribers.remove(refuse)


def test_it_refuses_the_save_with_the_message_on_the_field_and_writes_nothing(
    cast, enrolled_subject, refusing_subscriber
):
    before = AuditEvent.objects.count()
    with pytest.raises(FormInvalid) as refused:
        save_form(cast.investigator_nantes, enrolled_subject, "transfusion", {**TRANSFUSION, "units": 4})
    assert refused.value.validation.errors["units"] == ["Not more than 3 units here."]
    assert refusing_subscriber, "the subscriber ran (inside the save)"
    assert (
        not FormRecord.objects.system("test")
        .filter(subject=enrolled_subject, form_code="transfusion")
        .exists()
    )
    assert AuditEvent.objects.count() == before


def test_a_refused_correction_leaves_the_record_as_it_was(cast, enrolled_subject, refusing_subscriber):
    saved = save_form(cast.investigator_nantes, enrolled_subject, "transfusion", dict(TRANSFUSION)).record
    with pytest.raises(FormInvalid):
        save_form(
            cast.investigator_nantes,
            enrolled_subject,
            "transfusion",
            {**TRANSFUSION, "units": 5},
            repeat=saved.repeat,
            expected_version=saved.version,
            reason="transcription_error",
        )
    stored = FormRecord.objects.system("test").get(pk=saved.pk)
    assert stored.data["units"] == 2 and stored.version == saved.version


def test_the_form_page_shows_the_refusal_on_its_field_and_keeps_what_was_typed(
    client, cast, enrolled_subject, refusing_subscriber
):
    client.login(username="inv.nantes", password=PASSWORD)
    response = client.post(
        f"/subjects/{enrolled_subject.pk}/logs/transfusion/new/", {**TRANSFUSION, "units": "4"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    field = page[page.index('id="field-units"') :]
    field = field[: field.index('id="field-', 10)] if 'id="field-' in field[10:] else field
    assert "Not more than 3 units here." in field and 'value="4"' in field
    assert "nothing was saved" in page
