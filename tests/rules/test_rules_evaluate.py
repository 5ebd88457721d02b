"""Evaluation: three-valued logic, missing data, type errors in the data, traces."""

import pickle
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType

import pytest

from trialdesk.rules import Tri, parse

UNKNOWN_COND = "u > 0"  # u is never given: always UNKNOWN


def value(text: str, **values) -> Tri:
    return parse(text).evaluate(values)


def test_unknown_and_false_is_false():
    assert value(f"{UNKNOWN_COND} and false") is Tri.FALSE
    assert value(f"false and {UNKNOWN_COND}") is Tri.FALSE


def test_unknown_and_true_is_unknown():
    assert value(f"{UNKNOWN_COND} and true") is Tri.UNKNOWN


def test_unknown_or_true_is_true():
    assert value(f"{UNKNOWN_COND} or true") is Tri.TRUE
    assert value(f"true or {UNKNOWN_COND}") is Tri.TRUE


def test_unknown_or_false_is_unknown():
    assert value(f"{UNKNOWN_COND} or false") is Tri.UNKNOWN


def test_not_unknown_is_unknown():
    assert value(f"not {UNKNOWN_COND}") is Tri.UNKNOWN


def test_tri_operators_follow_kleene():
    t, f, u = Tri.TRUE, Tri.FALSE, Tri.UNKNOWN
    assert (u & f, u & t, u | t, u | f, ~u, ~t, ~f) == (f, u, t, u, u, f, t)


def test_tri_is_not_usable_as_a_bool():
    with pytest.raises(TypeError):
        bool(Tri.UNKNOWN)
    with pytest.raises(TypeError):
        if Tri.TRUE:
            pass


def test_tri_of_maps_none_to_unknown():
    assert (Tri.of(True), Tri.of(False), Tri.of(None)) == (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN)


def test_absent_field_makes_a_comparison_unknown():
    assert value("age_years >= 18") is Tri.UNKNOWN


def test_none_counts_as_missing():
    assert value("age_years >= 18", age_years=None) is Tri.UNKNOWN


def test_missing_operand_of_arithmetic_makes_the_comparison_unknown():
    assert value("ast <= 5 * ast_uln", ast=10) is Tri.UNKNOWN
    assert value("-ast < 0") is Tri.UNKNOWN


def test_present_is_true_or_false_never_unknown():
    assert value("present(ast)", ast=0) is Tri.TRUE
    assert value("present(ast)", ast=None) is Tri.FALSE
    assert value("present(ast)") is Tri.FALSE
    assert value("not present(ast)") is Tri.TRUE


def test_a_number_sent_as_a_string_stays_a_string():
    evaluation = parse("age_years >= 18").explain({"age_years": "40"})
    assert evaluation.result is Tri.UNKNOWN
    assert evaluation.comparisons[0].error == "cannot compare a text with a number"


def test_comparing_a_date_with_a_number_in_the_data_is_unknown():
    assert value("a < b", a=date(2024, 1, 1), b=3) is Tri.UNKNOWN


def test_division_by_zero_is_unknown():
    evaluation = parse("a / b > 1").explain({"a": 1, "b": 0})
    assert evaluation.result is Tri.UNKNOWN
    assert evaluation.comparisons[0].error == "division by zero"


def test_string_arithmetic_in_the_data_is_unknown():
    assert value("a + b > 1", a="x", b="y") is Tri.UNKNOWN


def test_a_bool_is_not_a_number():
    assert value("a + 1 > 1", a=True) is Tri.UNKNOWN
    assert value("a == 1", a=True) is Tri.UNKNOWN


def test_a_date_and_time_is_not_a_date():
    assert value('d < date("2024-01-01")', d=datetime(2023, 1, 1, 12, 0)) is Tri.UNKNOWN


def test_nan_and_infinity_are_unknown():
    assert value("x > 1", x=float("nan")) is Tri.UNKNOWN
    assert value("x > 1", x=float("inf")) is Tri.UNKNOWN
    assert value("x > 1", x=Decimal("NaN")) is Tri.UNKNOWN


def test_unsupported_value_types_are_unknown():
    assert value("x > 1", x=[1]) is Tri.UNKNOWN
    assert value("x", x={"a": 1}) is Tri.UNKNOWN


def test_overflow_is_unknown():
    assert value("x * x > 1", x=Decimal("1E+999999")) is Tri.UNKNOWN


def test_integers_floats_and_decimals_compare_by_value():
    assert value("x == 5", x=5.0) is Tri.TRUE
    assert value("x == 5.0", x=5) is Tri.TRUE
    assert value("x > 20", x=20.1) is Tri.TRUE
    assert value("x > 20", x=20) is Tri.FALSE


def test_division_is_exact_decimal_division():
    assert value("7 / 2 == 3.5") is Tri.TRUE
    assert value("x / 3 * 3 == 1", x=1) is Tri.FALSE  # 28 significant digits, not symbolic


