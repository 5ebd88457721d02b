"""Evaluation of a checked tree with three-valued logic. Never raises on data."""

from __future__ import annotations

import decimal as _decimal
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, DecimalException
from typing import Any

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
from trialdesk.rules.render import render
from trialdesk.rules.tri import Tri


class _MissingType:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _MissingType()


@dataclass(frozen=True)
class Invalid:
    """A value that could not be computed (type error, division by zero...)."""

    reason: str


_CONTEXT = _decimal.Context(
    prec=28,
    Emax=999_999,
    Emin=-999_999,
    traps=[_decimal.InvalidOperation, _decimal.DivisionByZero, _decimal.Overflow],
)


@dataclass(frozen=True)
class ComparisonTrace:
    """One comparison (or ``in`` test) as it was evaluated.

    ``left`` / ``right`` are the computed operand values (numbers as ``int`` or
    ``Decimal``; for ``in`` the right side is a tuple), ``None`` where an operand
    was missing or could not be computed. ``missing_fields`` names the fields the
    comparison reads that had no value; ``error`` says why an operand could not
    be used (e.g. "cannot compare a date with a number"). ``node`` is the
    comparison's syntax tree (``node.left`` / ``node.right``).
    """

    source: str
    left: Any
    operator: str
    right: Any
    result: Tri
    missing_fields: frozenset[str] = frozenset()
    error: str | None = None
    node: Node | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Evaluation:
    """The result of ``Expression.explain``: the verdict and every comparison behind it."""

    result: Tri
    comparisons: list[ComparisonTrace]
    missing_fields: frozenset[str] = frozenset()


def kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, date):
        return "date"
    return type(value).__name__


def normalize(value: object) -> object:
    """A caller's value as the evaluator sees it: None → MISSING; numbers → int/Decimal."""
    if value is None:
        return MISSING
    if isinstance(value, bool | str):
        return value
    if isinstance(value, datetime):
        return Invalid("a date and time was given where a date was expected")
    if isinstance(value, date):
        return value
    if isinstance(value, Decimal):
        return value if value.is_finite() else Invalid(f"{value} is not a usable number")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        try:
            as_float = float(value)
            if as_float != as_float or as_float in (float("inf"), float("-inf")):
                return Invalid(f"{value!r} is not a usable number")
            return Decimal(repr(as_float))
        except (TypeError, ValueError, ArithmeticError):
            return Invalid(f"{value!r} is not a usable number")
    return Invalid(f"a value of type {type(value).__name__} cannot be used in a rule")


def _is_number(value: object) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def _unknown(*values: object) -> object | None:
    """The first Invalid among values, else MISSING if any is missing, else None."""
    for v in values:
        if isinstance(v, Invalid):
            return v
    for v in values:
        if v is MISSING:
            return MISSING
    return None


def _same_kind(a: object, b: object) -> bool:
    return kind_of(a) == kind_of(b)


