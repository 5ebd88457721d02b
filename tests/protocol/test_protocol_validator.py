"""The validator finds each kind of mistake in a corrupted copy of the protocol, at its line."""

from __future__ import annotations

from tests.protocol.helpers import (
    FILENAME,
    column_of,
    corrupt,
    default_text,
    line_of,
    problem_at,
    problems_of,
)

from trialdesk.protocol import Protocol, load_protocol, load_protocol_text


def test_the_uncorrupted_protocol_has_no_problem():
    assert isinstance(load_protocol_text(default_text(), FILENAME), Protocol)


# --------------------------------------------------------------------------- shape


def test_it_reports_an_unknown_key_with_its_line():
    text = corrupt("  phase: Phase 2\n", "  phase: Phase 2\n  phaze: 2\n")
    problem = problem_at(problems_of(text), line_of(text, "  phaze:"), "unknown key 'phaze'")
    assert problem.column == 3
    assert "did you mean 'phase'" in problem.message


def test_it_reports_an_unknown_key_deep_in_a_form_field():
    old = "{code: ecog, label: ECOG performance status,"
    text = corrupt(old, "{code: ecog, colour: blue, label: ECOG performance status,")
    problem = problem_at(problems_of(text), line_of(text, "colour: blue"), "unknown key 'colour'")
    assert problem.column == column_of(text, "colour: blue")
    assert "forms[screening].fields[ecog]" in problem.message


def test_it_reports_a_wrong_type_with_its_line():
    text = corrupt("  window_days: 14\n", "  window_days: fourteen\n")
    problem = problem_at(
        problems_of(text), line_of(text, "window_days: fourteen"), "wrong type", "whole number"
    )
    assert problem.column == column_of(text, "fourteen")


def test_it_reports_a_number_where_text_is_expected():
    text = corrupt('postcode: "44093"', "postcode: 44093")
    problem_at(problems_of(text), line_of(text, "postcode: 44093"), "sites[NTE].postcode", "wrong type")


def test_it_reports_a_missing_required_key_at_its_mapping():
    text = corrupt("  sponsor: Nantes University Hospital\n", "")
    # the identification mapping starts on the line after "identification:"
    problem = problem_at(
        problems_of(text), line_of(text, "identification:") + 1, "missing required key 'sponsor'"
    )
    assert problem.column == 3


def test_it_reports_a_field_of_a_type_outside_the_list():
    text = corrupt(
        "{code: ecog, label: ECOG performance status, label_fr: Indice de performance ECOG, type: integer",
        "{code: ecog, label: ECOG performance status, label_fr: Indice de performance ECOG, type: number",
    )
    problem_at(problems_of(text), line_of(text, "type: number"), "fields[ecog].type")


def test_it_reports_a_choice_field_without_choices():
    old = "      - {code: symptoms, label: Symptoms of heart failure,"
    text = corrupt(
        old + " label_fr: Symptômes d'insuffisance cardiaque, type: boolean, required: true}\n",
        old + " label_fr: Symptômes d'insuffisance cardiaque, type: choice, required: true}\n",
    )
    problem_at(problems_of(text), line_of(text, old), "'symptoms' is a choice but lists no choices")


# --------------------------------------------------------------------------- duplicate codes


def test_it_reports_a_duplicate_form_code_with_its_line():
    text = corrupt("  - code: baseline\n", "  - code: lvef\n")
    # the renamed baseline form comes first; the real lvef form further down is the duplicate
    problem = problem_at(
        problems_of(text), line_of(text, "  - code: lvef\n", 2), "duplicate form code 'lvef'"
    )
    assert f"first defined at line {line_of(text, '  - code: lvef', 1)}" in problem.message


def test_it_reports_a_duplicate_field_code_within_a_form():
    text = corrupt(
        "{code: consent_date, label: Date of informed consent",
        "{code: screening_date, label: Date of informed consent",
    )
    problem_at(
        problems_of(text),
        line_of(text, "{code: screening_date,", 2),
        "duplicate field code 'screening_date' in form 'screening'",
    )


def test_it_accepts_the_same_field_code_in_two_forms():
    # marrow_blasts_pct is in the screening and in the marrow assessment forms already
    text = default_text()
    assert text.count("{code: marrow_blasts_pct,") == 2
    load_protocol_text(text, FILENAME)


def test_it_reports_a_duplicate_visit_code():
    text = corrupt("    - code: EOS\n", "    - code: EOT\n")
    problem_at(problems_of(text), line_of(text, "- code: EOT", 2), "duplicate visit code 'EOT'")


