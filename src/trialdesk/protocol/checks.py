"""Checks a protocol document beyond its shape: codes, references, expressions.

They run on the plain data read from the YAML file (dicts and lists), not on the
pydantic model, so that they still report their problems when the shape is wrong
somewhere else in the file: the author sees every problem at once. Each problem is
an :class:`Issue` whose ``loc`` is a path into the document (the same kind of path
pydantic reports), which the loader turns into a line and a column.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trialdesk.rules import RuleSyntaxError, nodes, parse
from trialdesk.rules.nodes import walk

__all__ = ["Issue", "check_document"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    loc: Loc
    message: str
    #: 0-based offset of the problem inside the scalar at ``loc`` (an expression)
    offset: int | None = None
    #: point at the key named by the last part of ``loc`` rather than at its value
    at_key: bool = False
    #: another place the message refers to ("first defined at line N")
    first: Loc | None = None


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
            yield Issue(loc, f"duplicate {what} {code!r}{where}", first=seen[code])
        else:
            seen[code] = loc


# --------------------------------------------------------------------------- the checks


def check_document(data: Any) -> list[Issue]:
    """Every problem of codes, references and expressions in a protocol document."""
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
            )
    for form_index, form in _items(doc, "forms"):
        for field_index, field in _items(form, "fields"):
            issues += _check_expression(
                field.get("condition"),
                ("forms", form_index, "fields", field_index, "condition"),
                f"condition of field {field.get('code')!r}",
                form,
            )
        for check_index, check in _items(form, "edit_checks"):
            issues += _check_expression(
                check.get("rule"),
                ("forms", form_index, "edit_checks", check_index, "rule"),
                f"rule of edit check {check.get('code')!r}",
                form,
            )
    return issues


def _known(forms: dict[str, Any]) -> str:
    return f" (forms: {', '.join(sorted(forms))})" if forms else ""


def _check_expression(
    text: Any,
    loc: Loc,
    what: str,
    form: dict[str, Any],
) -> list[Issue]:
    if not isinstance(text, str) or not text.strip():
        return []
    fields = {f.get("code"): f for _, f in _items(form, "fields") if isinstance(f.get("code"), str)}
    try:
        parsed = parse(text)
    except RuleSyntaxError as exc:
        return [Issue(loc, f"{what} does not parse: {exc.message}", max(exc.column - 1, 0))]

    issues: list[Issue] = []
    reported: set[str] = set()
    for node in walk(parsed.node):
        if isinstance(node, nodes.Field) and node.name not in fields and node.name not in reported:
            reported.add(node.name)
            issues.append(
                Issue(
                    loc,
                    f"{what} names an undefined field {node.name!r} (form {form.get('code')!r} has no such field)",
                    node.span[0],
                )
            )
        elif isinstance(node, nodes.Compare):
            if node.op in ("==", "!="):
                issues += _check_literal(node.left, node.right, fields, loc, what)
                issues += _check_literal(node.right, node.left, fields, loc, what)
            issues += _check_uln(node, fields, loc, what)
        elif isinstance(node, nodes.Membership):
            for option in node.options:
                issues += _check_literal(node.item, option, fields, loc, what)
        elif isinstance(node, nodes.Call) and node.name == "days_between":
            for argument in node.args:
                field = fields.get(argument.name) if isinstance(argument, nodes.Field) else None
                if field is not None and field.get("type") != "date":
                    issues.append(
                        Issue(
                            loc,
                            f"{what} passes {field.get('type')} field {argument.name!r} to days_between(), "
                            "which takes dates",
                            argument.span[0],
                        )
                    )
    return issues


_LITERAL_KINDS = {
    "integer": ("number",),
    "decimal": ("number",),
    "boolean": ("bool",),
    "date": ("date",),
    "text": ("string",),
    "choice": ("string",),
}


def _check_literal(
    operand: Any, literal: Any, fields: dict[str, dict[str, Any]], loc: Loc, what: str
) -> list[Issue]:
    """A field compared with a constant: the constant must be one of its choices, of its type."""
    if not isinstance(operand, nodes.Field) or not isinstance(literal, nodes.Literal):
        return []
    field = fields.get(operand.name)
    if field is None or literal.kind == "null":
        return []
    kind = field.get("type")
    if kind == "choice" and literal.kind == "string":
        values = [str(_dict(c).get("value")) for c in _list(field.get("choices"))]
        if literal.value not in values:
            return [
                Issue(
                    loc,
                    f"{what} compares choice field {operand.name!r} with {literal.value!r}, "
                    f"which is not one of its choices ({', '.join(values)})",
                    literal.span[0],
                )
            ]
        return []
    expected = _LITERAL_KINDS.get(kind) if isinstance(kind, str) else None
    if expected and literal.kind not in expected:
        return [
            Issue(
                loc,
                f"{what} compares {kind} field {operand.name!r} with a {literal.kind} constant",
                literal.span[0],
            )
        ]
    return []


def _fields_in(node: Any) -> list[Any]:
    return [n for n in walk(node) if isinstance(n, nodes.Field)]


def _check_uln(node: Any, fields: dict[str, dict[str, Any]], loc: Loc, what: str) -> list[Issue]:
    """A value compared with an upper limit of normal (a ``<x>_uln`` field): both need a unit, the same."""
    issues: list[Issue] = []
    for side, other in ((node.left, node.right), (node.right, node.left)):
        ulns = [f for f in _fields_in(side) if f.name.endswith("_uln") and f.name in fields]
        values = [f for f in _fields_in(other) if not f.name.endswith("_uln") and f.name in fields]
        for uln in ulns:
            for value in values:
                value_unit = fields[value.name].get("unit")
                uln_unit = fields[uln.name].get("unit")
                if not value_unit or not uln_unit:
                    missing = [f.name for f, unit in ((value, value_unit), (uln, uln_unit)) if not unit]
                    issues.append(
                        Issue(
                            loc,
                            f"{what} compares {value.name!r} with the upper limit of normal {uln.name!r} "
                            f"but {' and '.join(repr(m) for m in missing)} "
                            f"{'has' if len(missing) == 1 else 'have'} no unit",
                            (value if not value_unit else uln).span[0],
                        )
                    )
                elif value_unit != uln_unit:
                    issues.append(
                        Issue(
                            loc,
                            f"{what} compares {value.name!r} ({value_unit}) with the upper limit of normal "
                            f"{uln.name!r} ({uln_unit}): the units differ",
                            value.span[0],
                        )
                    )
    return issues
