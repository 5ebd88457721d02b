"""The protocol's map of clinical concepts: its accessors, and the validator's checks of it
on corrupted copies of the protocol (each problem at its line and column)."""

from __future__ import annotations

import pytest
from tests.protocol.helpers import column_of, corrupt, line_of, problem_at, problems_of

from trialdesk.protocol import ChoiceRef, FieldRef, load_default_protocol
from trialdesk.protocol.concepts import CONCEPTS


@pytest.fixture(scope="module")
def protocol():
    return load_default_protocol()


# --------------------------------------------------------------------------- accessors


def test_it_lists_where_a_concept_is_recorded_in_order_of_precedence(protocol):
    assert protocol.concept("marrow_blasts") == [
        FieldRef("marrow_assessment", "marrow_blasts_pct"),
        FieldRef("screening", "marrow_blasts_pct"),
    ]
    assert protocol.concept("lvef")[0] == FieldRef("lvef", "lvef_pct")
    assert protocol.concept("date_of_death") == [
        FieldRef("end_of_study", "death_date"),
        FieldRef("follow_up", "death_date"),
    ]


def test_it_maps_the_choice_values_the_rules_need(protocol):
    assert protocol.choice_concept("red_cell_transfusion") == ChoiceRef("transfusion", "product", "red_cells")
    assert protocol.choice_value("reported_dead") == "dead"
    assert protocol.choice_value("stopped_for_progression") == "progression"


def test_the_seed_protocol_maps_every_concept_the_core_knows(protocol):
    mapped = set(protocol.concepts.fields) | set(protocol.concepts.choices)
    assert mapped == set(CONCEPTS)


def test_an_unmapped_concept_is_a_key_error(protocol):
    with pytest.raises(KeyError):
        protocol.concept("red_cell_transfusion")  # a choice concept, not a field concept
    with pytest.raises(KeyError):
        protocol.choice_concept("marrow_blasts")
    assert not protocol.has_concept("no_such_concept")


def test_it_reads_a_concepts_value_from_a_forms_data(protocol):
    data = {"marrow_blasts_pct": 12.5, "investigator_response": "PR"}
    assert protocol.read_concept("marrow_blasts", "marrow_assessment", data) == 12.5
    assert protocol.read_concept("marrow_blasts", "lvef", data) is None  # not recorded there
    assert protocol.read_concept("assessed_pr", "marrow_assessment", data) is True
    assert protocol.read_concept("assessed_cr", "marrow_assessment", data) is False
    assert protocol.read_concept("assessed_cr", "marrow_assessment", {}) is None


def test_the_first_place_with_a_value_wins(protocol):
    both = {"marrow_assessment": {"marrow_blasts_pct": 41.0}, "screening": {"marrow_blasts_pct": 40.0}}
    assert protocol.read_concept_first("marrow_blasts", both) == 41.0
    screening_only = {
        "marrow_assessment": {"marrow_blasts_pct": None},
        "screening": {"marrow_blasts_pct": 40.0},
    }
    assert protocol.read_concept_first("marrow_blasts", screening_only) == 40.0
    assert protocol.read_concept_first("marrow_blasts", {}) is None


def test_it_builds_a_forms_data_from_values_named_by_concept(protocol):
    values = {
        "transfused_on": "2008-01-02",
        "red_cell_transfusion": True,
        "transfused_units": 2,
        "lvef": 60.0,
    }
    assert protocol.concept_data("transfusion", values) == {
        "transfusion_date": "2008-01-02",
        "product": "red_cells",
        "units": 2,
    }
    assert protocol.concept_form("red_cell_transfusion") == "transfusion"
    assert protocol.concept_form("marrow_blasts") == "marrow_assessment"


def test_concept_names_are_not_the_seed_protocols_codes(protocol):
    """A copy of the file with its codes renamed keeps the same concept names."""
    codes = {f.code for form in protocol.forms for f in form.fields}
    values = {c.value for form in protocol.forms for f in form.fields for c in f.choices}
    assert not set(CONCEPTS) & (codes | values)


# --------------------------------------------------------------------------- the validator