def test_it_reports_a_visit_code_that_clashes_with_an_expanded_repeat():
    text = corrupt("    - code: D1\n", "    - code: M1\n")
    # M (repeated) expands to M1, M2, ...: the M1 above comes first, the repeat clashes
    problem_at(problems_of(text), line_of(text, "    - code: M\n"), "duplicate visit code 'M1'")


def test_it_reports_a_duplicate_criterion_code():
    text = corrupt("    - code: I3\n", "    - code: I2\n")
    problem_at(problems_of(text), line_of(text, "    - code: I2\n", 2), "duplicate criterion code 'I2'")


def test_it_reports_a_duplicate_site_code():
    text = corrupt("{code: CRT,", "{code: NTE,")
    problem = problem_at(problems_of(text), line_of(text, "{code: NTE,", 2), "duplicate site code 'NTE'")
    assert problem.column == column_of(text, "NTE, name: Mondor")


def test_it_reports_a_duplicate_edit_check_code_within_a_form():
    text = corrupt("      - code: SCR-AGE\n", "      - code: SCR-ULN\n")
    problem_at(
        problems_of(text),
        line_of(text, "- code: SCR-ULN", 2),
        "duplicate edit check code 'SCR-ULN' in form 'screening'",
    )


def test_it_reports_a_duplicate_yaml_key():
    text = corrupt("  phase: Phase 2\n", "  phase: Phase 2\n  phase: Phase 3\n")
    problem_at(problems_of(text), line_of(text, "phase: Phase 3"), "duplicate key 'phase'")


# --------------------------------------------------------------------------- references


def test_it_reports_a_visit_naming_an_unknown_form():
    text = corrupt("forms: [marrow_assessment]\n", "forms: [marrow_assesment]\n")
    problem = problem_at(
        problems_of(text),
        line_of(text, "[marrow_assesment]"),
        "visit 'M' names an unknown form 'marrow_assesment'",
    )
    assert problem.column == column_of(text, "marrow_assesment]")


def test_it_reports_log_forms_naming_an_unknown_form():
    text = corrupt("log_forms: [infusion, transfusion,", "log_forms: [infusion, transfusions,")
    problem = problem_at(problems_of(text), line_of(text, "log_forms:"), "unknown form 'transfusions'")
    assert problem.column == column_of(text, "transfusions,")


def test_it_reports_eligibility_naming_an_unknown_form():
    text = corrupt("  form: screening\n", "  form: screen\n")
    problem_at(
        problems_of(text), line_of(text, "  form: screen\n"), "eligibility names an unknown form 'screen'"
    )


def test_it_reports_a_form_nobody_can_fill():
    text = corrupt(
        "log_forms: [infusion, transfusion, adverse_event, concomitant_medication, medical_history]",
        "log_forms: [infusion, transfusion, adverse_event, medical_history]",
    )
    problem_at(problems_of(text), line_of(text, "  - code: concomitant_medication"), "in no visit")


# --------------------------------------------------------------------------- expressions


def test_it_reports_a_criterion_rule_naming_an_undefined_field():
    text = corrupt("rule: ecog <= 2\n", "rule: ecg <= 2\n")
    problem = problem_at(
        problems_of(text), line_of(text, "rule: ecg"), "undefined field 'ecg'", "criterion 'I3'"
    )
    assert problem.column == column_of(text, "ecg <= 2")


def test_it_resolves_criterion_rules_against_the_eligibility_form_only():
    # weight_kg exists, but in the baseline form, not in the screening form
    text = corrupt("rule: ecog <= 2\n", "rule: ecog <= 2 and weight_kg > 30\n")
    problem = problem_at(problems_of(text), line_of(text, "weight_kg > 30"), "undefined field 'weight_kg'")
    assert problem.column == column_of(text, "weight_kg > 30")


def test_it_reports_an_edit_check_naming_a_field_of_another_form():
    text = corrupt(
        "rule: days_between(diagnosis_date, assessment_date) >= 0",
        "rule: days_between(diagnosis_date, screening_date) >= 0",
    )
    problem = problem_at(
        problems_of(text),
        line_of(text, "diagnosis_date, screening_date"),
        "edit check 'BAS-DIAG'",
        "undefined field 'screening_date'",
    )
    assert problem.column == column_of(text, "screening_date) >= 0", 2)


