"""Data entry (issue 15): "Needed" hints wait for a save attempt; an incomplete save says so;
read-only forms look read-only."""

from __future__ import annotations

import re

import pytest
from tests.subjects.screening_helpers import login, password_only  # noqa: F401 (password_only is a fixture)

pytestmark = pytest.mark.usefixtures("password_only")


def _url(subject) -> str:
    return f"/subjects/{subject.pk}/visits/SCR/forms/lvef/"


def _save(client, subject, data, **headers) -> str:
    """Save, then the next page shows the messages (the form page itself: the casebook is
    another app's page)."""
    response = client.post(_url(subject), {**data, "_version": "0"}, **headers)
    assert response.status_code == 302
    return client.get(_url(subject), **headers).content.decode()


def _visible_needed_hints(page: str) -> list[str]:
    hints = re.findall(r'<p class="hint needed-hint" id="needed-(\w+)" data-needed-hint( hidden)?>', page)
    return [code for code, hidden in hints if not hidden]


def test_an_empty_form_shows_no_needed_hint_at_first_sight(client, screened_subject):
    login(client, "coord.nantes")
    page = client.get(_url(screened_subject)).content.decode()
    # every required field has its hint ready for when it is left empty, all hidden
    assert re.search(r'id="needed-lvef_pct" data-needed-hint hidden', page)
    assert _visible_needed_hints(page) == []
    assert "crf/data_entry" in page  # the script that shows a hint when a field is left empty


def test_a_save_that_leaves_the_form_incomplete_says_which_fields_are_still_needed(client, screened_subject):
    login(client, "coord.nantes")
    page = _save(client, screened_subject, {"lvef_pct": "61"})
    assert "Saved (version 1). 3 fields are still needed to complete the form:" in page
    assert "Date of assessment, Method, Symptoms of heart failure." in page
    # back on the form, the saved record's missing fields show their hint
    assert sorted(_visible_needed_hints(page)) == ["assessment_date", "method", "symptoms"]


def test_one_missing_field_is_said_in_the_singular_and_in_french(client, screened_subject):
    login(client, "coord.nantes")
    data = {"lvef_pct": "61", "assessment_date": "2026-11-20", "method": "echo"}
    page = _save(client, screened_subject, data, HTTP_ACCEPT_LANGUAGE="fr")
    assert "1 champ est encore nécessaire pour compléter le formulaire : Symptômes d" in page


def test_a_complete_save_says_saved_and_nothing_more(client, screened_subject):
    login(client, "coord.nantes")
    data = {"lvef_pct": "61", "assessment_date": "2026-11-20", "method": "echo", "symptoms": "false"}
    page = _save(client, screened_subject, data)
    assert "Saved (version 1)." in page
    assert "still needed" not in page


def test_the_monitor_sees_a_read_only_form_without_a_save_button(client, screened_subject):
    login(client, "monitor")
    page = client.get(_url(screened_subject)).content.decode()
    assert 'class="crf read-only"' in page and 'id="read-only-note"' in page
    assert 'type="submit" class="primary"' not in page
    assert re.search(r'name="lvef_pct" id="id_lvef_pct"[^>]* readonly', page)
    assert re.search(r'name="method" id="id_method"[^>]* disabled', page)
    # site staff see the save button
    login(client, "coord.nantes")
    page = client.get(_url(screened_subject)).content.decode()
    assert 'type="submit" class="primary"' in page and "read-only" not in page
