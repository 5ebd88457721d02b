"""Property tests (hypothesis): parse never crashes, render/parse round-trips,
the three-valued laws hold, evaluation never raises."""

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trialdesk.rules import KEYWORDS, MAX_LENGTH, Expression, RuleSyntaxError, Tri, parse, render
from trialdesk.rules.nodes import (
    And,
    Arith,
    Call,
    Compare,
    Field,
    Literal,
    Membership,
    Neg,
    Node,
    Not,
    Or,
    fields_of,
)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ------------------------------------------------------------------------------

POOL = ["a", "b", "c", "ast", "ast_uln", "d1", "d2", "flag"]

field_names = st.one_of(
    st.sampled_from(POOL),
    st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in KEYWORDS),
)
pool_fields = st.sampled_from(POOL).map(Field)

number_literals = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
).map(lambda v: Literal(v, "number"))
string_literals = st.text(max_size=12).map(lambda v: Literal(v, "string"))
date_literals = st.dates().map(lambda v: Literal(v, "date"))
bool_literals = st.booleans().map(lambda v: Literal(v, "bool"))


def numbers(depth: int, fields=pool_fields) -> st.SearchStrategy[Node]:
    leaves = st.one_of(number_literals, fields)
    if depth <= 0:
        return leaves
    sub = numbers(depth - 1, fields)
    dates_sub = dates(depth - 1, fields)
    return st.one_of(
        leaves,
        st.builds(Arith, st.sampled_from("+-*/"), sub, sub),
        st.builds(Neg, sub),
        st.builds(lambda x: Call("abs", (x,)), sub),
        st.builds(
            lambda name, xs: Call(name, tuple(xs)),
            st.sampled_from(["min", "max"]),
            st.lists(sub, min_size=2, max_size=3),
        ),
        st.builds(lambda x, y: Call("days_between", (x, y)), dates_sub, dates_sub),
    )


def dates(depth: int, fields=pool_fields) -> st.SearchStrategy[Node]:
    leaves = st.one_of(date_literals, fields)
    if depth <= 0:
        return leaves
    sub = dates(depth - 1, fields)
    return st.one_of(
        leaves,
        st.builds(
            lambda name, xs: Call(name, tuple(xs)),
            st.sampled_from(["min", "max"]),
            st.lists(sub, min_size=2, max_size=3),
        ),
    )


def strings(fields=pool_fields) -> st.SearchStrategy[Node]:
    return st.one_of(string_literals, fields)


ORDER_OPS = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])


def conditions(depth: int, fields=pool_fields, with_present: bool = True) -> st.SearchStrategy[Node]:
    num, dat, txt = numbers(min(depth, 2), fields), dates(1, fields), strings(fields)
    atoms = [
        bool_literals,
        fields,
        st.builds(Compare, ORDER_OPS, num, num),
        st.builds(Compare, ORDER_OPS, txt, txt),
        st.builds(Compare, ORDER_OPS, dat, dat),
        st.builds(Membership, num, st.lists(num, max_size=3).map(tuple), st.booleans()),
        st.builds(Membership, txt, st.lists(txt, max_size=3).map(tuple), st.booleans()),
    ]
    if with_present:
        atoms.append(fields.map(lambda f: Call("present", (f,))))
    leaves = st.one_of(*atoms)
    if depth <= 0:
        return leaves
    sub = conditions(depth - 1, fields, with_present)
    return st.one_of(
        leaves,
        st.builds(Not, sub),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        st.builds(Compare, st.sampled_from(["==", "!="]), sub, sub),
    )


def expression(node: Node) -> Expression:
    return parse(render(node))


plain_values = st.one_of(
    st.none(),
    st.integers(min_value=-1000, max_value=1000),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1000, max_value=1000, allow_nan=False),
    st.sampled_from(["", "b_all", "t_all", "x"]),
    st.booleans(),
    st.dates(min_value=date(2020, 1, 1), max_value=date(2025, 12, 31)),
)
wild_values = st.one_of(
    plain_values,
    st.integers(),
    st.floats(),
    st.decimals(),
    st.text(max_size=5),
    st.datetimes(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(object()),
)
pool_values = st.dictionaries(st.sampled_from(POOL), plain_values)
wild_pool_values = st.dictionaries(st.sampled_from(POOL), wild_values)

TOKENS = [
    "a", "b", "x_uln", "and", "or", "not", "in", "true", "false", "null", "(", ")", "[", "]", ",",
    "+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "=", "1", "20.5", "'s'", '"t', "'",
    "present(", "abs(", "min(", "max(", "days_between(", 'date("2024-01-31")', "date(", "eval(", "A", ".", "5.",
]  # fmt: skip

# -- parse never crashes ---------------------------------------------------------------------


def _parse_or_syntax_error(text: str) -> None:
    try:
        expr = parse(text)
    except RuleSyntaxError as error:
        assert error.message
        assert 1 <= error.column <= max(len(text), MAX_LENGTH) + 1
        assert error.text == text
    else:
        assert expr.evaluate({}) in (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN)


@FAST
@given(st.text(max_size=200))
def test_no_text_crashes_parse(text):
    _parse_or_syntax_error(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_no_token_soup_crashes_parse(text):
    _parse_or_syntax_error(text)


@SLOW
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_no_unspaced_token_soup_crashes_parse(text):
    _parse_or_syntax_error(text)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["(", "-", "not ", "[", "abs(", "- (", "x in ["]),
    st.integers(min_value=30, max_value=700),
)
def test_deep_nesting_is_a_syntax_error_never_a_recursion_error(opener, count):
    _parse_or_syntax_error((opener * count)[:MAX_LENGTH] + "a")