def test_it_reports_a_field_condition_naming_an_undefined_field():
    text = corrupt(
        "condition: ongoing == false}\n      - {code: serious",
        "condition: on_going == false}\n      - {code: serious",
    )
    problem = problem_at(
        problems_of(text), line_of(text, "on_going == false"), "field 'resolution_date'", "'on_going'"
    )
    assert problem.column == column_of(text, "on_going == false")


def test_it_reports_an_expression_that_does_not_parse_at_its_column():
    text = corrupt("rule: ecog <= 2\n", "rule: ecog <= <= 2\n")
    problem = problem_at(problems_of(text), line_of(text, "ecog <= <= 2"), "criterion 'I3' does not parse")
    assert problem.column == column_of(text, "<= 2")  # the second '<='


def test_it_places_a_parse_error_inside_a_quoted_expression():
    text = corrupt(
        "condition: reason == 'other'}\n      - {code: doses_received",
        "condition: \"reason === 'other'\"}\n      - {code: doses_received",
    )
    problem = problem_at(problems_of(text), line_of(text, "reason === 'other'"), "does not parse")
    assert problem.column == column_of(text, "= 'other'")


def test_it_places_a_problem_inside_a_multi_line_rule():
    text = corrupt(
        "      rule: ast <= 5 * ast_uln and alt <= 5 * alt_uln\n",
        "      rule: |\n        ast <= 5 * ast_uln\n        and alt <= 5 * alt_unl\n",
    )
    problem = problem_at(
        problems_of(text), line_of(text, "and alt <= 5 * alt_unl"), "undefined field 'alt_unl'"
    )
    assert problem.column == column_of(text, "alt_unl")


def test_it_reports_a_choice_value_outside_its_list():
    text = corrupt("rule: diagnosis == 'b_all' and", "rule: diagnosis == 'b-all' and")
    problem = problem_at(
        problems_of(text), line_of(text, "'b-all'"), "'diagnosis'", "'b-all'", "not one of its choices"
    )
    assert problem.column == column_of(text, "'b-all'")


def test_it_reports_a_choice_value_outside_its_list_in_a_membership_test():
    text = corrupt(
        "disease_status in ['relapsed', 'refractory']", "disease_status in ['relapsed', 'refactory']"
    )
    problem = problem_at(problems_of(text), line_of(text, "'refactory'"), "'disease_status'", "'refactory'")
    assert problem.column == column_of(text, "'refactory'")


def test_it_reports_a_choice_value_outside_its_list_in_a_field_condition():
    text = corrupt("condition: vital_status == 'dead'}", "condition: vital_status == 'deceased'}")
    problem_at(problems_of(text), line_of(text, "'deceased'"), "'vital_status'", "not one of its choices")


def test_it_reports_a_constant_of_the_wrong_kind_for_its_field():
    text = corrupt("rule: prior_trastuzumab == false", "rule: prior_trastuzumab == 'no'")
    problem_at(
        problems_of(text), line_of(text, "prior_trastuzumab == 'no'"), "boolean field 'prior_trastuzumab'"
    )


def test_it_reports_a_field_that_is_not_a_date_given_to_days_between():
    text = corrupt(
        "rule: days_between(onset_date, resolution_date) >= 0",
        "rule: days_between(grade, resolution_date) >= 0",
    )
    problem = problem_at(
        problems_of(text), line_of(text, "days_between(grade,"), "integer field 'grade'", "dates"
    )
    assert problem.column == column_of(text, "grade, resolution_date")


def test_it_reports_a_unitless_lab_field_used_against_its_uln():
    text = corrupt(
        "{code: ast, label: AST, label_fr: ASAT, type: decimal, unit: U/L,",
        "{code: ast, label: AST, label_fr: ASAT, type: decimal,",
    )
    problem = problem_at(
        problems_of(text), line_of(text, "rule: ast <= 5 * ast_uln"), "'ast'", "'ast_uln'", "no unit"
    )
    assert problem.column == column_of(text, "ast <= 5 * ast_uln")


def test_it_reports_a_unitless_uln_field():
    text = corrupt(
        "label_fr: Créatinine limite supérieure de la normale, type: decimal, unit: µmol/L,",
        "label_fr: Créatinine limite supérieure de la normale, type: decimal,",
    )
    problem = problem_at(
        problems_of(text),
        line_of(text, "rule: creatinine < 2 * creatinine_uln"),
        "'creatinine_uln'",
        "no unit",
    )
    assert problem.column == column_of(text, "creatinine_uln\n")


