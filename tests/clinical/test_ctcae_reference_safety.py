"""The protocol's reference safety information and CTCAE term fields are checked when the
file loads: a reaction is a CTCAE v5.0 term named as the NCI file names it, the related
causalities are choice concepts, a CTCAE term field's links name fields of its form."""

from __future__ import annotations

from tests.protocol.helpers import corrupt, problems_of

from trialdesk.protocol import load_default_protocol


def _messages(text: str) -> str:
    return "\n".join(p.message for p in problems_of(text))


def test_the_reference_safety_information_is_operational_with_its_rationale():
    safety = load_default_protocol().safety
    assert safety.source == "operational" and "4.8" in safety.reference_document
    assert safety.expected_reaction(10051792).term == "Infusion related reaction"
    assert [h.code for h in safety.highlights] == ["infusion_reactions", "cardiac_events"]


def test_it_refuses_a_reaction_whose_code_is_not_a_ctcae_term():
    text = corrupt(
        "{meddra_code: 10051792, term: Infusion related reaction}",
        "{meddra_code: 99999999, term: Infusion related reaction}",
    )
    assert "no CTCAE v5.0 term has MedDRA code 99999999" in _messages(text)


def test_it_refuses_a_reaction_named_otherwise_than_its_code():
    text = corrupt("{meddra_code: 10008531, term: Chills}", "{meddra_code: 10008531, term: Rigors}")
    assert "MedDRA code 10008531 is 'Chills' in CTCAE, not 'Rigors'" in _messages(text)


def test_it_refuses_a_related_causality_that_is_no_choice_concept():
    text = corrupt("related_causalities: [causality_possible,", "related_causalities: [causality_maybe,")
    assert "related_causalities names 'causality_maybe'" in _messages(text)


def test_it_refuses_a_ctcae_link_to_a_field_the_form_lacks():
    text = corrupt("grade_field: grade,", "grade_field: worst_grade,")
    assert "ctcae grade_field names field 'worst_grade'" in _messages(text)
