"""Checks a protocol document beyond its shape: codes, references, expressions.

They run on the plain data read from the YAML file (dicts and lists), not on the
pydantic model, so that they still report their problems when the shape is wrong
somewhere else in the file: the author sees every problem at once. Each problem is
an :class:`Issue` whose ``loc`` is a path into the document (the same kind of path
pydantic reports), which the loader turns into a line and a column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Issue", "check_document", "tokenize"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    loc: Loc
    message: str
    #: 0-based offset of the problem inside the scalar at ``loc`` (an expression)
    offset: int | None = None
    #: point at the key named by the last part of ``loc`` rather than at its value
    at_key: bool = False


# --------------------------------------------------------------------------- expression tokens
#
# The expression language belongs to trialdesk.rules, which parses and evaluates it.
# The validator also needs to see *where* in an expression a name or a literal sits
# (to report a column) and which operands a comparison puts side by side; a light
# tokenizer is enough for that and does not depend on the parser's internals.

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|&&|\|\||[-+*/%<>=!(),\[\]])
  | (?P<other>.)
    """,
    re.VERBOSE,
)

_BOOLEAN_WORDS = {"and", "or", "not", "&&", "||", "!"}
_COMPARISONS = {"==", "!=", "<>", "<", "<=", ">", ">=", "=", "in"}
_KEYWORDS = {"and", "or", "not", "in", "true", "false", "null", "none", "is"}


@dataclass(frozen=True)
class Token:
    kind: str  # string, number, name, op, other
    text: str
    offset: int

    @property
    def string_value(self) -> str:
        body = self.text[1:-1]
        return re.sub(r"\\(.)", r"\1", body)


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind == "space":
            continue
        tokens.append(Token(kind, match.group(), match.start()))
    return tokens


def _field_tokens(tokens: list[Token]) -> Iterator[Token]:
    """Names that are operands (not function names, not keywords)."""
    for index, token in enumerate(tokens):
        if token.kind != "name" or token.text.lower() in _KEYWORDS:
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and following.text == "(":
            continue
        yield token


def _segments(tokens: list[Token]) -> list[list[Token]]:
    """The expression cut at its boolean connectives: each piece is one comparison
    (parentheses dropped; good enough to see which operands meet)."""
    segments: list[list[Token]] = [[]]
    for token in tokens:
        if token.text.lower() in _BOOLEAN_WORDS and token.kind in ("name", "op"):
            segments.append([])
        elif token.text in ("(", ")"):
            continue
        else:
            segments[-1].append(token)
    return [segment for segment in segments if segment]


# --------------------------------------------------------------------------- helpers on raw data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(container: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, item in enumerate(_list(_dict(container).get(key))):
        if isinstance(item, dict):
            yield index, item


def _duplicates(items: list[tuple[Loc, Any]], what: str, where: str = "") -> Iterator[Issue]:
    seen: dict[Any, Loc] = {}
    for loc, code in items:
        if not isinstance(code, str | int) or isinstance(code, bool):
            continue
        if code in seen:
            yield Issue(loc, f"duplicate {what} {code!r}{where} (already defined above)")
        else:
            seen[code] = loc


# --------------------------------------------------------------------------- the checks


