"""Qualified names (``previous.weight_kg``): values beyond the record, read as written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.rules import RuleSyntaxError, Tri, parse

WEIGHT = "abs(weight_kg - previous.weight_kg) <= 0.1 * previous.weight_kg"


def test_a_qualified_name_is_one_name_read_from_the_values_as_written():
    expression = parse(WEIGHT)
    assert expression.fields == frozenset({"weight_kg", "previous.weight_kg"})
    assert expression.evaluate({"weight_kg": 77, "previous.weight_kg": 70}) is Tri.TRUE
    assert expression.evaluate({"weight_kg": 77.1, "previous.weight_kg": 70}) is Tri.FALSE


def test_a_missing_qualified_value_makes_the_check_unknown():
    assert parse(WEIGHT).evaluate({"weight_kg": 77}) is Tri.UNKNOWN
    assert parse(WEIGHT).evaluate({"weight_kg": 77, "previous.weight_kg": None}) is Tri.UNKNOWN


def test_present_tests_a_qualified_name():
    rule = parse("present(previous.weight_kg)")
    assert rule.evaluate({"previous.weight_kg": 70}) is Tri.TRUE
    assert rule.evaluate({}) is Tri.FALSE


def test_the_canonical_form_keeps_the_qualified_name():
    assert parse("previous.x>=1").canonical == "previous.x >= 1"


@pytest.mark.parametrize(
    "text",
    ["previous.weight.kg > 1", "x.__class__ == 1", "_x.y == 1", "previous. x > 1", "previous.1 > 1", "x. == 1"],
)
def test_it_refuses_what_is_not_one_qualifier_and_one_name(text):
    with pytest.raises(RuleSyntaxError):
        parse(text)


def test_a_number_with_a_decimal_point_is_still_a_number():
    assert parse("x.y > 1.5").evaluate({"x.y": 2}) is Tri.TRUE


_weights = st.one_of(st.none(), st.decimals(min_value=25, max_value=250, places=1, allow_nan=False))


@given(now=_weights, before=_weights)
def test_the_weight_rule_holds_exactly_when_the_change_is_ten_percent_or_less(now, before):
    result = parse(WEIGHT).evaluate({"weight_kg": now, "previous.weight_kg": before})
    if now is None or before is None:
        assert result is Tri.UNKNOWN
    else:
        assert result is Tri.of(abs(now - before) <= Decimal("0.1") * before)