class Evaluator:
    def __init__(self, source: str, root_fields: frozenset[str], values: Mapping[str, Any], trace: bool):
        self.source = source
        self.trace = trace
        self.traces: list[ComparisonTrace] = []
        self.env: dict[str, object] = {}
        self.present: dict[str, bool] = {}
        for name in root_fields:
            try:
                raw = values.get(name) if hasattr(values, "get") else values[name]
            except Exception:  # a strange mapping: the field counts as missing
                raw = None
            self.present[name] = raw is not None
            self.env[name] = normalize(raw)

    # -- conditions --------------------------------------------------------------------------
    def cond(self, node: Node) -> Tri:
        if isinstance(node, And):
            result = Tri.TRUE
            for operand in node.operands:  # no short-circuit: every comparison is traced
                result = result & self.cond(operand)
            return result
        if isinstance(node, Or):
            result = Tri.FALSE
            for operand in node.operands:
                result = result | self.cond(operand)
            return result
        if isinstance(node, Not):
            return ~self.cond(node.operand)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Membership):
            return self.membership(node)
        if isinstance(node, Call) and node.name == "present":
            arg = node.args[0]
            return Tri.of(isinstance(arg, Field) and self.present.get(arg.name, False))
        value = self.value(node)
        if isinstance(value, bool):
            return Tri.of(value)
        return Tri.UNKNOWN

    def record(
        self, node: Node, left: object, op: str, right: object, result: Tri, error: str | None
    ) -> None:
        if not self.trace:
            return
        start, end = node.span
        # a node built by hand (no span) is shown in canonical form
        source = self.source[start:end] if end > start else render(node)
        missing = frozenset(name for name in fields_of(node) if self.env.get(name) is MISSING)
        self.traces.append(ComparisonTrace(source, left, op, right, result, missing, error, node))

    @staticmethod
    def shown(value: object) -> object:
        return None if value is MISSING or isinstance(value, Invalid) else value

    def compare(self, node: Compare) -> Tri:
        left, right = self.value(node.left), self.value(node.right)
        error: str | None = None
        unknown = _unknown(left, right)
        if unknown is not None:
            result = Tri.UNKNOWN
            if isinstance(unknown, Invalid):
                error = unknown.reason
        else:
            result, error = _compare(node.op, left, right)
        self.record(node, self.shown(left), node.op, self.shown(right), result, error)
        return result

    def membership(self, node: Membership) -> Tri:
        item = self.value(node.item)
        options = [self.value(o) for o in node.options]
        error: str | None = None
        if isinstance(item, Invalid):
            result, error = Tri.UNKNOWN, item.reason
        elif item is MISSING:
            result = Tri.UNKNOWN
        else:
            found = False
            had_unknown = False
            comparable = False
            for option in options:
                if option is MISSING or isinstance(option, Invalid):
                    had_unknown = True
                elif _same_kind(item, option):
                    comparable = True
                    if item == option:
                        found = True
            if found:
                result = Tri.TRUE
            elif had_unknown:
                result = Tri.UNKNOWN
            elif options and not comparable:
                result = Tri.UNKNOWN
                error = f"cannot look for {_a(kind_of(item))} in a list of other kinds of values"
            else:
                result = Tri.FALSE
            if node.negated:
                result = ~result
        op = "not in" if node.negated else "in"
        self.record(node, self.shown(item), op, tuple(self.shown(o) for o in options), result, error)
        return result

    # -- values ------------------------------------------------------------------------------
    def value(self, node: Node) -> object:
        if isinstance(node, Literal):
            return MISSING if node.kind == "null" else node.value
        if isinstance(node, Field):
            return self.env.get(node.name, MISSING)
        if isinstance(node, Neg):
            operand = self.value(node.operand)
            unknown = _unknown(operand)
            if unknown is not None:
                return unknown
            if not _is_number(operand):
                return Invalid(f"'-' needs a number, not {_a(kind_of(operand))}")
            return -operand  # type: ignore[operator]
        if isinstance(node, Arith):
            left, right = self.value(node.left), self.value(node.right)
            unknown = _unknown(left, right)
            if unknown is not None:
                return unknown
            return _arith(node.op, left, right)
        if isinstance(node, Compare | Membership | And | Or | Not) or (
            isinstance(node, Call) and node.name == "present"
        ):
            tri = self.cond(node)
            return MISSING if tri is Tri.UNKNOWN else tri is Tri.TRUE
        if isinstance(node, Call):
            return self.call(node)
        return Invalid(f"unsupported node {type(node).__name__}")  # pragma: no cover

    def call(self, node: Call) -> object:
        args = [self.value(a) for a in node.args]
        unknown = _unknown(*args)
        if unknown is not None:
            return unknown
        name = node.name
        if name == "abs":
            (x,) = args
            return abs(x) if _is_number(x) else Invalid(f"abs() needs a number, not {_a(kind_of(x))}")  # type: ignore[arg-type]
        if name == "days_between":
            first, second = args
            if not all(isinstance(a, date) for a in args):
                return Invalid("days_between() needs two dates")
            return (second - first).days  # type: ignore[operator]
        if name in ("min", "max"):
            if all(_is_number(a) for a in args) or all(isinstance(a, date) for a in args):
                return min(args) if name == "min" else max(args)  # type: ignore[type-var]
            return Invalid(f"{name}() needs all numbers or all dates")
        return Invalid(f"unknown function {name}")  # pragma: no cover


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind


def _compare(op: str, left: object, right: object) -> tuple[Tri, str | None]:
    if not _same_kind(left, right):
        return Tri.UNKNOWN, f"cannot compare {_a(kind_of(left))} with {_a(kind_of(right))}"
    kind = kind_of(left)
    if kind not in ("number", "text", "date", "true/false"):
        return Tri.UNKNOWN, f"cannot compare values of type {kind}"
    try:
        if op == "==":
            return Tri.of(left == right), None
        if op == "!=":
            return Tri.of(left != right), None
        if kind == "true/false":
            return Tri.UNKNOWN, f"'{op}' cannot order true/false values"
        if op == "<":
            return Tri.of(left < right), None  # type: ignore[operator]
        if op == "<=":
            return Tri.of(left <= right), None  # type: ignore[operator]
        if op == ">":
            return Tri.of(left > right), None  # type: ignore[operator]
        if op == ">=":
            return Tri.of(left >= right), None  # type: ignore[operator]
    except (TypeError, ArithmeticError, ValueError) as exc:
        return Tri.UNKNOWN, f"cannot compare: {exc}"
    return Tri.UNKNOWN, f"unknown operator {op}"  # pragma: no cover


def _arith(op: str, left: object, right: object) -> object:
    if not (_is_number(left) and _is_number(right)):
        return Invalid(f"'{op}' needs numbers, not {_a(kind_of(left))} and {_a(kind_of(right))}")
    try:
        if isinstance(left, int) and isinstance(right, int) and op != "/":
            if op == "+":
                return left + right
            if op == "-":
                return left - right
            return left * right
        a, b = Decimal(left), Decimal(right)  # type: ignore[arg-type]
        if op == "+":
            return _CONTEXT.add(a, b)
        if op == "-":
            return _CONTEXT.subtract(a, b)
        if op == "*":
            return _CONTEXT.multiply(a, b)
        if b == 0:
            return Invalid("division by zero")
        return _CONTEXT.divide(a, b)
    except (DecimalException, ArithmeticError, ValueError):
        return Invalid(f"the result of '{op}' is too large or not a number")
