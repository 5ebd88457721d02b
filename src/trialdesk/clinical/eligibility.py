"""Eligibility of a screened subject against the protocol's criteria (pure).

Each criterion's ``rule`` states what must hold for the subject to be eligible
under it; it is evaluated with three-valued logic:

- TRUE → the criterion is **met**, FALSE → **not met**, UNKNOWN → **unknown**
  (a value is missing, too old, or unusable);
- any criterion not met → ``not_eligible``; otherwise any unknown →
  ``not_assessable`` (never eligible on missing data); otherwise ``eligible``.

Every criterion carries an explanation a clinician reads at a glance, built
generically from the comparison traces of the rule and the fields' labels and
units ("ALT 310 U/L = 7.8 × ULN, above 5 × ULN (200 U/L)", "Bone marrow blasts
18 %, not above 20 %", "AST missing"). Nothing here knows a particular trial.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from trialdesk.rules import ComparisonTrace, Tri, parse, render
from trialdesk.rules.nodes import Arith, Compare, Field, Membership, Node
from trialdesk.rules.nodes import Literal as LiteralNode

__all__ = [
    "CriterionResult",
    "ENGLISH",
    "EligibilityResult",
    "ScreeningInput",
    "ScreeningInputError",
    "Wording",
    "assess_eligibility",
    "coerce_screening_input",
    "coerce_screening_values",
]

Status = Literal["met", "not_met", "unknown"]
Verdict = Literal["eligible", "not_eligible", "not_assessable"]

_STATUS: dict[Tri, Status] = {Tri.TRUE: "met", Tri.FALSE: "not_met", Tri.UNKNOWN: "unknown"}

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CriterionResult:
    code: str
    kind: str  # "inclusion" | "exclusion"
    text: str  # the registry wording
    status: Status
    explanation: str
    missing_fields: tuple[str, ...] = ()  # read by the rule, without a usable value (absent, None, too old)
    rule: str = ""
    source: str = ""  # "registry" | "operational"
    comparisons: tuple[ComparisonTrace, ...] = field(default=(), compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "text": self.text, "status": self.status, "explanation": self.explanation}


@dataclass(frozen=True)
class EligibilityResult:
    verdict: Verdict
    criteria: list[CriterionResult]
    #: values left out because they were measured before the window (field code → date)
    stale: dict[str, dt.date] = field(default_factory=dict)

    @property
    def not_met(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.status == "not_met"]

    @property
    def unknown(self) -> list[CriterionResult]:
        return [c for c in self.criteria if c.status == "unknown"]

    @property
    def missing(self) -> list[str]:
        """Every field the criteria read that has no usable value, in order of first use."""
        seen: dict[str, None] = {}
        for criterion in self.criteria:
            for code in criterion.missing_fields:
                seen.setdefault(code, None)
        return list(seen)

    @property
    def eligible(self) -> bool:
        return self.verdict == "eligible"

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "criteria": [c.to_dict() for c in self.criteria]}


# --------------------------------------------------------------------------- assessment


def assess_eligibility(
    protocol: Any,
    values: Mapping[str, Any],
    value_dates: Mapping[str, dt.date] | None = None,
    as_of: dt.date | None = None,
    wording: Wording | None = None,
) -> EligibilityResult:
    """Assess every eligibility criterion of ``protocol`` on typed ``values``.

    ``value_dates`` gives the date each value was measured; with ``as_of`` (the
    reference day, e.g. the planned first dose) a value measured more than
    ``protocol.eligibility.window_days`` before it counts as missing. Without
    ``as_of`` no value is considered too old. ``wording``: the language of the explanations.
    """
    eligibility = protocol.eligibility
    window = int(eligibility.window_days)
    stale: dict[str, dt.date] = {}
    if as_of is not None and value_dates:
        for code, measured in value_dates.items():
            if measured is not None and (as_of - measured).days > window:
                stale[code] = measured
    usable = {code: value for code, value in values.items() if code not in stale}
    wording = wording or ENGLISH
    book = _FieldBook(protocol, wording.label_attribute)
    describer = _Describer(book, usable, stale, window, wording)

    results = [_assess_criterion(criterion, usable, describer) for criterion in eligibility.criteria]
    if any(r.status == "not_met" for r in results):
        verdict: Verdict = "not_eligible"
    elif any(r.status == "unknown" for r in results):
        verdict = "not_assessable"
    else:
        verdict = "eligible"
    return EligibilityResult(verdict, results, stale)


def _assess_criterion(criterion: Any, values: Mapping[str, Any], describer: _Describer) -> CriterionResult:
    expression = parse(criterion.rule)
    evaluation = expression.explain(values)
    status = _STATUS[evaluation.result]
    missing = describer.book.ordered(
        code for code in expression.fields if values.get(code) is None or code in describer.stale
    )
    explanation = describer.explain(status, evaluation.comparisons, expression.fields, missing)
    return CriterionResult(
        code=criterion.code,
        kind=criterion.kind,
        text=criterion.text,
        status=status,
        explanation=explanation,
        missing_fields=tuple(missing),
        rule=criterion.rule,
        source=getattr(criterion, "source", ""),
        comparisons=tuple(evaluation.comparisons),
    )


# --------------------------------------------------------------------------- field definitions


class _FieldBook:
    """Field definitions by code: the eligibility form first, then every other form."""

    def __init__(self, protocol: Any, label_attribute: str = "label"):
        self.label_attribute = label_attribute
        self.fields: dict[str, Any] = {}
        self.order: dict[str, int] = {}
        forms = list(getattr(protocol, "forms", []))
        first = getattr(protocol.eligibility, "form", None)
        forms.sort(key=lambda f: 0 if f.code == first else 1)
        for form in forms:
            for definition in form.fields:
                if definition.code not in self.fields:
                    self.order[definition.code] = len(self.order)
                    self.fields[definition.code] = definition

    def get(self, code: str) -> Any | None:
        return self.fields.get(code)

    def label(self, code: str) -> str:
        definition = self.fields.get(code)
        if definition is None:
            return code
        return getattr(definition, self.label_attribute, None) or definition.label

    def choice_label(self, choice: Any) -> str:
        return getattr(choice, self.label_attribute, None) or choice.label

    def unit(self, code: str) -> str | None:
        definition = self.fields.get(code)
        if definition is None:
            return None
        unit_attribute = self.label_attribute.replace("label", "unit")  # label_fr -> unit_fr
        return getattr(definition, unit_attribute, None) or getattr(definition, "unit", None)

    def ordered(self, codes: Iterable[str]) -> list[str]:
        return sorted(set(codes), key=lambda c: (self.order.get(c, len(self.order)), c))


# --------------------------------------------------------------------------- explanations

# (operator, comparison held) → how the left value stands against the right one
_RELATION = {
    (">=", True): "at least",
    (">=", False): "below",
    (">", True): "above",
    (">", False): "not above",
    ("<=", True): "at most",
    ("<=", False): "above",
    ("<", True): "below",
    ("<", False): "not below",
    ("==", True): "equal to",
    ("==", False): "not equal to",
    ("!=", True): "not equal to",
    ("!=", False): "equal to",
}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Wording:
    """The words of the explanations, English here. The shell passes them translated into its
    user's language (each template is a msgid of its catalogue) with the protocol's labels in
    that language (``label_attribute``: ``label_fr``, falling back to ``label``). Placeholders
    are ``str.format`` names; a translation keeps them."""

    missing: str = "missing"
    yes: str = "yes"
    no: str = "no"
    field_missing: str = "{label} missing"
    too_old: str = "{label} measured {date}, older than the {days}-day screening window"
    undecidable: str = "cannot be decided from the values given"
    one_of: str = "one of {options}"
    not_among: str = "{subject}: {value}, not {listed}"
    excluded: str = "{subject}: {value}, which is excluded"
    stated: str = "{subject}: {value}"
    stated_not: str = "{subject}: {value}, not {other}"
    compared: str = "{subject} {value}, {relation} {limit}"
    uln: str = "the ULN"
    times_uln: str = "{factor} × ULN"
    at_uln: str = "{value} = {ratio} × ULN"
    at_least: str = "at least"
    below: str = "below"
    above: str = "above"
    not_above: str = "not above"
    at_most: str = "at most"
    not_below: str = "not below"
    equal_to: str = "equal to"
    not_equal_to: str = "not equal to"
    label_attribute: str = "label"

    def templates(self) -> dict[str, str]:
        """Every template by name (what a translation must cover)."""
        return {name: value for name, value in self.__dict__.items() if name != "label_attribute"}

    def relation(self, op: str, held: bool) -> str:
        return getattr(self, _RELATION[(op, held)].replace(" ", "_"))


ENGLISH = Wording()


def format_number(value: Any) -> str:
    """12, 20.1, 0.5 — no trailing zeros, no exponent."""
    try:
        number = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else value)
        )
        if not number.is_finite():
            return str(value)
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


class _Describer:
    def __init__(
        self,
        book: _FieldBook,
        values: Mapping[str, Any],
        stale: Mapping[str, dt.date],
        window: int,
        wording: Wording = ENGLISH,
    ):
        self.words = wording
        self.book = book
        self.values = values
        self.stale = stale
        self.window = window

    # -- values as a clinician reads them ----------------------------------------------------
    def show(self, value: Any, code: str | None = None, with_unit: bool = True) -> str:
        definition = self.book.get(code) if code else None
        if value is None:
            return self.words.missing
        if isinstance(value, bool):
            return self.words.yes if value else self.words.no
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str):
            if definition is not None and getattr(definition, "choices", None):
                for choice in definition.choices:
                    if choice.value == value:
                        return self.book.choice_label(choice)
            return f"'{value}'"
        if isinstance(value, int | float | Decimal):
            text = format_number(value)
            unit = self.book.unit(code) if (code and with_unit) else None
            return f"{text} {unit}" if unit else text
        return str(value)

    def absent(self, code: str) -> str:
        label = self.book.label(code)
        if code in self.stale:
            return self.words.too_old.format(label=label, date=self.stale[code].isoformat(), days=self.window)
        return self.words.field_missing.format(label=label)

    # -- one criterion -----------------------------------------------------------------------
    def explain(
        self, status: Status, traces: list[ComparisonTrace], fields: frozenset[str], missing: list[str]
    ) -> str:
        phrases: list[str] = []
        if status == "unknown":
            unknown = [t for t in traces if t.result is Tri.UNKNOWN]
            absent = self.book.ordered(code for t in unknown for code in t.missing_fields)
            if not traces:
                absent = list(missing)
            phrases.extend(self.absent(code) for code in absent)
            for trace in unknown:
                if trace.error and not trace.missing_fields:
                    phrases.append(f"{self.subject(trace)}: {trace.error}")
            if not phrases:
                phrases.extend(self.absent(code) for code in missing)
            if not phrases:
                phrases.append(self.words.undecidable)
        else:
            wanted = Tri.TRUE if status == "met" else Tri.FALSE
            chosen = [t for t in traces if t.result is wanted] or list(traces)
            phrases.extend(self.phrase(t) for t in chosen)
            if not traces:  # a bare true/false field or present(x): state the values
                phrases.extend(
                    self.words.stated.format(
                        subject=self.book.label(code), value=self.show(self.values.get(code), code)
                    )
                    for code in self.book.ordered(fields)
                )
        return "; ".join(dict.fromkeys(p for p in phrases if p))

    def subject(self, trace: ComparisonTrace) -> str:
        node = trace.node
        if isinstance(node, Compare | Membership):
            side = node.left if isinstance(node, Compare) else node.item
            if isinstance(side, Field):
                return self.book.label(side.name)
        return trace.source

    # -- one comparison ----------------------------------------------------------------------
    def phrase(self, trace: ComparisonTrace) -> str:
        node = trace.node
        if trace.result is Tri.UNKNOWN:
            return "; ".join(self.absent(c) for c in self.book.ordered(trace.missing_fields)) or (
                f"{trace.source}: {trace.error or 'unknown'}"
            )
        if isinstance(node, Membership):
            return self.membership(node, trace)
        if isinstance(node, Compare):
            return self.comparison(node, trace)
        return trace.source  # pragma: no cover - traces are comparisons

    def membership(self, node: Membership, trace: ComparisonTrace) -> str:
        code = node.item.name if isinstance(node.item, Field) else None
        subject = self.book.label(code) if code else render(node.item)
        shown = self.show(trace.left, code)
        options = [self.show(v, code) for v in trace.right]
        listed = options[0] if len(options) == 1 else self.words.one_of.format(options=", ".join(options))
        found = (trace.result is Tri.TRUE) != node.negated
        if not found:
            return self.words.not_among.format(subject=subject, value=shown, listed=listed)
        if node.negated:
            return self.words.excluded.format(subject=subject, value=shown)
        return self.words.stated.format(subject=subject, value=shown)

    def comparison(self, node: Compare, trace: ComparisonTrace) -> str:
        left, op, right = node.left, node.op, node.right
        left_value, right_value = trace.left, trace.right
        if not isinstance(left, Field) and isinstance(right, Field):
            left, right, left_value, right_value, op = right, left, right_value, left_value, _MIRROR[op]
        held = trace.result is Tri.TRUE  # mirroring changes the wording, not the truth
        code = left.name if isinstance(left, Field) else None
        subject = self.book.label(code) if code else render(left)

        uln = _uln_pattern(left, right)
        if uln is not None and op in ("<", "<=", ">", ">="):
            return self.uln_phrase(left, uln, op, held, left_value, right_value)

        definition = self.book.get(code) if code else None
        kind = getattr(definition, "type", None)
        if op in ("==", "!=") and (
            isinstance(left_value, bool | str) or kind in ("boolean", "choice", "text")
        ):
            shown = self.show(left_value, code)
            equal = (op == "==") == held
            if equal or isinstance(left_value, bool):
                return self.words.stated.format(subject=subject, value=shown)
            return self.words.stated_not.format(
                subject=subject, value=shown, other=self.show(right_value, code)
            )

        return self.words.compared.format(
            subject=subject,
            value=self.show(left_value, code),
            relation=self.words.relation(op, held),
            limit=self.right_side(right, right_value, code),
        )

    def right_side(self, node: Node, value: Any, left_code: str | None) -> str:
        if isinstance(node, LiteralNode):
            return self.show(value, left_code)
        if isinstance(node, Field):
            return f"{self.book.label(node.name)} ({self.show(value, node.name)})"
        return f"{render(node)} ({self.show(value, left_code)})"

    def uln_phrase(
        self, left: Field, uln: tuple[Any, Field], op: str, held: bool, value: Any, limit: Any
    ) -> str:
        factor, uln_field = uln
        label, unit = self.book.label(left.name), self.book.unit(left.name)
        shown = self.show(value, left.name)
        multiple = format_number(factor)
        ratio = _ratio(value, self.values.get(uln_field.name), factor)
        limit_text = self.show(limit, left.name) if unit else format_number(limit)
        limit_name = self.words.uln if _decimal(factor) == 1 else self.words.times_uln.format(factor=multiple)
        return self.words.compared.format(
            subject=label,
            value=self.words.at_uln.format(value=shown, ratio=ratio) if ratio else shown,
            relation=self.words.relation(op, held),
            limit=f"{limit_name} ({limit_text})",
        )


def _uln_pattern(left: Node, right: Node) -> tuple[Any, Field] | None:
    """``x <= k * x_uln`` (or ``x_uln * k``, or ``x <= x_uln``): the factor and the ULN field."""
    if not isinstance(left, Field):
        return None
    wanted = f"{left.name}_uln"
    if isinstance(right, Field) and right.name == wanted:
        return 1, right
    if isinstance(right, Arith) and right.op == "*":
        for factor, other in ((right.left, right.right), (right.right, right.left)):
            if (
                isinstance(factor, LiteralNode)
                and factor.kind == "number"
                and isinstance(other, Field)
                and other.name == wanted
            ):
                return factor.value, other
    return None


def _ratio(value: Any, uln: Any, factor: Any) -> str | None:
    """value / ULN with one decimal, more when one decimal would hide which side of the limit it is."""
    try:
        ratio = _decimal(value) / _decimal(uln)
        limit = _decimal(factor)
    except (InvalidOperation, ArithmeticError, TypeError, ValueError):
        return None
    if not ratio.is_finite():
        return None
    text = ""
    for places in (1, 2, 3, 4):
        rounded = ratio.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        text = format(rounded, "f")
        if rounded != limit or ratio == limit:
            break
    return text


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise TypeError
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


# --------------------------------------------------------------------------- input


class ScreeningInputError(ValueError):
    """A screening value that cannot be used: unknown code, wrong type, impossible value."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ScreeningInput:
    values: dict[str, Any]
    value_dates: dict[str, dt.date]
    as_of: dt.date | None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float | Decimal):
        return f"the number {format_number(value)}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _parse_date(code: str, raw: Any) -> dt.date:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        try:
            if len(text) != 10:
                raise ValueError
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ScreeningInputError(code, f"{raw!r} is not a date written YYYY-MM-DD") from None
    raise ScreeningInputError(code, f'expected a date written "YYYY-MM-DD", got {_json_kind(raw)}')


