"""An infusion reaction opens one adverse event, CTCAE "Infusion related reaction", kept with its infusion."""

from __future__ import annotations

import pytest
from tests.treatment.conftest import day

from trialdesk.clinical.ctcae import term_by_name
from trialdesk.crf.models import FormRecord
from trialdesk.crf.services import void_record
from trialdesk.treatment.models import InfusionReactionEvent

pytestmark = pytest.mark.django_db


def adverse_events(subject):
    return list(
        FormRecord.objects.system("test").filter(subject=subject, form_code="adverse_event").order_by("pk")
    )


def test_an_infusion_reaction_opens_one_linked_adverse_event(enrolled_subject, prescribe, give):
    rec = give(prescribe(enrolled_subject, day(0), 70), infusion_reaction=True, infusion_reaction_grade=2)
    [ae] = adverse_events(enrolled_subject)
    term = term_by_name("Infusion related reaction")
    protocol = enrolled_subject.study.protocol
    assert protocol.read_concept("adverse_event_term", "adverse_event", ae.data) == term.term
    assert protocol.read_concept("adverse_event_meddra", "adverse_event", ae.data) == str(term.meddra_code)
    assert protocol.read_concept("adverse_event_grade", "adverse_event", ae.data) == 2
    assert protocol.read_concept("adverse_event_onset", "adverse_event", ae.data) in (
        day(0),
        day(0).isoformat(),
    )
    assert InfusionReactionEvent.objects.system("test").get(infusion=rec).event_record_id == ae.pk


def test_re_saving_the_infusion_updates_its_event_and_never_adds_a_second(enrolled_subject, prescribe, give):
    p = prescribe(enrolled_subject, day(0), 70)
    give(p, infusion_reaction=True, infusion_reaction_grade=1)
    give(p, infusion_reaction=True, infusion_reaction_grade=3, reason="transcription_error")
    [ae] = adverse_events(enrolled_subject)
    assert enrolled_subject.study.protocol.read_concept("adverse_event_grade", "adverse_event", ae.data) == 3


def test_a_reaction_corrected_away_voids_its_event(enrolled_subject, prescribe, give):
    p = prescribe(enrolled_subject, day(0), 70)
    give(p, infusion_reaction=True, infusion_reaction_grade=1)
    give(p, infusion_reaction=False, infusion_reaction_grade=None, reason="transcription_error")
    [ae] = adverse_events(enrolled_subject)
    assert ae.voided_at is not None and "corrected" in ae.void_reason


def test_voiding_the_infusion_voids_its_event(enrolled_subject, prescribe, give, cast):
    rec = give(prescribe(enrolled_subject, day(0), 70), infusion_reaction=True, infusion_reaction_grade=1)
    void_record(cast.investigator_nantes, rec, "wrong patient")
    [ae] = adverse_events(enrolled_subject)
    assert ae.voided_at is not None and "wrong patient" in ae.void_reason


def test_an_infusion_without_reaction_opens_no_event(enrolled_subject, prescribe, give):
    give(prescribe(enrolled_subject, day(0), 70))
    assert adverse_events(enrolled_subject) == []
