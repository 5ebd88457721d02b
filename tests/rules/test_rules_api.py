"""The public API others code against: parse, Expression, Tri, RuleSyntaxError."""

from decimal import Decimal

import pytest

from trialdesk.rules import ComparisonTrace, Evaluation, Expression, RuleSyntaxError, Tri, parse


def test_parse_returns_an_expression_with_its_source_and_fields():
    expr = parse("age_years >= 18 and ast <= 5 * ast_uln")
    assert isinstance(expr, Expression)
    assert expr.source == "age_years >= 18 and ast <= 5 * ast_uln"
    assert expr.fields == frozenset({"age_years", "ast", "ast_uln"})


def test_evaluate_returns_a_tri():
    expr = parse("age_years >= 18 and ast <= 5 * ast_uln")
    assert expr.evaluate({"age_years": 40, "ast": 120, "ast_uln": 40}) is Tri.TRUE
    assert expr.evaluate({"age_years": 17, "ast": 120, "ast_uln": 40}) is Tri.FALSE
    assert expr.evaluate({"age_years": 40}) is Tri.UNKNOWN


def test_explain_traces_every_comparison_in_source_order():
    evaluation = parse("age_years >= 18 and alt <= 5 * alt_uln").explain(
        {"age_years": 17, "alt": 310, "alt_uln": 40}
    )
    assert isinstance(evaluation, Evaluation)
    assert evaluation.result is Tri.FALSE
    first, second = evaluation.comparisons
    assert isinstance(first, ComparisonTrace)
    assert (first.source, first.left, first.operator, first.right, first.result) == (
        "age_years >= 18",
        17,
        ">=",
        18,
        Tri.FALSE,
    )
    assert (second.source, second.left, second.operator, second.right, second.result) == (
        "alt <= 5 * alt_uln",
        310,
        "<=",
        200,
        Tri.FALSE,
    )


def test_explain_names_the_missing_fields_of_each_comparison():
    evaluation = parse("ast <= 5 * ast_uln").explain({"ast": 100})
    (trace,) = evaluation.comparisons
    assert trace.result is Tri.UNKNOWN
    assert trace.missing_fields == frozenset({"ast_uln"})
    assert trace.left == 100
    assert trace.right is None
    assert evaluation.missing_fields == frozenset({"ast_uln"})


def test_rule_syntax_error_is_a_value_error_with_message_column_and_text():
    with pytest.raises(RuleSyntaxError) as info:
        parse("(age_years >= 18))")
    error = info.value
    assert isinstance(error, ValueError)
    assert error.message == "unexpected ')' at column 18"
    assert error.column == 18
    assert error.text == "(age_years >= 18))"
    assert str(error) == error.message


def test_float_values_compare_as_the_decimal_they_print_as():
    assert parse("x == 0.3").evaluate({"x": 0.1 + 0.2}) is Tri.FALSE  # 0.30000000000000004
    assert parse("x + y == 0.3").evaluate({"x": 0.1, "y": 0.2}) is Tri.TRUE
    assert parse("x > 20").evaluate({"x": Decimal("20.1")}) is Tri.TRUE
