"""``parse`` and the parsed ``Expression``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from trialdesk.rules.evaluator import Evaluation, Evaluator
from trialdesk.rules.nodes import Node, fields_of
from trialdesk.rules.parser import parse_tree
from trialdesk.rules.render import render
from trialdesk.rules.tri import Tri


class Expression:
    """A parsed, checked rule. Immutable; parse once, evaluate many times."""

    __slots__ = ("source", "node", "fields")

    source: str
    node: Node
    fields: frozenset[str]

    def __init__(self, source: str, node: Node):
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "fields", fields_of(node))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("an Expression is immutable")

    def evaluate(self, values: Mapping[str, Any]) -> Tri:
        """TRUE, FALSE or UNKNOWN for these field values; never raises on data."""
        return Evaluator(self.source, self.fields, values, trace=False).cond(self.node)

    def explain(self, values: Mapping[str, Any]) -> Evaluation:
        """The result and the trace of every comparison (all are evaluated, in source order)."""
        evaluator = Evaluator(self.source, self.fields, values, trace=True)
        result = evaluator.cond(self.node)
        missing = frozenset(name for name, present in evaluator.present.items() if not present)
        return Evaluation(result, evaluator.traces, missing)

    @property
    def canonical(self) -> str:
        """The rule rewritten in canonical form (single quotes, minimal parentheses)."""
        return render(self.node)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self.node == other.node

    def __hash__(self) -> int:
        return hash(self.node)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __str__(self) -> str:
        return self.source

    def __reduce__(self):
        return (parse, (self.source,))


@lru_cache(maxsize=4096)
def parse(text: str) -> Expression:
    """Parse and statically check a rule; raise ``RuleSyntaxError`` if it cannot be read.

    Expressions are immutable, so each text is parsed once per process: forms, criteria
    and edit checks are evaluated again and again with the same few rules."""
    return Expression(text, parse_tree(text))