def check_document(
    data: Any, parse: Any | None = None, syntax_error: type[Exception] | None = None
) -> list[Issue]:
    """Every problem of codes, references and expressions in a protocol document.

    ``parse``/``syntax_error`` are the expression parser and its error
    (``trialdesk.rules.parse``, ``RuleSyntaxError``), injected by the loader.
    """
    doc = _dict(data)
    issues: list[Issue] = []

    # unique codes -------------------------------------------------------------------
    issues += _duplicates(
        [(("sites", i, "code"), s.get("code")) for i, s in _items(doc, "sites")], "site code"
    )
    issues += _duplicates([(("arms", i, "code"), a.get("code")) for i, a in _items(doc, "arms")], "arm code")
    issues += _duplicates(
        [(("interventions", i, "name"), x.get("name")) for i, x in _items(doc, "interventions")],
        "intervention name",
    )
    issues += _duplicates(
        [(("forms", i, "code"), f.get("code")) for i, f in _items(doc, "forms")], "form code"
    )
    issues += _duplicates(
        [(("endpoints", i, "code"), e.get("code")) for i, e in _items(doc, "endpoints")], "endpoint code"
    )
    identification = _dict(doc.get("identification"))
    issues += _duplicates(
        [
            (("identification", "decisions", i, "code"), d.get("code"))
            for i, d in _items(identification, "decisions")
        ],
        "decision code",
    )
    eligibility = _dict(doc.get("eligibility"))
    issues += _duplicates(
        [(("eligibility", "criteria", i, "code"), c.get("code")) for i, c in _items(eligibility, "criteria")],
        "criterion code",
    )

    forms: dict[str, dict[str, Any]] = {}
    for form_index, form in _items(doc, "forms"):
        code = form.get("code")
        where = f" in form {code!r}" if isinstance(code, str) else ""
        issues += _duplicates(
            [(("forms", form_index, "fields", i, "code"), f.get("code")) for i, f in _items(form, "fields")],
            "field code",
            where,
        )
        issues += _duplicates(
            [
                (("forms", form_index, "edit_checks", i, "code"), c.get("code"))
                for i, c in _items(form, "edit_checks")
            ],
            "edit check code",
            where,
        )
        if isinstance(code, str) and code not in forms:
            forms[code] = form

    # schedule ----------------------------------------------------------------------
    schedule = _dict(doc.get("schedule"))
    used_forms: set[str] = set()
    visit_codes: list[tuple[Loc, Any]] = []
    for visit_index, visit in _items(schedule, "visits"):
        code = visit.get("code")
        loc = ("schedule", "visits", visit_index, "code")
        repeat = _dict(visit.get("repeat"))
        count = repeat.get("count")
        if isinstance(code, str) and isinstance(count, int) and not isinstance(count, bool) and count > 0:
            visit_codes += [(loc, f"{code}{n}") for n in range(1, count + 1)]
        else:
            visit_codes.append((loc, code))
        for key in ("number", "series"):
            if key in visit:
                issues.append(
                    Issue(
                        ("schedule", "visits", visit_index, key),
                        f"'{key}' is set by the expansion of repeats, not in the file",
                        at_key=True,
                    )
                )
        for form_index, form_code in enumerate(_list(visit.get("forms"))):
            if not isinstance(form_code, str):
                continue
            used_forms.add(form_code)
            if form_code not in forms:
                issues.append(
                    Issue(
                        ("schedule", "visits", visit_index, "forms", form_index),
                        f"visit {code!r} names an unknown form {form_code!r}{_known(forms)}",
                    )
                )
    issues += _duplicates(visit_codes, "visit code")
    for index, form_code in enumerate(_list(schedule.get("log_forms"))):
        if not isinstance(form_code, str):
            continue
        used_forms.add(form_code)
        if form_code not in forms:
            issues.append(
                Issue(
                    ("schedule", "log_forms", index),
                    f"log_forms names an unknown form {form_code!r}{_known(forms)}",
                )
            )
    if schedule:
        for form_index, form in _items(doc, "forms"):
            code = form.get("code")
            if isinstance(code, str) and code not in used_forms:
                issues.append(
                    Issue(
                        ("forms", form_index, "code"),
                        f"form {code!r} is in no visit and not in schedule.log_forms: nobody could fill it",
                    )
                )

    # arms -> interventions ------------------------------------------------------------
    intervention_names = {x.get("name") for _, x in _items(doc, "interventions")}
    for arm_index, arm in _items(doc, "arms"):
        for index, name in enumerate(_list(arm.get("interventions"))):
            if isinstance(name, str) and name not in intervention_names:
                issues.append(
                    Issue(
                        ("arms", arm_index, "interventions", index),
                        f"arm {arm.get('code')!r} names an unknown intervention {name!r}",
                    )
                )

    # expressions ----------------------------------------------------------------------
    screening_code = eligibility.get("form")
    screening = forms.get(screening_code) if isinstance(screening_code, str) else None
    if isinstance(screening_code, str) and screening is None:
        issues.append(
            Issue(
                ("eligibility", "form"),
                f"eligibility names an unknown form {screening_code!r}{_known(forms)}",
            )
        )
    for index, criterion in _items(eligibility, "criteria"):
        if screening is not None:
            issues += _check_expression(
                criterion.get("rule"),
                ("eligibility", "criteria", index, "rule"),
                f"rule of criterion {criterion.get('code')!r}",
                screening,
                parse,
                syntax_error,
            )
    for form_index, form in _items(doc, "forms"):
        for field_index, field in _items(form, "fields"):
            issues += _check_expression(
                field.get("condition"),
                ("forms", form_index, "fields", field_index, "condition"),
                f"condition of field {field.get('code')!r}",
                form,
                parse,
                syntax_error,
            )
        for check_index, check in _items(form, "edit_checks"):
            issues += _check_expression(
                check.get("rule"),
                ("forms", form_index, "edit_checks", check_index, "rule"),
                f"rule of edit check {check.get('code')!r}",
                form,
                parse,
                syntax_error,
            )
    return issues


