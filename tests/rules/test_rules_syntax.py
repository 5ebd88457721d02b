"""Parsing: what is accepted, and the plain-English errors for what is not."""

import pytest

from trialdesk.rules import MAX_LENGTH, RuleSyntaxError, Tri, parse


def syntax_error(text: str) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        parse(text)
    return info.value


def test_unexpected_closing_parenthesis_names_its_column():
    error = syntax_error("age_years >= 1)")
    assert error.message == "unexpected ')' at column 15"
    assert error.column == 15


def test_unknown_function_is_named():
    error = syntax_error("eval('1') == 1")
    assert error.message.startswith("unknown function 'eval'")
    assert error.column == 1


def test_python_code_is_never_run():
    for text in ["__import__('os').system('true')", "x.__class__ == 1", "lambda: 1", "open('f')"]:
        with pytest.raises(RuleSyntaxError):
            parse(text)


def test_unterminated_string_names_where_it_starts():
    error = syntax_error("x == 'b_all")
    assert error.message == "unterminated string starting at column 6"
    assert error.column == 6


def test_operand_missing_after_and_is_named():
    error = syntax_error("age_years >= 18 and")
    assert error.message == "expected an operand after 'and' at column 17"


def test_empty_expression_is_refused():
    assert syntax_error("   ").message == "the expression is empty"
    assert syntax_error("").column == 1


def test_unclosed_parenthesis_names_the_opening_one():
    error = syntax_error("(a > 1 and b > 2")
    assert error.message == "missing ')' to close the '(' at column 1"


def test_expression_longer_than_the_limit_is_refused():
    text = " and ".join(["a > 1"] * 400)
    assert len(text) > MAX_LENGTH
    assert "limit is 2000" in syntax_error(text).message


def test_deep_parentheses_give_a_clear_error_not_a_recursion_error():
    error = syntax_error("(" * 900 + "a" + ")" * 900)
    assert "nested too deeply" in error.message


def test_deep_unary_minus_and_not_give_a_clear_error():
    assert "nested too deeply" in syntax_error("-" * 1500 + "a > 0").message
    assert "nested too deeply" in syntax_error("not " * 400 + "a").message


def test_long_chain_of_operations_is_refused_as_too_complex():
    error = syntax_error("+".join(["a"] * 500) + " > 0")
    assert "too many nested operations" in error.message


def test_long_chain_of_and_is_accepted():
    expr = parse(" and ".join(f"f{i} > 1" for i in range(150)))
    assert len(expr.fields) == 150


def test_a_number_is_not_a_condition():
    assert syntax_error("1 + 2").message == "the expression must be a condition (true/false), not a number"


def test_a_text_a_date_or_null_is_not_a_condition():
    assert syntax_error("'b_all'").message.endswith("not a text")
    assert syntax_error('date("2024-01-31")').message.endswith("not a date")
    assert syntax_error("null").message.endswith("not null")


def test_comparing_a_number_with_a_text_is_refused_at_parse_time():
    assert "cannot compare a number with a text" in syntax_error("1 < 'a'").message
    assert "cannot compare a date with a number" in syntax_error('date("2024-01-01") == 3').message


def test_arithmetic_on_text_is_refused_at_parse_time():
    assert "'+' needs numbers on both sides, not a text" in syntax_error("x + 'a' > 1").message


def test_and_joins_conditions_not_numbers():
    error = syntax_error("x > 5 and 3")
    assert error.message.startswith("'and' joins conditions, not a number")
    assert error.column == 11


def test_ordering_true_false_values_is_refused():
    assert "cannot order true/false" in syntax_error("true < x").message


def test_comparing_with_null_points_to_present():
    assert "use present(x)" in syntax_error("x == null").message
    assert "use present(x)" in syntax_error("x in [1, null]").message


def test_comparisons_do_not_chain():
    error = syntax_error("1 < x < 3")
    assert "cannot be chained" in error.message
    assert error.column == 7


def test_single_equals_suggests_double():
    assert syntax_error("x = 1").message == "unexpected character '=' at column 3 (use '==' to compare)"


def test_ampersands_suggest_and():
    assert "use 'and'" in syntax_error("a > 1 && b > 1").message