def _coerce_one(definition: Any, raw: Any) -> Any:
    code, kind = definition.code, definition.type
    if raw is None:
        return None
    if kind in ("integer", "decimal"):
        if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
            wanted = "a whole number" if kind == "integer" else "a number"
            raise ScreeningInputError(code, f"expected {wanted}, got {_json_kind(raw)}")
        if isinstance(raw, float | Decimal) and not math.isfinite(raw):
            raise ScreeningInputError(code, f"{raw} is not a usable number")
        if kind == "integer":
            if raw != int(raw):
                raise ScreeningInputError(code, f"expected a whole number, got {format_number(raw)}")
            value: Any = int(raw)
        else:
            value = raw
        low, high = definition.min, definition.max
        if (low is not None and value < low) or (high is not None and value > high):
            unit = f" {definition.unit}" if definition.unit else ""
            if low is not None and high is not None:
                allowed = f"between {format_number(low)} and {format_number(high)}{unit}"
            elif low is not None:
                allowed = f"at least {format_number(low)}{unit}"
            else:
                allowed = f"at most {format_number(high)}{unit}"
            raise ScreeningInputError(
                code, f"{format_number(value)}{unit} is impossible ({definition.label} must be {allowed})"
            )
        return value
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise ScreeningInputError(code, f"expected true or false, got {_json_kind(raw)}")
        return raw
    if kind == "date":
        return _parse_date(code, raw)
    if kind == "choice":
        allowed = [choice.value for choice in definition.choices]
        if not isinstance(raw, str):
            raise ScreeningInputError(code, f"expected one of {', '.join(allowed)}, got {_json_kind(raw)}")
        if raw not in allowed:
            raise ScreeningInputError(code, f"{raw!r} is not one of {', '.join(allowed)}")
        return raw
    if not isinstance(raw, str):
        raise ScreeningInputError(code, f"expected a text, got {_json_kind(raw)}")
    limit = getattr(definition, "max_length", None)
    if limit and len(raw) > limit:
        raise ScreeningInputError(code, f"is longer than {limit} characters")
    return raw


