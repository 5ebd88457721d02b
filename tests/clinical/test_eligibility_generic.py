"""Eligibility knows no trial: a made-up protocol gets the same kind of explanations."""

from __future__ import annotations

import datetime as dt

from trialdesk.clinical.eligibility import assess_eligibility
from trialdesk.protocol import Criterion, Eligibility, Field, Form, load_default_protocol


def made_up_protocol(*rules: str, window_days: int = 7):
    form = Form(
        code="intake",
        title="Intake",
        source="operational",
        rationale="test",
        fields=[
            Field(code="bili", label="Bilirubin", type="decimal", unit="µmol/L"),
            Field(code="bili_uln", label="Bilirubin ULN", type="decimal", unit="µmol/L"),
            Field(code="weight", label="Weight", type="decimal", unit="kg"),
            Field(code="platelets", label="Platelets", type="decimal", unit="G/L"),
            Field(code="pregnant", label="Pregnant", type="boolean"),
            Field(code="visit_date", label="Visit date", type="date"),
            Field(code="consent_date", label="Consent date", type="date"),
        ],
    )
    criteria = [
        Criterion(
            code=f"C{i}", kind="inclusion", text=rule, rule=rule, applied_as=rule, source="operational",
            rationale="test",
        )
        for i, rule in enumerate(rules, start=1)
    ]
    eligibility = Eligibility(
        form="intake", window_days=window_days, criteria=criteria, source="operational", rationale="test"
    )
    return load_default_protocol().model_copy(update={"forms": [form], "eligibility": eligibility})


def explain(rule: str, values: dict, **kwargs) -> tuple[str, str]:
    (criterion,) = assess_eligibility(made_up_protocol(rule), values, **kwargs).criteria
    return criterion.status, criterion.explanation


def test_the_uln_pattern_is_recognised_for_any_field_with_a_uln_field():
    assert explain("bili <= 3 * bili_uln", {"bili": 70, "bili_uln": 20}) == (
        "not_met",
        "Bilirubin 70 µmol/L = 3.5 × ULN, above 3 × ULN (60 µmol/L)",
    )


def test_the_uln_pattern_is_recognised_with_the_factor_on_the_right_or_absent():
    assert explain("bili < bili_uln * 1.5", {"bili": 20, "bili_uln": 20})[1] == (
        "Bilirubin 20 µmol/L = 1.0 × ULN, below 1.5 × ULN (30 µmol/L)"
    )
    assert explain("bili <= bili_uln", {"bili": 25, "bili_uln": 20})[1] == (
        "Bilirubin 25 µmol/L = 1.3 × ULN, above the ULN (20 µmol/L)"
    )


def test_a_limit_written_on_the_left_is_read_from_the_field():
    assert explain("100 <= platelets", {"platelets": 80}) == ("not_met", "Platelets 80 G/L, below 100 G/L")


def test_a_comparison_between_two_fields_names_both():
    assert explain("weight > platelets", {"weight": 70, "platelets": 80})[1] == (
        "Weight 70 kg, not above Platelets (80 G/L)"
    )


def test_an_expression_on_the_left_is_shown_as_written():
    status, text = explain(
        "days_between(consent_date, visit_date) <= 28",
        {"consent_date": dt.date(2024, 1, 1), "visit_date": dt.date(2024, 3, 1)},
    )
    assert (status, text) == ("not_met", "days_between(consent_date, visit_date) 60, above 28")


def test_a_bare_yes_no_rule_states_the_answer():
    assert explain("not pregnant", {"pregnant": False}) == ("met", "Pregnant: no")
    assert explain("not pregnant", {}) == ("unknown", "Pregnant missing")


def test_a_type_problem_in_the_data_is_explained():
    assert explain("bili / bili_uln < 2", {"bili": 10, "bili_uln": 0}) == (
        "unknown",
        "bili / bili_uln < 2: division by zero",
    )


def test_the_window_comes_from_the_protocol():
    status, text = explain(
        "platelets >= 100",
        {"platelets": 150},
        value_dates={"platelets": dt.date(2024, 1, 1)},
        as_of=dt.date(2024, 1, 9),
    )
    assert (status, text) == (
        "unknown",
        "Platelets measured 2024-01-01, older than the 7-day screening window",
    )
