"""Checks a protocol document beyond its shape: codes, references, expressions.

They run on the plain data read from the YAML file (dicts and lists), not on the
pydantic model, so that they still report their problems when the shape is wrong
somewhere else in the file: the author sees every problem at once. Each problem is
an :class:`Issue` whose ``loc`` is a path into the document (the same kind of path
pydantic reports), which the loader turns into a line and a column.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from trialdesk.protocol.concepts import CONCEPTS, FIELD_TYPES_OF_KIND
from trialdesk.protocol.crossrecord import BASELINE, PREVIOUS, QUALIFIERS, SUBJECT, SUBJECT_FIELDS
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
        if "repeating" in form:
            issues.append(
                Issue(
                    ("forms", form_index, "repeating"),
                    "'repeating' is not a setting of a form: the schedule decides which forms repeat "
                    "(list a log form in schedule.log_forms, or give a visit max_per_visit)",
                    at_key=True,
                )
            )

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
        visit_forms = {f for f in _list(visit.get("forms")) if isinstance(f, str)}
        for form_code in _dict(visit.get("max_per_visit")):
            if isinstance(form_code, str) and form_code not in visit_forms:
                issues.append(
                    Issue(
                        ("schedule", "visits", visit_index, "max_per_visit", form_code),
                        f"max_per_visit of visit {code!r} names form {form_code!r}, "
                        "which the visit does not collect (add it to its forms)",
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
    beyond = _Beyond(doc, forms)
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
                beyond=beyond,
            )

    issues += _check_concepts(doc, forms)
    issues += _check_ctcae_links(doc)
    issues += _check_safety(doc)
    return issues


# --------------------------------------------------------------------------- CTCAE term fields and safety

_CTCAE_LINK_TYPES = {
    "meddra_field": ("text",),
    "soc_field": ("text",),
    "grade_field": ("integer",),
    "specify_field": ("text",),
}


def _check_ctcae_links(doc: dict[str, Any]) -> list[Issue]:
    """The fields a ``ctcae_term`` field fills or checks exist on its form, of a fitting type."""
    issues: list[Issue] = []
    for form_index, form in _items(doc, "forms"):
        fields = {f.get("code"): f for _, f in _items(form, "fields")}
        for field_index, field in _items(form, "fields"):
            links = field.get("ctcae")
            if not isinstance(links, dict):
                continue
            for key, code in links.items():
                loc = ("forms", form_index, "fields", field_index, "ctcae", key)
                if key not in _CTCAE_LINK_TYPES or not isinstance(code, str):
                    continue  # the model reports it
                target = fields.get(code)
                if target is None:
                    issues.append(
                        Issue(
                            loc,
                            f"ctcae {key} names field {code!r}, which form {form.get('code')!r} does not have",
                        )
                    )
                elif target.get("type") not in _CTCAE_LINK_TYPES[key]:
                    issues.append(
                        Issue(
                            loc,
                            f"ctcae {key} field {code!r} must be of type {' or '.join(_CTCAE_LINK_TYPES[key])}",
                        )
                    )
    return issues


def _check_safety(doc: dict[str, Any]) -> list[Issue]:
    """The related causalities are choice concepts the protocol maps."""
    safety = doc.get("safety")
    if not isinstance(safety, dict):
        return []
    choices = _dict(_dict(doc.get("concepts")).get("choices"))
    return [
        Issue(
            ("safety", "related_causalities", i),
            f"related_causalities names {name!r}, not a choice concept of this protocol",
        )
        for i, name in enumerate(_list(safety.get("related_causalities")))
        if isinstance(name, str) and name not in choices
    ]


# --------------------------------------------------------------------------- clinical concepts

#: what each part of a protocol is called in a message about the concepts it needs
_NEEDERS = {
    "response_criteria": "the response criteria",
    "dose_rules": "the dose rules",
    "cardiac_hold": "the cardiac hold rule",
}


def _needers(doc: dict[str, Any]) -> dict[str, str]:
    """The parts of the document that need concepts, by the ``needed_by`` name of the catalogue."""
    present: dict[str, str] = {}
    if isinstance(doc.get("response_criteria"), dict):  # null in a skeleton: still to write
        present["response_criteria"] = _NEEDERS["response_criteria"]
    for _, intervention in _items(doc, "interventions"):
        rules = intervention.get("dose_rules")
        if isinstance(rules, dict):
            present["dose_rules"] = _NEEDERS["dose_rules"]
            if isinstance(rules.get("cardiac_hold"), dict):
                present["cardiac_hold"] = _NEEDERS["cardiac_hold"]
    for _, endpoint in _items(doc, "endpoints"):
        derivation = endpoint.get("derivation")
        if isinstance(derivation, str):
            present[derivation] = f"the endpoint {endpoint.get('code')!r} ({derivation})"
    return present


def _check_concepts(doc: dict[str, Any], forms: dict[str, dict[str, Any]]) -> list[Issue]:
    """Every concept names a field that exists, of a type its kind allows; every choice
    concept a value of a choice field; every concept a part of the protocol needs is mapped."""
    issues: list[Issue] = []
    concepts = doc.get("concepts")
    if concepts is not None and not isinstance(concepts, dict):
        return issues  # the shape is wrong: pydantic says so
    concepts = _dict(concepts)
    field_concepts = _dict(concepts.get("fields"))
    choice_concepts = _dict(concepts.get("choices"))

    def field_of(placement: Any, loc: Loc, name: str) -> dict[str, Any] | None:
        if not isinstance(placement, str) or placement.count(".") != 1:
            return None  # not form.field: the model reports it
        form_code, field_code = placement.split(".")
        form = forms.get(form_code)
        if form is None:
            issues.append(Issue(loc, f"concept {name!r} names an unknown form {form_code!r}{_known(forms)}"))
            return None
        fields = {f.get("code"): f for _, f in _items(form, "fields")}
        if field_code not in fields:
            close = difflib.get_close_matches(field_code, [c for c in fields if isinstance(c, str)], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            issues.append(
                Issue(
                    loc,
                    f"concept {name!r} names an undefined field {field_code!r} "
                    f"(form {form_code!r} has no such field){hint}",
                    len(form_code) + 1,
                )
            )
            return None
        return fields[field_code]

    for name, placements in field_concepts.items():
        key_loc: Loc = ("concepts", "fields", name)
        spec = CONCEPTS.get(name)
        if spec is None:
            issues.append(Issue(key_loc, _unknown_concept(name), at_key=True))
            continue
        if spec.kind == "choice":
            issues.append(
                Issue(
                    key_loc,
                    f"concept {name!r} is a choice concept ({spec.meaning}): "
                    "map it under concepts.choices to a field and a value",
                    at_key=True,
                )
            )
            continue
        seen_forms: dict[str, Loc] = {}
        for index, placement in enumerate(_list(placements)):
            loc = (*key_loc, index)
            field = field_of(placement, loc, name)
            if field is None:
                continue
            form_code = placement.split(".")[0]
            if form_code in seen_forms:
                issues.append(
                    Issue(
                        loc,
                        f"concept {name!r} is placed twice on form {form_code!r}",
                        first=seen_forms[form_code],
                    )
                )
            seen_forms.setdefault(form_code, loc)
            allowed = FIELD_TYPES_OF_KIND[spec.kind]
            if field.get("type") not in allowed:
                issues.append(
                    Issue(
                        loc,
                        f"concept {name!r} ({spec.meaning}) is a {spec.kind} value but field "
                        f"{placement!r} is of type {field.get('type')!r} (expected {' or '.join(allowed)})",
                        len(form_code) + 1,
                    )
                )

    for name, choice in choice_concepts.items():
        key_loc = ("concepts", "choices", name)
        spec = CONCEPTS.get(name)
        if spec is None:
            issues.append(Issue(key_loc, _unknown_concept(name), at_key=True))
            continue
        if spec.kind != "choice":
            issues.append(
                Issue(
                    key_loc,
                    f"concept {name!r} is a {spec.kind} value ({spec.meaning}), not a choice: "
                    "map it under concepts.fields",
                    at_key=True,
                )
            )
            continue
        if not isinstance(choice, dict):
            continue
        placement = choice.get("field")
        field = field_of(placement, (*key_loc, "field"), name)
        if field is None:
            continue
        if field.get("type") != "choice":
            issues.append(
                Issue(
                    (*key_loc, "field"),
                    f"choice concept {name!r} names field {placement!r} of type {field.get('type')!r}, "
                    "not a choice field",
                    len(str(placement).split(".")[0]) + 1,
                )
            )
            continue
        values = [str(_dict(c).get("value")) for c in _list(field.get("choices"))]
        value = choice.get("value")
        if value is not None and str(value) not in values:
            issues.append(
                Issue(
                    (*key_loc, "value"),
                    f"choice concept {name!r}: {value!r} is not a choice of {placement!r} ({', '.join(values)})",
                )
            )

    needers = _needers(doc)
    mapped = set(field_concepts) | set(choice_concepts)
    missing: dict[str, list[str]] = {}
    for spec in CONCEPTS.values():
        if spec.needed_by in needers and spec.name not in mapped:
            missing.setdefault(spec.needed_by, []).append(spec.name)
    for needer, names in missing.items():
        if "concepts" not in doc:
            loc: Loc = ()
            where = "the protocol has no concepts section"
        else:
            kinds = {CONCEPTS[n].kind == "choice" for n in names}
            section = "choices" if kinds == {True} else "fields"
            loc = ("concepts", section) if section in concepts else ("concepts",)
            where = "concepts does not map"
        issues.append(
            Issue(
                loc,
                f"{where} {', '.join(repr(n) for n in names)}: {needers[needer]} "
                f"{'needs it' if len(names) == 1 else 'need them'}",
                at_key=bool(loc) and loc[-1] in concepts,
            )
        )
    return issues


def _unknown_concept(name: str) -> str:
    close = difflib.get_close_matches(name, list(CONCEPTS), n=1)
    hint = (
        f" (did you mean {close[0]!r}?)" if close else " (trialdesk.protocol.concepts lists the known ones)"
    )
    return f"unknown clinical concept {name!r}{hint}"


def _known(forms: dict[str, Any]) -> str:
    return f" (forms: {', '.join(sorted(forms))})" if forms else ""


class _Beyond:
    """What the qualified names of an edit check (``previous.``, ``subject.``, ``baseline.``)
    may read in this document (see :mod:`trialdesk.protocol.crossrecord`)."""

    def __init__(self, doc: dict[str, Any], forms: dict[str, dict[str, Any]]):
        self.forms = forms
        schedule = _dict(doc.get("schedule"))
        self.log_forms = {c for c in _list(schedule.get("log_forms")) if isinstance(c, str)}
        self.baseline: dict[str, dict[str, Any]] = {}
        visits = [
            v
            for _, v in _items(schedule, "visits")
            if v.get("anchor", "first_dose") == "first_dose"
            and isinstance(v.get("day"), int)
            and v["day"] <= 0
            and not v.get("repeat")
        ]
        for visit in sorted(visits, key=lambda v: -v["day"]):
            for code in _list(visit.get("forms")):
                for _, field in _items(forms.get(code) if isinstance(code, str) else None, "fields"):
                    if isinstance(field.get("code"), str):
                        self.baseline.setdefault(field["code"], field)
        fields = _dict(_dict(doc.get("concepts")).get("fields"))
        self.dated: set[str] = set()
        for name, placements in fields.items():
            spec = CONCEPTS.get(name)
            if spec is None or spec.kind != "date":
                continue
            for placement in _list(placements):
                if isinstance(placement, str) and "." in placement:
                    self.dated.add(placement.split(".")[0])

    def resolve(self, name: str, form: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """The field definition a qualified name reads, or why the name is refused."""
        qualifier, field_code = name.split(".", 1)
        form_code = form.get("code")
        if qualifier == PREVIOUS:
            if form_code not in self.log_forms:
                return None, (
                    f"reads {name!r}, but 'previous.' reads the previous record of a log form "
                    f"and form {form_code!r} is not in schedule.log_forms"
                )
            own = {f.get("code"): f for _, f in _items(form, "fields")}
            if field_code not in own:
                return None, f"names {name!r}: form {form_code!r} has no field {field_code!r}"
            if form_code not in self.dated:
                return None, (
                    f"reads {name!r}, but form {form_code!r} has no date concept in concepts.fields "
                    "to order its records by"
                )
            return own[field_code], None
        if qualifier == SUBJECT:
            if field_code not in SUBJECT_FIELDS:
                known = ", ".join(f"subject.{n}" for n in SUBJECT_FIELDS)
                return None, f"names {name!r}, which the subject does not have (known: {known})"
            return {"code": name, "type": SUBJECT_FIELDS[field_code]}, None
        if qualifier == BASELINE:
            if field_code not in self.baseline:
                return None, (
                    f"names {name!r}: no baseline form (the screening and day-1 visits) has a field "
                    f"{field_code!r}"
                )
            return self.baseline[field_code], None
        known = ", ".join(f"{q}." for q in QUALIFIERS)
        return None, f"names {name!r} with an unknown qualifier {qualifier!r} (known: {known})"


def _check_expression(
    text: Any,
    loc: Loc,
    what: str,
    form: dict[str, Any],
    *,
    beyond: _Beyond | None = None,
) -> list[Issue]:
    """``beyond``: the expression is an edit check, which may read qualified names."""
    if not isinstance(text, str) or not text.strip():
        return []
    fields = {f.get("code"): f for _, f in _items(form, "fields") if isinstance(f.get("code"), str)}
    try:
        parsed = parse(text)
    except RuleSyntaxError as exc:
        return [Issue(loc, f"{what} does not parse: {exc.message}", max(exc.column - 1, 0))]

    issues: list[Issue] = []
    reported: set[str] = set()
    # Names first (a comparison is visited before its operands, and reads their definitions).
    tree = sorted(walk(parsed.node), key=lambda n: not isinstance(n, nodes.Field))
    for node in tree:
        if isinstance(node, nodes.Field) and "." in node.name and node.name not in reported:
            reported.add(node.name)
            if beyond is None:
                issues.append(
                    Issue(
                        loc,
                        f"{what} names {node.name!r}: only edit checks read beyond their record",
                        node.span[0],
                    )
                )
                continue
            definition, refusal = beyond.resolve(node.name, form)
            if refusal is not None:
                issues.append(Issue(loc, f"{what} {refusal}", node.span[0]))
            else:
                fields[node.name] = definition
        elif isinstance(node, nodes.Field) and node.name not in fields and node.name not in reported:
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
