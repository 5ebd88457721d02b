"""Edit checks that read beyond their record: the names the validator knows, with
file:line:column for the others; which forms repeat (the schedule decides); the pure ordering."""

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

from trialdesk.protocol import load_default_protocol
from trialdesk.protocol.crossrecord import Entry, baseline_values, check_reads, previous_entry

WEIGHT_RULE = "rule: abs(weight_kg - previous.weight_kg) <= 0.1 * previous.weight_kg"


def _refused(new_rule: str, needle: str, *words: str):
    text = corrupt(WEIGHT_RULE, new_rule)
    problem = problem_at(problems_of(text), line_of(text, new_rule), *words)
    assert problem.column == column_of(text, needle)
    assert str(problem).startswith(f"{FILENAME}:{problem.line}:{problem.column}: ")
    return problem


def test_the_seed_protocol_reads_previous_subject_and_baseline_values():
    protocol = load_default_protocol()
    reads = check_reads(check.rule for check in protocol.form("infusion").edit_checks)
    assert reads == {
        "previous": {"weight_kg", "infusion_date"},
        "subject": {"consent_date"},
        "baseline": {"weight_kg"},
    }
    checks = {c.code: c for c in protocol.form("infusion").edit_checks}
    assert all(
        checks[code].source == "operational" and checks[code].rationale
        for code in ("INF-WEIGHT", "INF-SAME-DAY")
    )


def test_it_refuses_a_previous_field_the_form_does_not_have():
    _refused(
        "rule: weight_kg <= previous.nonexistent", "previous.nonexistent", "previous.nonexistent", "no field"
    )


def test_it_refuses_an_unknown_qualifier():
    _refused("rule: weight_kg <= earlier.weight_kg", "earlier.weight_kg", "unknown qualifier 'earlier'")


def test_it_refuses_a_subject_value_the_subject_does_not_have():
    _refused(
        "rule: days_between(subject.birth_date, infusion_date) >= 0",
        "subject.birth_date",
        "subject.birth_date",
    )


def test_it_accepts_the_subject_first_dose_date():
    text = corrupt(WEIGHT_RULE, "rule: days_between(subject.first_dose_date, infusion_date) >= 0")
    from trialdesk.protocol import load_protocol_text

    assert load_protocol_text(text, FILENAME).form("infusion")


def test_it_refuses_a_baseline_field_no_baseline_form_has():
    _refused("rule: weight_kg <= baseline.infusion_date", "baseline.infusion_date", "no baseline form")


def test_it_refuses_previous_on_a_form_that_is_not_a_log_form():
    old = "rule: days_between(diagnosis_date, assessment_date) >= 0"
    new = "rule: days_between(previous.diagnosis_date, assessment_date) >= 0"
    text = corrupt(old, new)
    problem = problem_at(problems_of(text), line_of(text, new), "not in schedule.log_forms")
    assert problem.column == column_of(text, "previous.diagnosis_date")


def test_it_refuses_previous_on_a_log_form_without_a_date_concept():
    text = corrupt("    transfused_on: [transfusion.transfusion_date]\n", "")
    text = corrupt(
        "      - {code: units, label: Units, label_fr: Unités, type: integer, unit: units, unit_fr: unités, min: 1, max: 20, expected_min: 1, expected_max: 4, required: true}\n",
        "      - {code: units, label: Units, label_fr: Unités, type: integer, unit: units, unit_fr: unités, min: 1, max: 20, expected_min: 1, expected_max: 4, required: true}\n"
        "    edit_checks:\n"
        "      - {code: TR-UNITS, rule: units <= previous.units + 4, message: m, message_fr: m, severity: query, source: operational, rationale: r}\n",
        text,
    )
    problem_at(problems_of(text), line_of(text, "TR-UNITS"), "no date concept")


def test_a_condition_may_not_read_beyond_its_record():
    old = "condition: infusion_reaction == true}"
    text = corrupt(old, "condition: previous.infusion_reaction == true}")
    problem_at(problems_of(text), line_of(text, "previous.infusion_reaction"), "only edit checks")