def _unknown_code(code: Any, known: list[str], form_code: str) -> ScreeningInputError:
    message = f"unknown field code {str(code)!r} (not a field of the {form_code} form)"
    close = difflib.get_close_matches(str(code), known, n=1)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return ScreeningInputError(str(code), message)


def coerce_screening_values(protocol: Any, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values of the eligibility form from JSON-like ``raw`` values.

    Strict: numbers must be numbers (not texts), booleans true/false, dates
    "YYYY-MM-DD", choices one of the listed values; numbers must lie within the
    field's min/max. ``None`` means missing. Raises ``ScreeningInputError``
    naming the field.
    """
    if not isinstance(raw, Mapping):
        raise ScreeningInputError("", f"expected an object of field codes and values, got {_json_kind(raw)}")
    form = protocol.screening_form
    definitions = {definition.code: definition for definition in form.fields}
    values: dict[str, Any] = {}
    for code, raw_value in raw.items():
        definition = definitions.get(code) if isinstance(code, str) else None
        if definition is None:
            raise _unknown_code(code, list(definitions), form.code)
        values[code] = _coerce_one(definition, raw_value)
    return values


_DOCUMENT_KEYS = {"values", "value_dates", "as_of"}


def coerce_screening_input(protocol: Any, document: Any) -> ScreeningInput:
    """A screening document: either the values themselves (``{"age_years": 40, ...}``) or
    ``{"values": {...}, "value_dates": {"ast": "2024-01-01", ...}, "as_of": "2024-01-15"}``."""
    if isinstance(document, Mapping) and "values" in document and set(document) <= _DOCUMENT_KEYS:
        values = coerce_screening_values(protocol, document.get("values") or {})
        raw_dates = document.get("value_dates") or {}
        if not isinstance(raw_dates, Mapping):
            raise ScreeningInputError(
                "value_dates", f"expected an object of field codes and dates, got {_json_kind(raw_dates)}"
            )
        form = protocol.screening_form
        known = form.field_codes
        dates: dict[str, dt.date] = {}
        for code, raw_date in raw_dates.items():
            if code not in known:
                raise _unknown_code(code, known, form.code)
            if raw_date is not None:
                dates[code] = _parse_date(code, raw_date)
        as_of = document.get("as_of")
        return ScreeningInput(values, dates, _parse_date("as_of", as_of) if as_of is not None else None)
    return ScreeningInput(coerce_screening_values(protocol, document), {}, None)
