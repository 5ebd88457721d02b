"""The safety officer's pages: the SAE list (every site, pseudonymised), one SAE with its
acknowledgement (audited, with its time) and expectedness, SUSARs with their deadline, the
CIOMS I PDF; the study's adverse events for those who see safety data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from tests.conftest import PASSWORD
from tests.safety.conftest import NON_SERIOUS_AE, SERIOUS_AE, report_of

from trialdesk.audit.models import AuditEvent
from trialdesk.safety import services
from trialdesk.safety.models import Expectedness

BASE = "/studies/NCT00724360/safety/"


@pytest.fixture
def sae(save_ae):
    return report_of(save_ae())


@pytest.fixture
def officer_client(client, safety_officer):
    client.login(username=safety_officer.username, password=PASSWORD)
    return client


def test_the_safety_officer_lists_the_sae_of_every_site_by_subject_code(officer_client, sae):
    response = officer_client.get(BASE)
    assert response.status_code == 200
    body = response.content.decode()
    assert sae.record.subject.label in body and "Febrile neutropenia" in body
    assert 'lang="en"' in body
    assert "Not acknowledged" in body


def test_acknowledging_records_who_and_when_in_the_audit_trail(officer_client, sae, safety_officer):
    response = officer_client.post(f"{BASE}sae/{sae.pk}/", {"action": "acknowledge"})
    assert response.status_code == 302
    sae.refresh_from_db()
    assert sae.acknowledged_by == safety_officer and sae.acknowledged_at is not None
    assert sae.aware_on == sae.record.subject.site.today()
    event = AuditEvent.objects.get(action="serious_event_acknowledged")
    assert (event.username, event.role, event.new_value) == (
        "safety",
        "safety_officer",
        sae.aware_on.isoformat(),
    )
    assert event.occurred_at == sae.acknowledged_at or abs(
        event.occurred_at - sae.acknowledged_at
    ) < dt.timedelta(seconds=5)


def test_a_second_acknowledgement_is_refused(officer_client, sae, safety_officer):
    services.acknowledge(safety_officer, sae)
    response = officer_client.post(f"{BASE}sae/{sae.pk}/", {"action": "acknowledge"})
    assert response.status_code == 400
    assert "already acknowledged" in response.content.decode()
    assert AuditEvent.objects.filter(action="serious_event_acknowledged").count() == 1


def test_expectedness_waits_for_the_acknowledgement(safety_officer, sae):
    with pytest.raises(services.SafetyActionRefused):
        services.assess_expectedness(safety_officer, sae, Expectedness.EXPECTED)


def test_an_assessment_departing_from_the_reference_needs_a_comment(safety_officer, sae):
    services.acknowledge(safety_officer, sae)  # febrile neutropenia: listed, so expected
    with pytest.raises(services.SafetyActionRefused):
        services.assess_expectedness(safety_officer, sae, Expectedness.UNEXPECTED)
    services.assess_expectedness(safety_officer, sae, Expectedness.UNEXPECTED, "Unusually severe course")
    sae.refresh_from_db()
    assert sae.expectedness == Expectedness.UNEXPECTED
    event = AuditEvent.objects.get(action="expectedness_assessed")
    assert (event.new_value, event.reason) == ("unexpected", "Unusually severe course")


def _susar(save_ae, safety_officer, **changes):
    outcome = save_ae(dict(SERIOUS_AE, event_term="Sepsis", related="probable", **changes))
    report = services.acknowledge(safety_officer, report_of(outcome))
    return services.assess_expectedness(safety_officer, report, Expectedness.UNEXPECTED)


def test_a_related_unexpected_sae_is_a_susar_due_15_days_after_awareness(save_ae, safety_officer, study):
    report = _susar(save_ae, safety_officer)
    row = services.sae_row(safety_officer, study, report.pk)
    assert row.susar and not row.fatal_or_life_threatening
    assert row.deadline == report.aware_on + dt.timedelta(days=15)  # ICH E2A: 15 days
    assert row.days_left == 15


def test_a_life_threatening_susar_is_due_7_days_after_awareness(save_ae, safety_officer, study):
    report = _susar(save_ae, safety_officer, sae_life_threatening=True, grade=4)
    row = services.sae_row(safety_officer, study, report.pk)
    assert row.susar and row.deadline == report.aware_on + dt.timedelta(days=7)  # ICH E2A: 7 days


def test_the_list_shows_a_susar_with_its_deadline(officer_client, save_ae, safety_officer):
    report = _susar(save_ae, safety_officer)
    body = officer_client.get(f"{BASE}?show=susar").content.decode()
    deadline = (report.aware_on + dt.timedelta(days=15)).isoformat()
    assert f"report by {deadline}" in body and "15 days left" in body


def test_an_unrelated_sae_is_no_susar(save_ae, safety_officer, study):
    report = report_of(save_ae(dict(SERIOUS_AE, event_term="Sepsis", related="unlikely")))
    services.acknowledge(safety_officer, report)
    services.assess_expectedness(safety_officer, report, Expectedness.UNEXPECTED)
    assert not services.sae_row(safety_officer, study, report.pk).susar


def test_the_cioms_form_is_a_pdf(officer_client, sae):
    response = officer_client.get(f"{BASE}sae/{sae.pk}/cioms.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def _cioms_html(user, study, report):
    from trialdesk.safety.views import cioms_html

    request = RequestFactory().get("/")
    request.user, request.study = user, study
    return cioms_html(request, services.sae_row(user, study, report.pk))


def test_the_cioms_form_of_the_safety_officer_is_pseudonymised(safety_officer, cast, study, sae):
    subject = sae.record.subject
    subject.initials = "JDU"
    subject.save(update_fields=["initials"])
    for_officer = _cioms_html(safety_officer, study, sae)
    assert "JDU" not in for_officer and "Pseudonymised" in for_officer
    assert subject.label in for_officer and "Febrile neutropenia" in for_officer
    assert "[X] Involved or prolonged inpatient hospitalisation" in for_officer
    for_investigator = _cioms_html(cast.investigator_nantes, study, sae)
    assert "JDU" in for_investigator


def test_the_ae_listing_marks_infusion_reactions_and_cardiac_events(client, cast, save_ae):
    save_ae(dict(NON_SERIOUS_AE, event_term="Infusion related reaction", grade=2))
    save_ae(dict(NON_SERIOUS_AE, event_term="Ejection fraction decreased", grade=3, related="probable"))
    save_ae(dict(NON_SERIOUS_AE))
    client.login(username=cast.monitor.username, password=PASSWORD)
    body = client.get(f"{BASE}adverse-events/").content.decode()
    assert "3 adverse events" in body
    assert body.count('class="badge highlight-infusion_reactions"') == 2  # the count and the row
    assert body.count('class="badge highlight-cardiac_events"') == 2


def test_tolerance_counts_are_plain_data(save_ae, study):
    save_ae(dict(NON_SERIOUS_AE, event_term="Infusion related reaction", grade=2))
    save_ae()
    counts = services.tolerance_counts(study)
    assert (counts["events"], counts["serious_events"]) == (2, 1)
    assert counts["highlights"]["infusion_reactions"]["events"] == 1
    assert counts["highlights"]["cardiac_events"]["events"] == 0


def test_the_pages_speak_french(officer_client, sae):
    officer_client.cookies.load({"django_language": "fr"})
    body = officer_client.get(f"{BASE}sae/{sae.pk}/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Événement indésirable grave" in body and "Accuser réception" in body
    assert '<span lang="en" translate="no">Febrile neutropenia</span>' in body


def test_the_meddra_code_and_soc_from_the_list_are_not_masked_as_free_text(client, safety_officer, save_ae):
    report = report_of(save_ae(dict(SERIOUS_AE, specified_term=None)))
    client.login(username=safety_officer.username, password=PASSWORD)
    body = client.get(f"{BASE}sae/{report.pk}/").content.decode()
    assert "10016288" in body and "Blood and lymphatic system disorders" in body
    assert "It lists this reaction: expected." in body


def test_the_cioms_form_masks_the_sites_own_words_for_the_safety_officer(
    safety_officer, cast, study, save_ae
):
    words = "Pericarditis like Mr Martin"
    report = report_of(
        save_ae(dict(SERIOUS_AE, event_term="Cardiac disorders - Other, specify", specified_term=words))
    )
    assert words not in _cioms_html(safety_officer, study, report)
    assert words in _cioms_html(cast.investigator_nantes, study, report)


def test_the_casebook_shows_the_subjects_saes_and_highlighted_events(client, cast, save_ae, enrolled_subject):
    save_ae(dict(NON_SERIOUS_AE, event_term="Infusion related reaction", grade=2))
    save_ae()
    client.login(username=cast.investigator_nantes.username, password=PASSWORD)
    body = client.get(f"/studies/NCT00724360/subjects/{enrolled_subject.pk}/").content.decode()
    assert 'id="safety"' in body and "2 adverse events" in body
    assert "Febrile neutropenia" in body and "Not acknowledged" in body


def test_the_audit_trail_names_the_safety_actions_in_the_users_language():
    from django.utils import translation

    from trialdesk.audit_viewer.viewer import action_label

    assert action_label("serious_event_acknowledged") == "Serious adverse event acknowledged"
    with translation.override("fr"):
        assert (
            action_label("serious_event_acknowledged") == "Réception de l'événement indésirable grave accusée"
        )
        assert action_label("expectedness_assessed") == "Caractère attendu évalué"