def test_a_compared_previous_choice_is_checked_against_its_choices():
    text = default_text().replace(
        "rule: ongoing == false or outcome in ['recovering', 'not_recovered', 'unknown']",
        "rule: ongoing == false or previous.outcome != 'healed'",
    )
    problem_at(problems_of(text), line_of(text, "previous.outcome"), "'healed'", "not one of its choices")


def test_a_form_may_not_say_it_repeats_the_schedule_does():
    text = corrupt(
        "  - code: transfusion\n    title: Transfusion\n",
        "  - code: transfusion\n    repeating: true\n    title: Transfusion\n",
    )
    problem_at(problems_of(text), line_of(text, "repeating: true"), "schedule decides")


def test_max_per_visit_must_name_a_form_of_the_visit():
    old = "      repeat: {every_days: 84, count: 4}\n      forms: [lvef]\n"
    text = corrupt(old, old + "      max_per_visit: {baseline: 2}\n")
    problem_at(problems_of(text), line_of(text, "max_per_visit"), "'baseline'", "does not collect")


def test_max_per_visit_is_at_least_two():
    old = "      repeat: {every_days: 84, count: 4}\n      forms: [lvef]\n"
    text = corrupt(old, old + "      max_per_visit: {lvef: 1}\n")
    problem_at(problems_of(text), line_of(text, "lvef: 1"))


def test_a_visit_allows_as_many_records_as_its_max_per_visit():
    from trialdesk.protocol import load_protocol_text

    old = "      repeat: {every_days: 84, count: 4}\n      forms: [lvef]\n"
    protocol = load_protocol_text(corrupt(old, old + "      max_per_visit: {lvef: 2}\n"), FILENAME)
    assert protocol.visit("C2").records_allowed("lvef") == 2
    assert protocol.visit("SCR").records_allowed("lvef") == 1
    assert protocol.visit("SCR").records_allowed("infusion") == 0


# --------------------------------------------------------------------------- pure ordering


def _e(key, repeat, day, voided=False):
    return Entry(key, repeat, {"d": day}, voided)


def test_the_previous_entry_is_by_date_then_repeat_and_never_a_voided_one():
    entries = [
        _e("a", 1, "2026-01-01"),
        _e("b", 2, "2026-01-15"),
        _e("c", 3, "2026-01-08"),
        _e("x", 4, "2026-01-10", True),
    ]
    target = _e(None, 5, "2026-01-15")
    assert previous_entry(entries, target, "d").key == "b"  # same day, lower repeat
    assert (
        previous_entry(entries, _e(None, 9, "2026-01-12"), "d").key == "c"
    )  # the voided one on the 10th skipped
    assert previous_entry(entries, _e(None, 9, "2025-12-31"), "d") is None


def test_undated_entries_come_after_dated_ones():
    entries = [_e("a", 1, None), _e("b", 2, "2026-01-01")]
    assert previous_entry(entries, _e(None, 3, None), "d").key == "a"
    assert previous_entry(entries, _e(None, 3, "2026-02-01"), "d").key == "b"


def test_without_a_date_field_entries_are_in_repeat_order():
    entries = [_e("a", 1, "2026-03-01"), _e("b", 2, "2026-01-01")]
    assert previous_entry(entries, _e(None, 3, "2025-01-01"), None).key == "b"


def test_the_baseline_values_come_from_the_first_form_with_a_value():
    values = baseline_values(
        ["baseline", "screening"],
        {"screening": {"weight_kg": 60, "lvef_pct": 55}, "baseline": {"weight_kg": 62, "lvef_pct": None}},
    )
    assert values == {"weight_kg": 62, "lvef_pct": 55}


def test_the_seed_protocol_baseline_forms_are_day_one_then_screening():
    protocol = load_default_protocol()
    assert protocol.baseline_forms == ["baseline", "screening", "marrow_assessment", "lvef"]
    assert protocol.date_concept_field("infusion") == "infusion_date"
    assert protocol.date_concept_field("adverse_event") == "onset_date"