def test_it_reports_a_concept_naming_a_missing_field_at_its_line_and_column():
    text = corrupt(
        "    neutrophil_count: [marrow_assessment.anc]\n", "    neutrophil_count: [marrow_assessment.ancs]\n"
    )
    problem = problem_at(
        problems_of(text),
        line_of(text, "neutrophil_count: [marrow"),
        "'neutrophil_count'",
        "undefined field 'ancs'",
    )
    assert problem.column == column_of(text, "ancs]")
    assert "did you mean 'anc'" in problem.message


def test_it_reports_a_concept_naming_an_unknown_form():
    text = corrupt("    body_height: [baseline.height_cm]\n", "    body_height: [baseline_form.height_cm]\n")
    problem_at(problems_of(text), line_of(text, "body_height:"), "unknown form 'baseline_form'")


def test_it_reports_a_field_of_an_incompatible_type():
    text = corrupt(
        "    platelet_count: [marrow_assessment.platelets]\n",
        "    platelet_count: [marrow_assessment.assessment_date]\n",
    )
    problem = problem_at(
        problems_of(text), line_of(text, "platelet_count:"), "'platelet_count'", "number", "'date'"
    )
    assert problem.column == column_of(text, "platelet_count: [marrow_assessment.assessment_date]") + len(
        "platelet_count: [marrow_assessment."
    )


def test_it_reports_a_choice_concept_naming_a_value_the_field_does_not_have():
    text = corrupt(
        "{field: transfusion.product, value: red_cells}", "{field: transfusion.product, value: red_cell}"
    )
    problem = problem_at(problems_of(text), line_of(text, "value: red_cell}"), "'red_cell' is not a choice")
    assert problem.column == column_of(text, "red_cell}")


def test_it_reports_a_choice_concept_on_a_field_that_is_not_a_choice():
    text = corrupt("{field: lvef.method, value: echo}", "{field: lvef.symptoms, value: echo}")
    problem_at(problems_of(text), line_of(text, "{field: lvef.symptoms"), "not a choice field")


def test_it_reports_an_unknown_concept_with_a_suggestion():
    text = corrupt("    body_height: [baseline.height_cm]\n", "    body_heigth: [baseline.height_cm]\n")
    problem = problem_at(
        problems_of(text), line_of(text, "body_heigth:"), "unknown clinical concept 'body_heigth'"
    )
    assert problem.column == 5
    assert "did you mean 'body_height'" in problem.message


def test_it_reports_a_choice_concept_mapped_as_a_field():
    text = corrupt(
        "    body_height: [baseline.height_cm]\n",
        "    body_height: [baseline.height_cm]\n    reported_dead: [follow_up.vital_status]\n",
    )
    problem_at(
        problems_of(text), line_of(text, "reported_dead: [follow"), "choice concept", "concepts.choices"
    )


def test_it_reports_a_concept_placed_twice_on_one_form():
    text = corrupt(
        "    lvef: [lvef.lvef_pct, screening.lvef_pct]\n", "    lvef: [lvef.lvef_pct, lvef.lvef_pct]\n"
    )
    problem_at(problems_of(text), line_of(text, "lvef: [lvef.lvef_pct, lvef"), "placed twice on form 'lvef'")


def test_it_requires_the_concepts_the_response_criteria_need():
    text = corrupt("    neutrophil_count: [marrow_assessment.anc]\n", "")
    problem = problem_at(problems_of(text), line_of(text, "  fields:\n    # screening"), "'neutrophil_count'")
    assert "the response criteria needs it" in problem.message


def test_it_requires_the_concepts_the_dose_rules_need():
    text = corrupt("    dose_given: [infusion.administered_dose_mg]\n", "")
    problem_at(
        problems_of(text), line_of(text, "  fields:\n    # screening"), "'dose_given'", "the dose rules"
    )


def test_it_requires_the_choice_values_an_endpoint_needs():
    text = corrupt("    platelet_transfusion: {field: transfusion.product, value: platelets}\n", "")
    problem = problem_at(
        problems_of(text), line_of(text, "  choices:\n    sex_female"), "'platelet_transfusion'"
    )
    assert "transfusion_needs" in problem.message


def test_a_protocol_without_concepts_is_told_what_its_rules_need():
    text = corrupt("\nconcepts:\n  source: operational\n", "\nunused:\n  source: operational\n")
    text = text.replace("unused:", "x_concepts:")
    problems = problems_of(text)
    messages = "\n".join(p.message for p in problems)
    assert "the protocol has no concepts section" in messages
    assert "'marrow_blasts'" in messages and "'body_weight'" in messages
