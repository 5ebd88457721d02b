"""Recursive-descent parser and static checks of the rule language.

Grammar (lowest precedence first)::

    expr        := and_expr ('or' and_expr)*
    and_expr    := not_expr ('and' not_expr)*
    not_expr    := 'not' not_expr | comparison
    comparison  := sum (('<'|'<='|'>'|'>='|'=='|'!=') sum | ['not'] 'in' list)?
    sum         := product (('+'|'-') product)*
    product     := unary (('*'|'/') unary)*
    unary       := '-' unary | primary
    primary     := NUMBER | STRING | 'true' | 'false' | 'null' | date("YYYY-MM-DD")
                 | NAME | NAME '(' args ')' | '(' expr ')'
    list        := '[' [expr (',' expr)*] ']'

Comparisons do not chain (``a < b < c`` is an error). Chains of ``and`` / ``or``
become one n-ary node.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from trialdesk.rules.errors import RuleSyntaxError
from trialdesk.rules.lexer import Token, tokenize
from trialdesk.rules.nodes import (
    FUNCTIONS,
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
)

MAX_LENGTH = 2000
#: nesting of parentheses, lists, calls, '-' and 'not' while parsing
MAX_NESTING = 40
#: depth of the finished tree (also bounds left-leaning chains such as 1 + 1 + 1 ...)
MAX_DEPTH = 100

_COMPARISON_OPS = ("<", "<=", ">", ">=", "==", "!=")


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.nesting = 0

    # -- helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def previous(self) -> Token | None:
        return self.tokens[self.pos - 1] if self.pos > 0 else None

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        tok = self.tok
        return tok.kind == kind and (text is None or tok.text == text)

    def error(self, message: str, column: int) -> RuleSyntaxError:
        return RuleSyntaxError(message, column, self.text)

    def unexpected(self, token: Token) -> RuleSyntaxError:
        if token.kind == "end":
            prev = self.previous()
            if prev is None:
                return self.error("the expression is empty", 1)
            return self.error(f"expected an operand after '{prev.text}' at column {prev.column}", prev.column)
        return self.error(f"unexpected {token.describe()} at column {token.column}", token.column)

    def enter(self, token: Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(
                f"the expression is nested too deeply (more than {MAX_NESTING} levels) at column {token.column}",
                token.column,
            )

    def leave(self) -> None:
        self.nesting -= 1

    def expect_op(self, text: str, opener: Token, what: str) -> Token:
        if self.at("op", text):
            return self.advance()
        tok = self.tok
        if tok.kind == "end":
            raise self.error(
                f"missing '{text}' to close the {what} at column {opener.column}",
                opener.column,
            )
        raise self.error(
            f"unexpected {tok.describe()} at column {tok.column} (expected '{text}' to close the "
            f"{what} at column {opener.column})",
            tok.column,
        )

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> Node:
        if not self.text.strip():
            raise self.error("the expression is empty", 1)
        node = self.expr()
        if self.tok.kind != "end":
            raise self.unexpected(self.tok)
        return node

    def expr(self) -> Node:
        first = self.and_expr()
        if not self.at("keyword", "or"):
            return first
        operands = [first]
        while self.at("keyword", "or"):
            self.advance()
            operands.append(self.and_expr())
        return Or(tuple(operands), span=(first.span[0], operands[-1].span[1]))

    def and_expr(self) -> Node:
        first = self.not_expr()
        if not self.at("keyword", "and"):
            return first
        operands = [first]
        while self.at("keyword", "and"):
            self.advance()
            operands.append(self.not_expr())
        return And(tuple(operands), span=(first.span[0], operands[-1].span[1]))

    def not_expr(self) -> Node:
        if self.at("keyword", "not"):
            token = self.advance()
            self.enter(token)
            operand = self.not_expr()
            self.leave()
            return Not(operand, span=(token.start, operand.span[1]))
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARISON_OPS:
            self.advance()
            right = self.sum()
            node: Node = Compare(tok.text, left, right, span=(left.span[0], right.span[1]))  # type: ignore[arg-type]
        elif tok.kind == "keyword" and tok.text in ("in", "not"):
            self.advance()
            negated = tok.text == "not"
            if negated:
                if not self.at("keyword", "in"):
                    raise self.error(f"expected 'in' after 'not' at column {tok.column}", tok.column)
                self.advance()
            options, end = self.list_literal()
            node = Membership(left, options, negated, span=(left.span[0], end))
        else:
            return left
        nxt = self.tok
        if (nxt.kind == "op" and nxt.text in _COMPARISON_OPS) or (nxt.kind == "keyword" and nxt.text == "in"):
            raise self.error(
                f"comparisons cannot be chained (at column {nxt.column}); join them with 'and'", nxt.column
            )
        return node

    def list_literal(self) -> tuple[tuple[Node, ...], int]:
        opener = self.tok
        if not self.at("op", "["):
            prev = self.previous()
            where = prev.column if prev else 1
            raise self.error(f"expected a list such as [1, 2] after 'in' at column {where}", where)
        self.advance()
        self.enter(opener)
        items: list[Node] = []
        if not self.at("op", "]"):
            items.append(self.expr())
            while self.at("op", ","):
                self.advance()
                items.append(self.expr())
        closer = self.expect_op("]", opener, "list")
        self.leave()
        return tuple(items), closer.end

    def sum(self) -> Node:
        left = self.product()
        while self.tok.kind == "op" and self.tok.text in "+-":
            op = self.advance().text
            right = self.product()
            left = Arith(op, left, right, span=(left.span[0], right.span[1]))  # type: ignore[arg-type]
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in "*/":
            op = self.advance().text
            right = self.unary()
            left = Arith(op, left, right, span=(left.span[0], right.span[1]))  # type: ignore[arg-type]
        return left

    def unary(self) -> Node:
        if self.at("op", "-"):
            token = self.advance()
            self.enter(token)
            operand = self.unary()
            self.leave()
            return Neg(operand, span=(token.start, operand.span[1]))
        return self.primary()

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind == "number":
            self.advance()
            value: int | Decimal = Decimal(tok.text) if "." in tok.text else int(tok.text)
            return Literal(value, "number", span=(tok.start, tok.end))
        if tok.kind == "string":
            self.advance()
            return Literal(tok.text, "string", span=(tok.start, tok.end))
        if tok.kind == "keyword" and tok.text in ("true", "false"):
            self.advance()
            return Literal(tok.text == "true", "bool", span=(tok.start, tok.end))
        if tok.kind == "keyword" and tok.text == "null":
            self.advance()
            return Literal(None, "null", span=(tok.start, tok.end))
        if tok.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.call(tok)
            return Field(tok.text, span=(tok.start, tok.end))
        if tok.kind == "op" and tok.text == "(":
            self.advance()
            self.enter(tok)
            inner = self.expr()
            self.expect_op(")", tok, "'('")
            self.leave()
            return inner
        if tok.kind == "op" and tok.text == "[":
            raise self.error(f"a list at column {tok.column} can only follow 'in' or 'not in'", tok.column)
        raise self.unexpected(tok)

    def call(self, name: Token) -> Node:
        opener = self.advance()  # '('
        if name.text == "date":
            return self.date_literal(name, opener)
        if name.text not in FUNCTIONS:
            known = ", ".join(sorted([*FUNCTIONS, "date"]))
            raise self.error(
                f"unknown function '{name.text}' at column {name.column} (known functions: {known})",
                name.column,
            )
        self.enter(opener)
        args: list[Node] = []
        if not self.at("op", ")"):
            args.append(self.expr())
            while self.at("op", ","):
                self.advance()
                args.append(self.expr())
        closer = self.expect_op(")", opener, f"call of {name.text}()")
        self.leave()
        low, high = FUNCTIONS[name.text]
        if len(args) < low or (high is not None and len(args) > high):
            if high == low:
                wanted = f"exactly {low} argument" + ("s" if low != 1 else "")
            else:
                wanted = f"at least {low} arguments"
            raise self.error(
                f"{name.text}() takes {wanted}, not {len(args)} (at column {name.column})", name.column
            )
        if name.text == "present" and not isinstance(args[0], Field):
            raise self.error(
                f"present() takes a field code, as in present(ast) (at column {name.column})", name.column
            )
        return Call(name.text, tuple(args), span=(name.start, closer.end))

    def date_literal(self, name: Token, opener: Token) -> Node:
        tok = self.tok
        usage = f'write a date as date("YYYY-MM-DD") (at column {name.column})'
        if tok.kind != "string":
            raise self.error(usage, name.column)
        self.advance()
        closer = self.expect_op(")", opener, "call of date()")
        try:
            if len(tok.text) != 10:
                raise ValueError
            value = date.fromisoformat(tok.text)
        except ValueError:
            raise self.error(
                f"invalid date '{tok.text}' at column {tok.column} (expected YYYY-MM-DD, a real calendar day)",
                tok.column,
            ) from None
        return Literal(value, "date", span=(name.start, closer.end))


# -- static checks ---------------------------------------------------------------------------

NUMBER, STRING, BOOL, DATE, NULL, ANY = "number", "string", "bool", "date", "null", "any"
_DESCRIBE = {
    NUMBER: "a number",
    STRING: "a text",
    BOOL: "a condition (true/false)",
    DATE: "a date",
    NULL: "null",
}
_NULL_HINT = "null cannot be compared or computed with; use present(x) to test whether a value is missing"


def _depth(root: Node) -> tuple[int, Node]:
    """Depth of the tree and its deepest node, without recursion."""
    best, deepest = 0, root
    stack = [(root, 1)]
    while stack:
        node, d = stack.pop()
        if d > best:
            best, deepest = d, node
        stack.extend((child, d + 1) for child in node.children())
    return best, deepest


class _Checker:
    def __init__(self, text: str):
        self.text = text

    def fail(self, node: Node, message: str) -> RuleSyntaxError:
        column = node.span[0] + 1
        return RuleSyntaxError(f"{message} (at column {column})", column, self.text)

    def type_of(self, node: Node) -> str:
        if isinstance(node, Literal):
            return node.kind
        if isinstance(node, Field):
            return ANY
        if isinstance(node, Neg):
            self.need(node.operand, (NUMBER,), "'-' needs a number")
            return NUMBER
        if isinstance(node, Arith):
            self.need(node.left, (NUMBER,), f"'{node.op}' needs numbers on both sides")
            self.need(node.right, (NUMBER,), f"'{node.op}' needs numbers on both sides")
            return NUMBER
        if isinstance(node, Compare):
            self.compare(node)
            return BOOL
        if isinstance(node, Membership):
            self.membership(node)
            return BOOL
        if isinstance(node, And | Or):
            word = "and" if isinstance(node, And) else "or"
            for operand in node.operands:
                self.need(operand, (BOOL,), f"'{word}' joins conditions")
            return BOOL
        if isinstance(node, Not):
            self.need(node.operand, (BOOL,), "'not' needs a condition")
            return BOOL
        if isinstance(node, Call):
            return self.call(node)
        raise TypeError(f"not a rule node: {node!r}")  # pragma: no cover - programming error

    def need(self, node: Node, allowed: tuple[str, ...], context: str) -> str:
        kind = self.type_of(node)
        if kind == ANY or kind in allowed:
            return kind
        if kind == NULL:
            raise self.fail(node, _NULL_HINT)
        raise self.fail(node, f"{context}, not {_DESCRIBE[kind]}")

    def compare(self, node: Compare) -> None:
        left, right = self.type_of(node.left), self.type_of(node.right)
        for side, kind in ((node.left, left), (node.right, right)):
            if kind == NULL:
                raise self.fail(side, _NULL_HINT)
            if kind == BOOL and node.op not in ("==", "!="):
                raise self.fail(side, f"'{node.op}' cannot order true/false values; use '==' or '!='")
        if left != ANY and right != ANY and left != right:
            raise self.fail(node, f"cannot compare {_DESCRIBE[left]} with {_DESCRIBE[right]}")

    def membership(self, node: Membership) -> None:
        item = self.type_of(node.item)
        if item == NULL:
            raise self.fail(node.item, _NULL_HINT)
        kinds = set()
        for option in node.options:
            kind = self.type_of(option)
            if kind == NULL:
                raise self.fail(option, _NULL_HINT)
            kinds.add(kind)
        if item != ANY and kinds and ANY not in kinds and item not in kinds:
            listed = " or ".join(sorted(_DESCRIBE[k] for k in kinds))
            raise self.fail(node, f"cannot look for {_DESCRIBE[item]} in a list of {listed}")

    def call(self, node: Call) -> str:
        name = node.name
        if name == "present":
            return BOOL
        if name == "abs":
            self.need(node.args[0], (NUMBER,), "abs() needs a number")
            return NUMBER
        if name == "days_between":
            for arg in node.args:
                self.need(arg, (DATE,), "days_between() needs two dates")
            return NUMBER
        # min / max: all numbers or all dates
        seen: set[str] = set()
        for arg in node.args:
            seen.add(self.need(arg, (NUMBER, DATE), f"{name}() needs numbers or dates"))
        seen.discard(ANY)
        if len(seen) > 1:
            raise self.fail(node, f"{name}() cannot mix numbers and dates")
        return seen.pop() if seen else ANY


def parse_tree(text: str) -> Node:
    """Parse and check ``text``; return the root node or raise ``RuleSyntaxError``."""
    if not isinstance(text, str):
        raise TypeError(f"a rule is a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(
            f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}", MAX_LENGTH + 1, text
        )
    root = _Parser(text).parse()
    depth, deepest = _depth(root)
    if depth > MAX_DEPTH:
        column = deepest.span[0] + 1
        raise RuleSyntaxError(
            f"the expression has too many nested operations (more than {MAX_DEPTH}) at column {column}; "
            "split it into simpler rules",
            column,
            text,
        )
    checker = _Checker(text)
    kind = checker.type_of(root)
    if kind not in (BOOL, ANY):
        raise RuleSyntaxError(
            f"the expression must be a condition (true/false), not {_DESCRIBE[kind]}", root.span[0] + 1, text
        )
    return root
