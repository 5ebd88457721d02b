"""A value outside the possible range is refused (nothing saved, a message in the user's
language); outside the physiological range it is saved and raises a query, which closes
once the value is corrected into the range. Ranges from the protocol file (operational):
platelets possible 0-2000, expected 2-1000 ×10^9/L."""

from __future__ import annotations

import pytest

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import FormInvalid, save_form
from trialdesk.protocol import load_default_protocol
from trialdesk.protocol.formdata import range_code, validate_form_data
from trialdesk.queries.models import Query, QueryStatus

MARROW = {
    "assessment_date": "2026-12-20",
    "marrow_blasts_pct": 40,
    "circulating_blasts_present": "no",
    "anc": 0.8,
    "platelets": 50,
    "extramedullary_disease": "no",
}


@pytest.fixture(scope="module")
def form():
    return load_default_protocol().form("marrow_assessment")


def _failures(form, **values):
    return [
        f.code
        for f in validate_form_data(form, {**MARROW, **values}).check_failures
        if f.code.startswith("RANGE.")
    ]


@pytest.mark.parametrize("platelets", [2, 2.0, 1000])
def test_a_value_on_the_edge_of_the_expected_range_raises_no_query(form, platelets):
    assert _failures(form, platelets=platelets) == []


@pytest.mark.parametrize("platelets", [1.9, 1000.5, 0, 2000])
def test_a_possible_value_outside_the_expected_range_is_queried_not_refused(form, platelets):
    result = validate_form_data(form, {**MARROW, "platelets": platelets})
    assert result.ok
    assert [f.code for f in result.check_failures if f.code.startswith("RANGE.")] == [range_code("platelets")]


@pytest.mark.parametrize("platelets", [-0.1, 2000.1])
def test_a_value_outside_the_possible_range_is_refused(form, platelets):
    result = validate_form_data(form, {**MARROW, "platelets": platelets})
    assert not result.ok and "platelets" in result.errors


def _marrow_visit(subject):
    return subject.visits.get(code="M1")


def test_a_save_outside_the_expected_range_keeps_the_value_and_opens_a_query(cast, enrolled_subject):
    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(MARROW, platelets=1500),
        visit=_marrow_visit(enrolled_subject),
    )
    assert outcome.record.data["platelets"] == 1500
    (query,) = Query.objects.system("test").filter(record=outcome.record, check_code=range_code("platelets"))
    assert query.status == QueryStatus.OPEN and query.field_code == "platelets"
    assert "outside the expected range (2–1000 10^9/L)" in query.summary


def test_correcting_the_value_into_the_expected_range_closes_its_query(cast, enrolled_subject):
    visit = _marrow_visit(enrolled_subject)
    first = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(MARROW, platelets=1500),
        visit=visit,
    )
    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(MARROW, platelets=150),
        visit=visit,
        expected_version=first.record.version,
        reason="transcription_error",
    )
    (query,) = Query.objects.system("test").filter(record=first.record, check_code=range_code("platelets"))
    assert query.status == QueryStatus.CLOSED


def test_a_save_outside_the_possible_range_writes_nothing(cast, enrolled_subject):
    before = AuditEvent.objects.count()
    with pytest.raises(FormInvalid):
        save_form(
            cast.investigator_nantes,
            enrolled_subject,
            "marrow_assessment",
            dict(MARROW, platelets=2500),
            visit=_marrow_visit(enrolled_subject),
        )
    assert (
        not FormRecord.objects.system("test")
        .filter(subject=enrolled_subject, form_code="marrow_assessment")
        .exists()
    )
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "language, refused, queried",
    [
        ("en", "Must be at most 2000 10^9/L.", "is outside the expected range"),
        ("fr", "Doit être au plus 2000 10^9/L.", "est hors de l'intervalle attendu"),
    ],
)
def test_both_messages_read_in_the_users_language(form, language, refused, queried):
    from django.utils import translation

    from trialdesk.crf.rendering import translated

    with translation.override(language):
        too_high = validate_form_data(form, {**MARROW, "platelets": 2500})
        assert translated(too_high.errors["platelets"][0], form) == refused
        unusual = validate_form_data(form, {**MARROW, "platelets": 1500})
        (failure,) = [f for f in unusual.check_failures if f.code == range_code("platelets")]
        assert queried in translated(failure.message, form)


@pytest.mark.parametrize(
    "language, rule, message",
    [
        ("en", "Raised by the rule: Physiological range", "1500 10^9/L is outside the expected range"),
        (
            "fr",
            "Émise par la règle : Intervalle physiologique",
            "1500 10^9/L est hors de l&#x27;intervalle attendu",
        ),
    ],
)
def test_the_query_page_names_the_range_rule_and_its_finding_in_the_users_language(
    client, cast, enrolled_subject, language, rule, message
):
    from tests.conftest import PASSWORD

    outcome = save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(MARROW, platelets=1500),
        visit=_marrow_visit(enrolled_subject),
    )
    query = Query.objects.system("test").get(record=outcome.record, check_code=range_code("platelets"))
    client.login(username="monitor", password=PASSWORD)
    page = client.get(f"/queries/{query.pk}/", HTTP_ACCEPT_LANGUAGE=language, follow=True).content.decode()
    assert rule in page and message in page
    assert ">RANGE.platelets<" not in page and "edit check RANGE" not in page


def test_the_form_page_lists_the_range_query_by_its_rule_not_a_field_code(client, cast, enrolled_subject):
    from tests.conftest import PASSWORD

    save_form(
        cast.investigator_nantes,
        enrolled_subject,
        "marrow_assessment",
        dict(MARROW, platelets=1500),
        visit=_marrow_visit(enrolled_subject),
    )
    client.login(username="monitor", password=PASSWORD)
    url = f"/subjects/{enrolled_subject.pk}/visits/M1/forms/marrow_assessment/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr", follow=True).content.decode()
    assert "Intervalle physiologique</small>" in page
    assert ">RANGE.platelets<" not in page


def test_a_french_form_page_gives_the_browser_its_possible_range_as_numbers(client, cast, enrolled_subject):
    """An input's min and max are HTML numbers (a point), whatever the page's language."""
    import re

    from tests.conftest import PASSWORD

    client.login(username="coord.nantes", password=PASSWORD)
    url = f"/subjects/{enrolled_subject.pk}/visits/M1/forms/marrow_assessment/"
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="fr", follow=True).content.decode()
    platelets = re.search(r'<input[^>]*name="platelets"[^>]*>', page).group(0)
    assert re.search(r'min="0(\.0)?"', platelets) and re.search(r'max="2000(\.0)?"', platelets), platelets
