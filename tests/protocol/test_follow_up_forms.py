"""The follow-up, end-of-study and end-of-treatment forms: an end is never before its start
(the same day is allowed), the last date known alive is not after the contact or the end
of study, a subsequent treatment is reported by a contact on or after its start."""

from __future__ import annotations

import datetime as dt

import pytest

from trialdesk.protocol import load_default_protocol
from trialdesk.protocol.formdata import validate_form_data

D = dt.date


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


def _errors(protocol, form, data, context=None):
    result = validate_form_data(protocol.form(form), data, context)
    return {failure.code for failure in result.check_failures if failure.severity == "error"}


ALIVE = {
    "contact_date": "2027-03-01",
    "vital_status": "alive",
    "disease_status": "remission",
    "new_treatment": "yes",
    "new_treatment_type": "allogeneic_transplant",
}


@pytest.mark.parametrize(
    "seen, refused", [("2027-03-01", False), ("2027-02-20", False), ("2027-03-02", True)]
)
def test_the_last_date_known_alive_is_not_after_the_contact(protocol, seen, refused):
    assert ("FU-ALIVE" in _errors(protocol, "follow_up", {**ALIVE, "last_known_alive_date": seen})) is refused


@pytest.mark.parametrize(
    "started, refused", [("2027-03-01", False), ("2027-01-10", False), ("2027-03-02", True)]
)
def test_a_subsequent_treatment_starts_on_or_before_the_contact_reporting_it(protocol, started, refused):
    data = {**ALIVE, "last_known_alive_date": "2027-03-01", "new_treatment_date": started}
    assert ("FU-NEW-TREATMENT" in _errors(protocol, "follow_up", data)) is refused


def test_the_subsequent_treatment_applies_only_when_there_is_one(protocol):
    data = {**ALIVE, "new_treatment": "no", "last_known_alive_date": "2027-03-01"}
    result = validate_form_data(protocol.form("follow_up"), data)
    assert "new_treatment_type" in result.errors  # it must stay empty


@pytest.mark.parametrize("first_dose, refused", [(D(2027, 3, 1), False), (D(2027, 3, 2), True)])
def test_a_follow_up_contact_is_not_before_the_first_dose(protocol, first_dose, refused):
    data = {**ALIVE, "last_known_alive_date": "2027-03-01"}
    context = {"subject.first_dose_date": first_dose}
    assert ("FU-AFTER-TREATMENT" in _errors(protocol, "follow_up", data, context)) is refused


@pytest.mark.parametrize("seen, refused", [("2027-06-01", False), ("2027-06-02", True)])
def test_the_end_of_study_is_not_before_the_last_date_known_alive(protocol, seen, refused):
    data = {"end_date": "2027-06-01", "reason": "lost_to_follow_up", "last_known_alive_date": seen}
    assert ("EOS-ALIVE" in _errors(protocol, "end_of_study", data)) is refused


@pytest.mark.parametrize("consent, refused", [(D(2027, 6, 1), False), (D(2027, 6, 2), True)])
def test_the_end_of_study_is_not_before_the_consent(protocol, consent, refused):
    data = {"end_date": "2027-06-01", "reason": "consent_withdrawn", "last_known_alive_date": "2027-06-01"}
    assert (
        "EOS-CONSENT" in _errors(protocol, "end_of_study", data, {"subject.consent_date": consent})
    ) is refused


@pytest.mark.parametrize("first_dose, refused", [(D(2027, 2, 1), False), (D(2027, 2, 2), True)])
def test_the_last_dose_is_not_before_the_first(protocol, first_dose, refused):
    data = {
        "end_date": "2027-02-03",
        "last_dose_date": "2027-02-01",
        "reason": "progression",
        "doses_received": 1,
    }
    context = {"subject.first_dose_date": first_dose}
    assert ("EOT-FIRST-DOSE" in _errors(protocol, "end_of_treatment", data, context)) is refused