def test_boundary_of_a_multiple_of_a_limit_is_exact():
    assert value("ast <= 5 * ast_uln", ast=200.0, ast_uln=40.0) is Tri.TRUE
    assert value("ast <= 5 * ast_uln", ast=200.1, ast_uln=40.0) is Tri.FALSE
    assert value("c < 2 * c_uln", c=0.3, c_uln=0.15) is Tri.FALSE


def test_strings_compare_exactly():
    assert value("d == 'b_all'", d="b_all") is Tri.TRUE
    assert value("d == 'b_all'", d="B_ALL") is Tri.FALSE
    assert value("d < 'b'", d="a") is Tri.TRUE


def test_dates_compare_and_subtract():
    assert value('d >= date("2024-01-01")', d=date(2024, 1, 1)) is Tri.TRUE
    assert value("days_between(a, b) == 14", a=date(2024, 1, 1), b=date(2024, 1, 15)) is Tri.TRUE
    assert value("days_between(a, b) == -14", a=date(2024, 1, 15), b=date(2024, 1, 1)) is Tri.TRUE
    assert value("days_between(a, b) > 1", a=date(2024, 1, 15), b=3) is Tri.UNKNOWN


def test_min_max_and_abs():
    assert value("min(a, b, 3) == 1", a=1, b=2) is Tri.TRUE
    assert value("max(a, b) == 2.5", a=1, b=2.5) is Tri.TRUE
    assert value("abs(a) == 4", a=-4) is Tri.TRUE
    assert value("max(a, b) == d", a=date(2024, 1, 1), b=date(2024, 2, 1), d=date(2024, 2, 1)) is Tri.TRUE
    assert value("max(a, b) > 1", a=1) is Tri.UNKNOWN
    assert value("max(a, b) > 1", a=1, b="x") is Tri.UNKNOWN


def test_in_and_not_in():
    assert value("d in ['b_all', 't_all']", d="t_all") is Tri.TRUE
    assert value("d in ['b_all', 't_all']", d="other") is Tri.FALSE
    assert value("d not in ['b_all', 't_all']", d="other") is Tri.TRUE
    assert value("d not in ['b_all']") is Tri.UNKNOWN


def test_in_a_mixed_list_matches_values_of_the_same_kind():
    assert value("x in [1, 2, 'a']", x="a") is Tri.TRUE
    assert value("x in [1, 2, 'a']", x=3) is Tri.FALSE
    assert value("x in [1, 2, 'a']", x=date(2024, 1, 1)) is Tri.UNKNOWN


def test_in_a_list_with_a_missing_element_is_unknown_unless_found():
    assert value("x in [a, 2]", x=2) is Tri.TRUE
    assert value("x in [a, 2]", x=3) is Tri.UNKNOWN
    assert value("x in []", x=3) is Tri.FALSE


def test_a_boolean_field_is_a_condition():
    assert value("prior", prior=True) is Tri.TRUE
    assert value("not prior", prior=False) is Tri.TRUE
    assert value("prior == false", prior=False) is Tri.TRUE
    assert value("not prior") is Tri.UNKNOWN
    assert value("prior", prior=1) is Tri.UNKNOWN


def test_conditions_compare_as_true_false_values():
    assert value("(a > 1) == (b > 1)", a=2, b=3) is Tri.TRUE
    assert value("(a > 1) == (b > 1)", a=2) is Tri.UNKNOWN


def test_explain_evaluates_every_comparison_even_after_a_false_one():
    evaluation = parse("a > 1 and b > 1 and c > 1").explain({"a": 0, "b": 5})
    assert [t.result for t in evaluation.comparisons] == [Tri.FALSE, Tri.TRUE, Tri.UNKNOWN]
    assert evaluation.result is Tri.FALSE
    assert evaluation.comparisons[2].missing_fields == frozenset({"c"})
    assert evaluation.missing_fields == frozenset({"c"})


def test_explain_traces_in_with_the_list_values():
    (trace,) = parse("d not in ['b_all', x]").explain({"d": "t_all", "x": "t_all"}).comparisons
    assert (trace.left, trace.operator, trace.right, trace.result) == (
        "t_all",
        "not in",
        ("b_all", "t_all"),
        Tri.FALSE,
    )


def test_trace_keeps_the_comparison_tree_for_pattern_matching():
    (trace,) = parse("alt <= 5 * alt_uln").explain({"alt": 310, "alt_uln": 40}).comparisons
    assert trace.node.right.op == "*"
    assert trace.node.right.right.name == "alt_uln"


def test_evaluate_accepts_any_mapping():
    assert parse("a > 1").evaluate(MappingProxyType({"a": 2})) is Tri.TRUE


def test_expressions_are_immutable_hashable_and_picklable():
    expr = parse("a > 1")
    with pytest.raises(AttributeError):
        expr.source = "b > 1"
    assert {expr: 1}[parse("(a)>1")] == 1
    assert pickle.loads(pickle.dumps(expr)) == expr


def test_rule_syntax_error_survives_pickling():
    with pytest.raises(ValueError) as info:
        parse("a >")
    clone = pickle.loads(pickle.dumps(info.value))
    assert (clone.message, clone.column, clone.text) == (info.value.message, info.value.column, "a >")
