"""Render a syntax tree back to rule text (parentheses only where needed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from trialdesk.rules.nodes import And, Arith, Call, Compare, Field, Literal, Membership, Neg, Node, Not, Or

_OR, _AND, _NOT, _CMP, _SUM, _PRODUCT, _NEG, _ATOM = range(1, 9)


def _precedence(node: Node) -> int:
    if isinstance(node, Or):
        return _OR
    if isinstance(node, And):
        return _AND
    if isinstance(node, Not):
        return _NOT
    if isinstance(node, Compare | Membership):
        return _CMP
    if isinstance(node, Arith):
        return _SUM if node.op in "+-" else _PRODUCT
    if isinstance(node, Neg):
        return _NEG
    return _ATOM


def render_literal(value: object, kind: str) -> str:
    if kind == "null" or value is None:
        return "null"
    if kind == "bool":
        return "true" if value else "false"
    if kind == "date" and isinstance(value, date):
        return f'date("{value.isoformat()}")'
    if kind == "string":
        text = str(value).replace("\\", "\\\\").replace("'", "\\'")
        return f"'{text}'"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def render(node: Node) -> str:
    """The canonical text of ``node``: ``parse(render(n))`` gives back a tree equal to ``n``."""
    return _render(node, 0)


def _render(node: Node, required: int) -> str:
    text = _render_bare(node)
    if _precedence(node) < required:
        return f"({text})"
    return text


def _render_bare(node: Node) -> str:
    if isinstance(node, Literal):
        text = render_literal(node.value, node.kind)
        return f"({text})" if text.startswith("-") else text
    if isinstance(node, Field):
        return node.name
    if isinstance(node, Or):
        return " or ".join(_render(o, _AND) for o in node.operands)
    if isinstance(node, And):
        return " and ".join(_render(o, _NOT) for o in node.operands)
    if isinstance(node, Not):
        return "not " + _render(node.operand, _NOT)
    if isinstance(node, Compare):
        return f"{_render(node.left, _SUM)} {node.op} {_render(node.right, _SUM)}"
    if isinstance(node, Membership):
        options = ", ".join(_render(o, 0) for o in node.options)
        word = "not in" if node.negated else "in"
        return f"{_render(node.item, _SUM)} {word} [{options}]"
    if isinstance(node, Arith):
        if node.op in "+-":
            return f"{_render(node.left, _SUM)} {node.op} {_render(node.right, _PRODUCT)}"
        return f"{_render(node.left, _PRODUCT)} {node.op} {_render(node.right, _NEG)}"
    if isinstance(node, Neg):
        inner = _render(node.operand, _NEG)
        return "-" + (" " + inner if inner.startswith("-") else inner)
    if isinstance(node, Call):
        return f"{node.name}({', '.join(_render(a, 0) for a in node.args)})"
    raise TypeError(f"not a rule node: {node!r}")
