"""The adverse-event form's edit checks at their boundaries (the protocol's rules, evaluated
by the form engine as every save does): end not before start, onset not before consent (that
is medical history), grade 5 fatal and serious with death as criterion, a serious event
meets an ICH E2A criterion."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.safety.conftest import NON_SERIOUS_AE, SERIOUS_AE

from trialdesk.protocol import load_default_protocol
from trialdesk.protocol.formdata import validate_form_data

CONSENT = dt.date(2026, 11, 19)


@pytest.fixture(scope="module")
def form():
    protocol = load_default_protocol()
    return protocol.form(protocol.concept_form("adverse_event_term"))


def failures(form, data, consent=CONSENT):
    result = validate_form_data(
        form, data, {"subject.consent_date": consent, "subject.first_dose_date": None}
    )
    return {f.code: f.severity for f in result.check_failures}, result


def test_an_event_ending_the_day_it_starts_is_accepted(form):
    found, result = failures(
        form, dict(NON_SERIOUS_AE, onset_date="2026-11-26", resolution_date="2026-11-26")
    )
    assert "AE-DATES" not in found and result.ok


def test_an_event_ending_the_day_before_it_starts_is_refused(form):
    found, result = failures(
        form, dict(NON_SERIOUS_AE, onset_date="2026-11-26", resolution_date="2026-11-25")
    )
    assert found["AE-DATES"] == "error" and not result.ok


def test_an_event_starting_on_the_consent_day_is_an_adverse_event(form):
    found, _ = failures(form, dict(NON_SERIOUS_AE, onset_date="2026-11-19", resolution_date="2026-11-20"))
    assert "AE-CONSENT" not in found


def test_an_event_starting_the_day_before_consent_is_refused_as_medical_history(form):
    found, result = failures(
        form, dict(NON_SERIOUS_AE, onset_date="2026-11-18", resolution_date="2026-11-20")
    )
    assert found["AE-CONSENT"] == "error"
    assert "medical history" in result.errors["onset_date"][0]


def _fatal(**changes):
    data = dict(
        SERIOUS_AE, event_term="Sepsis", grade=5, outcome="fatal", sae_death=True, sae_hospitalisation=False
    )
    data.update(changes)
    return data


def test_a_grade_5_fatal_serious_event_with_death_as_criterion_passes(form):
    found, result = failures(form, _fatal())
    assert not {"AE-FATAL", "AE-SERIOUS", "AE-CRITERIA"} & set(found) and result.ok


def test_a_grade_5_event_that_is_not_fatal_is_refused(form):
    found, _ = failures(form, _fatal(outcome="recovered"))
    assert found["AE-FATAL"] == "error"


def test_a_grade_4_event_with_a_fatal_outcome_is_queried(form):
    found, _ = failures(form, _fatal(grade=4))
    assert found == {"AE-FATAL-GRADE": "query"}


def test_a_grade_5_event_without_death_as_criterion_is_refused(form):
    found, _ = failures(form, _fatal(sae_death=False, sae_hospitalisation=True))
    assert found["AE-SERIOUS"] == "error"


def test_a_serious_event_without_any_criterion_is_refused(form):
    found, _ = failures(form, dict(SERIOUS_AE, sae_hospitalisation=False))
    assert found["AE-CRITERIA"] == "error"


def test_the_seriousness_criteria_apply_only_to_a_serious_event(form):
    _, result = failures(form, dict(NON_SERIOUS_AE, sae_death=False))
    assert "sae_death" in result.errors


def test_the_casebook_marks_a_ctcae_term_as_english_on_a_french_page(client, cast, enrolled_subject):
    from tests.conftest import PASSWORD

    from trialdesk.crf.services import save_form

    save_form(cast.investigator_nantes, enrolled_subject, "adverse_event", dict(NON_SERIOUS_AE))
    client.login(username=cast.coordinator_nantes.username, password=PASSWORD)
    page = client.get(f"/subjects/{enrolled_subject.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<td lang="en" translate="no">Headache</td>' in page