def test_upper_case_words_are_refused_with_the_lower_case_spelling():
    error = syntax_error("AST <= 5 * ast_uln")
    assert "'AST'" in error.message and "'ast'" in error.message
    assert "'and'" in syntax_error("a > 1 AND b > 1").message


def test_invalid_date_literal_is_named():
    error = syntax_error('d < date("2024-02-30")')
    assert error.message.startswith("invalid date '2024-02-30' at column 10")
    assert "YYYY-MM-DD" in syntax_error("d < date(20240101)").message


def test_a_list_outside_in_is_refused():
    assert "can only follow 'in'" in syntax_error("[1, 2] == x").message


def test_in_needs_a_list():
    assert "expected a list" in syntax_error("x in 3").message


def test_infix_not_must_be_followed_by_in():
    assert "expected 'in' after 'not'" in syntax_error("x not [1]").message


def test_present_takes_a_field_code():
    assert "present() takes a field code" in syntax_error("present(1)").message


def test_function_arity_is_checked():
    assert "abs() takes exactly 1 argument, not 2" in syntax_error("abs(a, b) > 1").message
    assert "min() takes at least 2 arguments, not 1" in syntax_error("min(a) > 1").message


def test_number_directly_followed_by_letters_is_refused():
    assert "right after the number" in syntax_error("x > 5mg").message


def test_decimal_point_needs_digits():
    assert "expected a digit after '.'" in syntax_error("x > 5.").message


def test_unknown_escape_in_string_is_refused():
    assert "unknown escape" in syntax_error(r"x == 'a\n'").message


def test_caret_points_at_the_column():
    error = syntax_error("a > 1 and )")
    assert error.caret().splitlines()[1] == " " * 10 + "^"


def test_strings_may_use_either_quote_and_escapes():
    assert parse('x == "it\'s"').evaluate({"x": "it's"}) is Tri.TRUE
    assert parse(r"x == 'it\'s'").evaluate({"x": "it's"}) is Tri.TRUE
    assert parse(r"x == 'back\\slash'").evaluate({"x": "back\\slash"}) is Tri.TRUE


def test_multiplication_binds_tighter_than_addition():
    assert parse("1 + 2 * 3 == 7").evaluate({}) is Tri.TRUE
    assert parse("(1 + 2) * 3 == 9").evaluate({}) is Tri.TRUE


def test_subtraction_and_division_lean_left():
    assert parse("10 - 4 - 3 == 3").evaluate({}) is Tri.TRUE
    assert parse("8 / 4 / 2 == 1").evaluate({}) is Tri.TRUE


def test_unary_minus():
    assert parse("-2 * 3 == -6").evaluate({}) is Tri.TRUE
    assert parse("- -2 == 2").evaluate({}) is Tri.TRUE
    assert parse("x == -1.5").evaluate({"x": -1.5}) is Tri.TRUE


def test_and_binds_tighter_than_or():
    assert parse("true or false and false").evaluate({}) is Tri.TRUE
    assert parse("(true or false) and false").evaluate({}) is Tri.FALSE


def test_not_applies_to_the_whole_comparison():
    assert parse("not x == 1").node == parse("not (x == 1)").node
    assert parse("not x in [1, 2]").evaluate({"x": 3}) is Tri.TRUE


def test_spacing_and_redundant_parentheses_do_not_change_the_tree():
    assert parse("a>=1 and(b<2)").node == parse("  (a >= 1)  and  b < 2 ").node
    assert parse("a>=1 and(b<2)") == parse("a >= 1 and b < 2")


def test_canonical_text_uses_single_quotes_and_minimal_parentheses():
    assert parse('(x == "a") and ((y) > (1 + 2) * 3)').canonical == "x == 'a' and y > (1 + 2) * 3"


def test_fields_include_those_read_by_present_and_functions():
    expr = parse("present(a) and days_between(b, c) < 14 and abs(d) < max(e, f)")
    assert expr.fields == frozenset("abcdef")


def test_function_names_can_still_be_field_codes():
    assert parse("min > 1").fields == frozenset({"min"})
    assert parse("date == date('2024-01-01')").fields == frozenset({"date"})
