"""The syntax tree of a rule: small frozen dataclasses.

``span`` (0-based start/end offsets in the source text) is carried for error
messages and traces but takes no part in equality, so two trees are equal when
they mean the same thing, whatever their spacing or parentheses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal as _Lit

LiteralKind = _Lit["number", "string", "bool", "null", "date"]
LiteralValue = int | Decimal | str | bool | date | None


@dataclass(frozen=True)
class Node:
    span: tuple[int, int] = field(default=(0, 0), compare=False, repr=False, kw_only=True)

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class Literal(Node):
    """A constant. ``kind`` is part of equality so that ``true`` never equals ``1``."""

    value: LiteralValue
    kind: LiteralKind


@dataclass(frozen=True)
class Field(Node):
    """A field code, read from the values mapping; absent or None means missing."""

    name: str


@dataclass(frozen=True)
class Neg(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Arith(Node):
    op: _Lit["+", "-", "*", "/"]
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Compare(Node):
    op: _Lit["<", "<=", ">", ">=", "==", "!="]
    left: Node
    right: Node

    def children(self) -> tuple[Node, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Membership(Node):
    """``item in [options]`` (or ``not in`` when ``negated``)."""

    item: Node
    options: tuple[Node, ...]
    negated: bool = False

    def children(self) -> tuple[Node, ...]:
        return (self.item, *self.options)


@dataclass(frozen=True)
class And(Node):
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.operands


@dataclass(frozen=True)
class Not(Node):
    operand: Node

    def children(self) -> tuple[Node, ...]:
        return (self.operand,)


@dataclass(frozen=True)
class Call(Node):
    """A call of a whitelisted function (see ``FUNCTIONS``)."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.args


#: the functions of the language: name → (minimum, maximum or None) number of arguments
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "present": (1, 1),
    "abs": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "days_between": (2, 2),
}

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})


def walk(node: Node):
    """Every node of the tree, parents before children (iterative: no recursion limit)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def fields_of(node: Node) -> frozenset[str]:
    return frozenset(n.name for n in walk(node) if isinstance(n, Field))