def _known(forms: dict[str, Any]) -> str:
    return f" (forms: {', '.join(sorted(forms))})" if forms else ""


def _check_expression(
    text: Any,
    loc: Loc,
    what: str,
    form: dict[str, Any],
    parse: Any | None,
    syntax_error: type[Exception] | None,
) -> list[Issue]:
    if not isinstance(text, str) or not text.strip():
        return []
    fields = {f.get("code"): f for _, f in _items(form, "fields") if isinstance(f.get("code"), str)}
    form_name = form.get("code")
    tokens = tokenize(text)
    issues: list[Issue] = []

    names: set[str] | None = None
    if parse is not None:
        try:
            parsed = parse(text)
        except Exception as exc:  # noqa: BLE001 - only the parser's syntax error is expected
            if syntax_error is None or not isinstance(exc, syntax_error):
                raise
            message = getattr(exc, "message", None) or str(exc)
            column = getattr(exc, "column", None)
            offset = max(column - 1, 0) if isinstance(column, int) else None
            return [Issue(loc, f"{what} does not parse: {message}", offset)]
        names = set(parsed.fields)
    else:
        names = {token.text for token in _field_tokens(tokens)}

    for name in sorted(names - set(fields)):
        offset = next((t.offset for t in _field_tokens(tokens) if t.text == name), None)
        issues.append(
            Issue(
                loc,
                f"{what} names an undefined field {name!r} (form {form_name!r} has no such field)",
                offset,
            )
        )

    for segment in _segments(tokens):
        issues += _check_choices(segment, fields, loc, what)
        issues += _check_uln(segment, fields, loc, what)
    return issues


def _check_choices(
    segment: list[Token], fields: dict[str, dict[str, Any]], loc: Loc, what: str
) -> list[Issue]:
    """A choice field compared with a value that is not among its choices."""
    issues: list[Issue] = []

    def choice_values(token: Token) -> list[str] | None:
        field = fields.get(token.text) if token.kind == "name" else None
        if field is None or field.get("type") != "choice":
            return None
        return [str(_dict(c).get("value")) for c in _list(field.get("choices"))]

    def check(field_token: Token, literal: Token) -> None:
        values = choice_values(field_token)
        if values is None or literal.kind != "string":
            return
        if literal.string_value not in values:
            issues.append(
                Issue(
                    loc,
                    f"{what} compares choice field {field_token.text!r} with {literal.string_value!r}, "
                    f"which is not one of its choices ({', '.join(values)})",
                    literal.offset,
                )
            )

    for index, token in enumerate(segment):
        if token.text not in ("==", "!=", "<>", "=", "in"):
            continue
        left = segment[index - 1] if index > 0 else None
        if token.text == "in":
            if left is not None and left.text.lower() == "not" and index > 1:
                left = segment[index - 2]
            if left is None:
                continue
            for literal in segment[index + 1 :]:
                if literal.text in (")", "]"):
                    break
                check(left, literal)
            continue
        right = segment[index + 1] if index + 1 < len(segment) else None
        if left is None or right is None:
            continue
        check(left, right)
        check(right, left)
    return issues


def _check_uln(segment: list[Token], fields: dict[str, dict[str, Any]], loc: Loc, what: str) -> list[Issue]:
    """A lab value compared with an upper limit of normal (``<x>_uln``) needs both units."""
    if not any(t.text in _COMPARISONS for t in segment if t.kind in ("op", "name")):
        return []
    operands = [t for t in _field_tokens(segment) if t.text in fields]
    ulns = [t for t in operands if t.text.endswith("_uln")]
    others = [t for t in operands if not t.text.endswith("_uln")]
    issues: list[Issue] = []
    for uln in ulns:
        for value in others:
            value_unit = fields[value.text].get("unit")
            uln_unit = fields[uln.text].get("unit")
            if not value_unit or not uln_unit:
                missing = [t.text for t, unit in ((value, value_unit), (uln, uln_unit)) if not unit]
                issues.append(
                    Issue(
                        loc,
                        f"{what} compares {value.text!r} with the upper limit of normal {uln.text!r} "
                        f"but {' and '.join(repr(m) for m in missing)} {'has' if len(missing) == 1 else 'have'} no unit",
                        (value if not value_unit else uln).offset,
                    )
                )
            elif value_unit != uln_unit:
                issues.append(
                    Issue(
                        loc,
                        f"{what} compares {value.text!r} ({value_unit}) with the upper limit of normal "
                        f"{uln.text!r} ({uln_unit}): the units differ",
                        value.offset,
                    )
                )
    return issues