def test_it_reports_a_lab_value_and_its_uln_in_different_units():
    text = corrupt(
        "{code: alt, label: ALT, label_fr: ALAT, type: decimal, unit: U/L,",
        "{code: alt, label: ALT, label_fr: ALAT, type: decimal, unit: µkat/L,",
    )
    problem_at(problems_of(text), line_of(text, "rule: ast <= 5 * ast_uln"), "'alt'", "units differ")


# --------------------------------------------------------------------------- source and rationale


def test_it_reports_an_operational_element_without_rationale():
    text = corrupt(
        "      rule: age_years >= 18\n      source: registry\n",
        "      rule: age_years >= 18\n      source: operational\n",
    )
    line = line_of(text, "rule: age_years >= 18\n      source: operational") + 1
    problem = problem_at(problems_of(text), line, "needs a one-line rationale")
    assert "eligibility.criteria[I1]" in problem.message


def test_it_reports_an_empty_rationale():
    text = corrupt("        rationale: An event cannot end before it starts (the same day is allowed).\n", "        rationale: ' '\n")
    problem = problem_at(problems_of(text), line_of(text, "rationale: ' '"), "needs a one-line rationale")
    assert "forms[adverse_event].edit_checks[AE-DATES]" in problem.message


def test_it_reports_an_unknown_source():
    text = corrupt(
        '  - {code: NTE, name: Nantes University Hospital, city: Nantes, postcode: "44093", country: France, time_zone: Europe/Paris, source: registry}',
        '  - {code: NTE, name: Nantes University Hospital, city: Nantes, postcode: "44093", country: France, time_zone: Europe/Paris, source: hearsay}',
    )
    problem_at(problems_of(text), line_of(text, "source: hearsay"), "sites[NTE].source")


# --------------------------------------------------------------------------- YAML and files


def test_it_reports_a_yaml_syntax_error_with_its_line():
    text = corrupt("  phase: Phase 2\n", "  phase: Phase: 2\n")
    problems = problems_of(text)
    assert len(problems) == 1
    problem = problem_at(problems, line_of(text, "phase: Phase: 2"), "YAML syntax error")
    assert problem.column == column_of(text, ": 2")


def test_it_reports_an_empty_file():
    problem_at(problems_of(""), 1, "empty")


def test_it_reports_a_document_that_is_not_a_mapping():
    problems = problems_of("- just\n- a list\n")
    assert problems and all(p.line == 1 for p in problems)


def test_it_reports_a_missing_file_in_one_line(tmp_path):
    from trialdesk.protocol import ProtocolError

    try:
        load_protocol(tmp_path / "nope.yaml")
    except ProtocolError as exc:
        assert str(exc) == f"{tmp_path / 'nope.yaml'}: no such file"
    else:
        raise AssertionError("a missing file must raise ProtocolError")


# --------------------------------------------------------------------------- all at once


def test_it_reports_every_problem_not_only_the_first():
    text = corrupt("  phase: Phase 2\n", "  phase: Phase 2\n  phaze: 2\n")
    text = corrupt("{code: CRT,", "{code: NTE,", text)
    text = corrupt("rule: ecog <= 2\n", "rule: ecg <= 2\n", text)
    text = corrupt("rule: diagnosis == 'b_all' and", "rule: diagnosis == 'b-all' and", text)
    text = corrupt("forms: [marrow_assessment]\n", "forms: [marrow_assesment]\n", text)
    text = corrupt("  window_days: 14\n", "  window_days: fourteen\n", text)
    problems = problems_of(text)
    problem_at(problems, line_of(text, "phaze"), "unknown key")
    problem_at(problems, line_of(text, "{code: NTE,", 2), "duplicate site code")
    problem_at(problems, line_of(text, "rule: ecg"), "undefined field")
    problem_at(problems, line_of(text, "'b-all'"), "not one of its choices")
    problem_at(problems, line_of(text, "[marrow_assesment]"), "unknown form")
    problem_at(problems, line_of(text, "fourteen"), "wrong type")
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_a_problem_prints_as_file_line_column_message():
    text = corrupt("  phase: Phase 2\n", "  phase: Phase 2\n  phaze: 2\n")
    problem = problems_of(text)[0]
    assert str(problem) == f"{FILENAME}:{line_of(text, 'phaze')}:3: {problem.message}"


def test_it_reports_an_unknown_time_zone_of_a_site():
    text = corrupt(
        "time_zone: Europe/Paris, source: registry}\n  - {code: RNS",
        "time_zone: Europe/Nantes, source: registry}\n  - {code: RNS",
    )
    problem_at(problems_of(text), line_of(text, "Europe/Nantes"), "sites[NTE].time_zone")
