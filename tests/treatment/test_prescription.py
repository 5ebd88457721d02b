"""The investigator validates the computed dose as the prescription; the site never types it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from tests.treatment.conftest import day

from trialdesk.audit.models import AuditEvent
from trialdesk.crf.models import FormRecord, FormStatus
from trialdesk.treatment.models import Prescription, PrescriptionStatus
from trialdesk.treatment.services import PrescriptionRefused, proposal_for

pytestmark = pytest.mark.django_db


def test_validating_fills_the_prescribed_fields_of_a_new_infusion(enrolled_subject, prescribe):
    p = prescribe(enrolled_subject, day(0), 70.4)
    assert (p.kind, p.mg_per_kg, p.weight_used_kg, p.dose_mg, p.vials) == ("loading", 4, 70.4, 282, 2)
    rec = FormRecord.objects.system("test").get(pk=p.record_id)
    assert rec.form_code == "infusion" and rec.status == FormStatus.INCOMPLETE
    assert {
        k: rec.data[k] for k in ("weight_kg", "loading", "dose_mg_per_kg", "prescribed_dose_mg", "vials_used")
    } == {
        "weight_kg": 70.4,
        "loading": True,
        "dose_mg_per_kg": 4.0,
        "prescribed_dose_mg": 282.0,
        "vials_used": 2,
    }
    assert rec.data["weight_measured_kg"] == 70.4
    assert "administered_dose_mg" not in rec.data


def test_the_validation_is_one_audited_action(enrolled_subject, prescribe, cast):
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    p = prescribe(enrolled_subject, day(0), 70)
    new = AuditEvent.objects.filter(pk__gt=before)
    [created] = new.filter(object_type="prescription", action="create")
    assert created.object_id == str(p.pk) and created.username == cast.investigator_nantes.username
    assert "loading: first dose" in created.reason
    assert new.filter(object_type="form_record", object_id=str(p.record_id)).exists()
    assert p.validated_by == cast.investigator_nantes


def test_a_coordinator_cannot_validate_a_prescription(enrolled_subject, prescribe, cast):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        prescribe(enrolled_subject, day(0), 70, user=cast.coordinator_nantes)
    assert Prescription.objects.system("test").count() == 0
    assert AuditEvent.objects.count() == before
    assert not FormRecord.objects.system("test").filter(form_code="infusion").exists()


def test_an_investigator_of_another_site_does_not_find_the_subject(enrolled_subject, prescribe, cast):
    from django.http import Http404

    with pytest.raises(Http404):
        prescribe(enrolled_subject, day(0), 70, user=cast.investigator_rennes)


@pytest.mark.parametrize("weight", ["0", "-4", "abc", "", "24.9", "250.5"])
def test_it_refuses_a_weight_that_is_not_a_weight(enrolled_subject, prescribe, weight):
    with pytest.raises(PrescriptionRefused):
        prescribe(enrolled_subject, day(0), weight)
    assert Prescription.objects.system("test").count() == 0


def test_the_next_dose_follows_the_given_one(enrolled_subject, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    p = prescribe(enrolled_subject, day(7), 71)
    assert (p.kind, p.mg_per_kg, p.weight_used_kg, p.dose_mg, p.vials) == ("maintenance", 2, 70, 140, 1)
    assert p.interval_status == "on_time" and p.days_since_previous == 7


def test_after_a_missed_dose_a_reload_is_proposed(enrolled_subject, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    proposal = proposal_for(enrolled_subject, day(16), 70)
    assert proposal.kind == "loading" and proposal.dose_mg == 280
    assert proposal.reason.startswith("loading: 16 days since the last dose, more than 14")


def test_a_weight_change_over_10_percent_recomputes_the_dose(enrolled_subject, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    p = prescribe(enrolled_subject, day(7), 77.1)
    assert (p.weight_used_kg, p.dose_mg) == (77.1, 154)
    assert "the dose is recomputed" in p.reason


def test_a_dose_not_given_yet_is_not_a_previous_dose(enrolled_subject, prescribe):
    prescribe(enrolled_subject, day(0), 70)
    assert proposal_for(enrolled_subject, day(7), 70).kind == "loading"


def test_a_voided_infusion_is_not_a_previous_dose(enrolled_subject, prescribe, give, cast):
    from trialdesk.crf.services import void_record

    rec = give(prescribe(enrolled_subject, day(0), 70))
    void_record(cast.investigator_nantes, rec, "entered for the wrong patient")
    assert proposal_for(enrolled_subject, day(7), 70).kind == "loading"


def test_a_new_validation_supersedes_the_earlier_one_of_the_same_infusion(enrolled_subject, prescribe):
    first = prescribe(enrolled_subject, day(0), 70)
    rec = FormRecord.objects.system("test").get(pk=first.record_id)
    second = prescribe(enrolled_subject, day(0), 80, record=rec)
    first.refresh_from_db()
    assert first.status == PrescriptionStatus.SUPERSEDED and second.status == PrescriptionStatus.VALIDATED
    assert second.record_id == rec.pk
    rec.refresh_from_db()
    assert rec.data["prescribed_dose_mg"] == 320


def test_a_given_dose_cannot_be_prescribed_again(enrolled_subject, prescribe, give):
    rec = give(prescribe(enrolled_subject, day(0), 70))
    with pytest.raises(PrescriptionRefused):
        prescribe(enrolled_subject, day(0), 80, record=rec)


def test_on_a_cardiac_hold_no_prescription_is_validated(enrolled_subject, prescribe, give, cast):
    from trialdesk.cardiac.services import active_hold
    from trialdesk.crf.services import save_form

    give(prescribe(enrolled_subject, day(0), 70))
    # LVEF 40 % after 62 % at baseline: a drop of 22 points, 16 or more (the trastuzumab label)
    lvef = {"assessment_date": day(5).isoformat(), "lvef_pct": 40, "method": "echo", "symptoms": False}
    save_form(
        cast.investigator_nantes, enrolled_subject, "lvef", lvef, visit=enrolled_subject.visits.get(code="C1")
    )
    assert active_hold(enrolled_subject) is not None
    proposal = proposal_for(enrolled_subject, day(7), 70)
    assert (proposal.kind, proposal.dose_mg) == (None, None)
    with pytest.raises(PrescriptionRefused, match="cardiac hold"):
        prescribe(enrolled_subject, day(7), 70)


def _weight_queries(rec, *statuses):
    from trialdesk.queries.models import Query

    queries = Query.objects.system("test").filter(record=rec, check_code="INF-WEIGHT")
    return list(queries.filter(status__in=statuses) if statuses else queries)


def test_a_validated_recompute_after_a_weight_change_raises_no_weight_query(enrolled_subject, prescribe, give):
    # INF-WEIGHT doubts a weight over 10 % from the previous infusion's; an investigator who
    # validated the dose recomputed from that weight answered it (answered_by in the protocol)
    give(prescribe(enrolled_subject, day(0), 70))
    recomputed = prescribe(enrolled_subject, day(7), 77.1)  # 10.1 % over 70
    give(recomputed)
    assert _weight_queries(recomputed.record) == []


def test_a_weight_typed_over_the_validated_one_still_raises_the_weight_query(enrolled_subject, cast):
    # without a prescription that used it, the weight change is a doubt to answer
    from trialdesk.crf.services import save_form

    def entry(on, weight):
        return {
            "infusion_date": on.isoformat(), "weight_measured_kg": weight, "weight_kg": weight,
            "loading": False, "dose_mg_per_kg": 2, "prescribed_dose_mg": 2 * weight,
            "administered_dose_mg": 2 * weight, "infusion_reaction": False,
        }

    save_form(cast.coordinator_nantes, enrolled_subject, "infusion", entry(day(0), 70))
    second = save_form(cast.coordinator_nantes, enrolled_subject, "infusion", entry(day(7), 77.1)).record
    assert [q.status for q in _weight_queries(second)] == ["open"]


def test_validating_the_recompute_closes_the_weight_query_raised_before(enrolled_subject, prescribe, give, cast):
    from trialdesk.crf.services import save_form
    from trialdesk.queries.models import QueryStatus

    give(prescribe(enrolled_subject, day(0), 70))
    typed = {"infusion_date": day(7).isoformat(), "weight_measured_kg": 77.1, "weight_kg": 77.1}
    rec = save_form(cast.coordinator_nantes, enrolled_subject, "infusion", typed).record
    [query] = _weight_queries(rec)
    prescribe(enrolled_subject, day(7), 77.1, record=rec)
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    assert "validated the dose computed from this weight (77.1 kg)" in query.messages.last().text