# -- round trip ------------------------------------------------------------------------------


@FAST
@given(conditions(3, fields=field_names.map(Field)))
def test_rendered_trees_parse_back_to_the_same_tree(node):
    assert parse(render(node)).node == node


@SLOW
@given(conditions(2, fields=field_names.map(Field)))
def test_rendering_is_stable(node):
    text = render(node)
    assert render(parse(text).node) == text


# -- three-valued laws -----------------------------------------------------------------------


@FAST
@given(conditions(2), conditions(2), pool_values)
def test_de_morgan(x, y, values):
    assert expression(Not(And((x, y)))).evaluate(values) is expression(Or((Not(x), Not(y)))).evaluate(values)
    assert expression(Not(Or((x, y)))).evaluate(values) is expression(And((Not(x), Not(y)))).evaluate(values)


@FAST
@given(conditions(2), conditions(2), pool_values)
def test_and_or_are_commutative(x, y, values):
    assert expression(And((x, y))).evaluate(values) is expression(And((y, x))).evaluate(values)
    assert expression(Or((x, y))).evaluate(values) is expression(Or((y, x))).evaluate(values)


@FAST
@given(conditions(2), pool_values)
def test_false_absorbs_and_true_absorbs_or(x, values):
    false, true = Literal(False, "bool"), Literal(True, "bool")
    assert expression(And((x, false))).evaluate(values) is Tri.FALSE
    assert expression(Or((true, x))).evaluate(values) is Tri.TRUE
    assert expression(And((x, true))).evaluate(values) is expression(x).evaluate(values)


@FAST
@given(conditions(2), pool_values)
def test_double_negation_is_identity(x, values):
    assert expression(Not(Not(x))).evaluate(values) is expression(x).evaluate(values)


@FAST
@given(conditions(2), pool_values)
def test_evaluate_and_explain_agree(x, values):
    expr = expression(x)
    assert expr.explain(values).result is expr.evaluate(values)


@FAST
@given(numbers(2), ORDER_OPS, number_literals, pool_values, st.data())
def test_a_missing_operand_makes_a_comparison_unknown(num, op, literal, values, data):
    names = sorted(fields_of(num))
    if not names:
        num = Arith("+", num, Field("a"))
        names = ["a"]
    gone = data.draw(st.sampled_from(names))
    values = {k: v for k, v in values.items() if k != gone}
    expr = expression(Compare(op, num, literal))
    evaluation = expr.explain(values)
    assert evaluation.result is Tri.UNKNOWN
    assert gone in evaluation.comparisons[0].missing_fields


@SLOW
@given(conditions(2, with_present=False), pool_values, pool_values)
def test_a_definite_answer_never_changes_when_missing_data_arrives(x, known, later):
    expr = expression(x)
    before = expr.evaluate(known)
    if before is Tri.UNKNOWN:
        return
    completed = {**later, **{k: v for k, v in known.items() if v is not None}}
    assert expr.evaluate(completed) is before


# -- evaluation never raises -----------------------------------------------------------------


@FAST
@given(conditions(2), wild_pool_values)
def test_evaluation_never_raises_whatever_the_values(x, values):
    expr = expression(x)
    assert expr.evaluate(values) in (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN)
    evaluation = expr.explain(values)
    assert all(t.result in (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN) for t in evaluation.comparisons)


@SLOW
@given(st.lists(st.sampled_from(TOKENS), max_size=20).map(" ".join), wild_pool_values)
def test_whatever_parses_evaluates_without_raising(text, values):
    try:
        expr = parse(text)
    except RuleSyntaxError:
        return
    assert expr.evaluate(values) in (Tri.TRUE, Tri.FALSE, Tri.UNKNOWN)
    expr.explain(values)
