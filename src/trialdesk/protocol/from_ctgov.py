"""A protocol skeleton from a ClinicalTrials.gov record (API v2 JSON). Pure core.

    from trialdesk.protocol.from_ctgov import skeleton_from_text
    result = skeleton_from_text(Path("NCT00724360.json").read_text())
    result.yaml          # the protocol file to complete, in the format of protocol/model.py
    result.proposals     # the rules proposed for the criteria (code -> Proposal)

What the record states goes in as ``source: registry`` (identification, status, design,
sites from the locations, arms and interventions, outcomes, the eligibility text split into
its criteria). What a person must add is written ``null`` (the schedule, the response
criteria, each endpoint's derivation, a criterion's rule...) and French text is written
empty: ``trialdesk protocol validate`` lists each of them by its place
(:mod:`trialdesk.protocol.completeness`).

For a criterion whose text matches a common pattern (a lab value against a multiple of its
upper limit of normal or against a number in its unit, a percentage threshold, an age bound,
a performance-status range, a prior-treatment exclusion, an ejection-fraction bound) a rule
of the rule language is proposed on a proposed field of the screening form (type, unit,
range); both are marked ``proposed: true`` until a person confirms them by deleting the mark.
An exclusion's rule states what must hold to be eligible (``FEVG < 50%`` -> ``lvef_pct >= 50``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from trialdesk.protocol.concepts import CONCEPTS
from trialdesk.rules import parse

__all__ = [
    "Atom",
    "NotAStudy",
    "Proposal",
    "ProposedField",
    "Skeleton",
    "propose",
    "skeleton",
    "skeleton_from_text",
    "split_criteria",
]

#: the code of the form the proposed fields go to (the skeleton's screening form)
SCREENING_FORM = "screening"


class NotAStudy(ValueError):
    """The input is not a ClinicalTrials.gov study that a skeleton can be made from."""


# --------------------------------------------------------------------------- proposed fields and rules


@dataclass(frozen=True)
class ProposedField:
    """A field of the screening form a proposed rule reads."""

    code: str
    label: str
    type: str
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    #: the clinical concept it records (trialdesk.protocol.concepts), when one fits
    concept: str | None = None
    #: for a prior-treatment field: the treatment, as the text names it
    treatment: str | None = None

    def as_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"code": self.code, "label": self.label, "label_fr": "", "type": self.type}
        if self.unit:
            doc["unit"] = self.unit
        if self.min is not None:
            doc["min"] = _number(self.min)
        if self.max is not None:
            doc["max"] = _number(self.max)
        doc["required"] = True
        doc["proposed"] = True
        return doc


@dataclass(frozen=True)
class Atom:
    """One condition found in a criterion's text: the rule it proposes (what must hold to
    be eligible), the fields it reads, its plain-words reading and the pattern that found it."""

    rule: str
    fields: tuple[ProposedField, ...]
    applied_as: str
    pattern: str


@dataclass(frozen=True)
class Proposal:
    atoms: tuple[Atom, ...]
    note: str | None = None

    @property
    def rule(self) -> str:
        return " and ".join(atom.rule if len(self.atoms) == 1 else _grouped(atom.rule) for atom in self.atoms)

    @property
    def applied_as(self) -> str:
        return "; ".join(atom.applied_as for atom in self.atoms) + "."

    @property
    def fields(self) -> list[ProposedField]:
        seen: dict[str, ProposedField] = {}
        for atom in self.atoms:
            for f in atom.fields:
                seen.setdefault(f.code, f)
        return list(seen.values())


def _grouped(rule: str) -> str:
    return f"({rule})" if " or " in rule else rule


# Comparators as registry texts write them -> the rule language's operator.
_CMP_WORDS = [
    (r"≤|=<|<=|\bno more than\b|\bnot more than\b|\bat most\b|\bup to\b|\bwithin\b|\bnot exceeding\b", "<="),
    (r"≥|=>|>=|\bat least\b|\bnot less than\b|\bno less than\b", ">="),
    (r"<|\bless than\b|\bbelow\b|\blower than\b|\bunder\b", "<"),
    (r">|\bmore than\b|\bgreater than\b|\babove\b|\bhigher than\b|\bover\b|\bexceeding\b", ">"),
]
_CMP = "(?P<cmp>" + "|".join(pattern for pattern, _ in _CMP_WORDS) + ")"
_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:[.,]\d+)?)"
_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_WORDS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}


def _operator(text: str) -> str:
    lowered = text.lower().strip()
    for pattern, op in _CMP_WORDS:
        if re.fullmatch(pattern, lowered):
            return op
    raise ValueError(text)


def _to_number(text: str) -> float:
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):  # 100,000
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _n(value: float) -> str:
    return f"{_number(value)}"


@dataclass(frozen=True)
class _Lab:
    """A laboratory value the patterns know: its names in registry texts, its field."""

    code: str
    label: str
    names: str  # a regular expression
    uln_unit: str | None = None  # the unit of a value compared with its ULN
    units: tuple[str, ...] = ()  # the units an absolute threshold may be written in
    max: float | None = None
    concept: str | None = None  # the clinical concept of the value (its ULN's: the concept + "_uln")
    concept_unit: str | None = None  # the unit the concept is in, when it says one


_LABS = (
    _Lab(
        code="ast",
        label="AST",
        names=r"\bAST\b|\bASAT\b|\bSGOT\b|aspartate (?:amino)?transaminase|aspartate aminotransferase",
        uln_unit="U/L",
        max=10000,
        concept="aspartate_aminotransferase",
    ),
    _Lab(
        code="alt",
        label="ALT",
        names=r"\bALT\b|\bALAT\b|\bSGPT\b|alanine (?:amino)?transaminase|alanine aminotransferase",
        uln_unit="U/L",
        max=10000,
        concept="alanine_aminotransferase",
    ),
    _Lab(code="bilirubin", label="Total bilirubin", names=r"bilirubin", uln_unit="µmol/L", max=1000),
    _Lab(
        code="alkaline_phosphatase",
        label="Alkaline phosphatase",
        names=r"alkaline phosphatase|\bALP\b|\bPAL\b",
        uln_unit="U/L",
        max=10000,
    ),
    _Lab(code="ggt", label="Gamma-glutamyl transferase", names=r"\bGGT\b|gamma[- ]glutamyl", uln_unit="U/L"),
    _Lab(
        code="creatinine_clearance",
        label="Creatinine clearance",
        names=r"creatinine clearance|\bCrCl\b|\beGFR\b|glomerular filtration rate",
        units=("mL/min/1.73 m2", "mL/min"),
        max=300,
    ),
    _Lab(
        code="creatinine",
        label="Serum creatinine",
        names=r"creatinine|créatinine",
        uln_unit="µmol/L",
        max=3000,
        concept="serum_creatinine",
    ),
    _Lab(
        code="anc",
        label="Absolute neutrophil count",
        names=r"absolute neutrophil count|neutrophil count|neutrophils|\bANC\b",
        units=("/µL", "/mm3", "10^9/L"),
        concept="neutrophil_count",
        concept_unit="10^9/L",
    ),
    _Lab(
        code="platelets",
        label="Platelets",
        names=r"platelets?(?: count)?|\bPLT\b",
        units=("/µL", "/mm3", "10^9/L"),
        concept="platelet_count",
        concept_unit="10^9/L",
    ),
    _Lab(
        code="hemoglobin",
        label="Hemoglobin",
        names=r"ha?emoglobin|\bHb\b|\bHgb\b",
        units=("g/dL", "g/L"),
        concept="hemoglobin_level",
        concept_unit="g/dL",
    ),
    _Lab(code="albumin", label="Serum albumin", names=r"albumin", units=("g/dL", "g/L")),
)

_ULN = (
    rf"{_CMP}\s*{_NUM}\s*(?:x|×|\*|times|-fold|fold)?\s*(?:of\s+)?(?:the\s+)?(?:institutional\s+)?"
    r"(?:upper limit of (?:the )?normal(?: values?)?|\bULN\b|\bLSN\b)"
)
_UNIT_TEXT = (
    r"(?P<unit>mL/min(?:/1[.,]73\s*m2|/1[.,]73\s*m²)?|g/dL|g/dl|gm/dL|g/L|/µL|/μL|/uL|/mm3|/mm³|"
    r"(?:x|×)\s*10\^?9\s*/\s*L|(?:x|×)\s*109\s*/\s*L|(?:x|×)\s*10\^?3\s*/\s*µL|G/L)"
)


def _unit(text: str) -> str:
    compact = re.sub(r"\s+", "", text)
    if re.fullmatch(r"(?:x|×)10\^?9/L|(?:x|×)109/L|G/L", compact):
        return "10^9/L"
    if re.fullmatch(r"(?:x|×)10\^?3/µL", compact):
        return "10^3/µL"
    if compact.lower().startswith("ml/min/1"):
        return "mL/min/1.73 m2"
    return {"/μL": "/µL", "/uL": "/µL", "/mm³": "/mm3", "g/dl": "g/dL", "gm/dL": "g/dL"}.get(compact, compact)


def _uln_atoms(text: str) -> Iterator[tuple[tuple[int, int], Atom]]:
    """A lab value against a multiple of its upper limit of normal: every lab named between
    the previous condition and this one takes the bound ("AST or ALT <= 5 times the ULN")."""
    start = 0
    for match in re.finditer(_ULN, text, flags=re.IGNORECASE):
        segment = text[start : match.start()]
        start = match.end()
        op = _operator(match.group("cmp"))
        factor = _to_number(match.group("num"))
        labs = [lab for lab in _LABS if lab.uln_unit and re.search(lab.names, segment, flags=re.IGNORECASE)]
        if not labs:
            continue  # a bound for a subgroup ("for patients with liver metastases, < 5 x ULN")
        for lab in labs:
            value = ProposedField(
                code=lab.code,
                label=lab.label,
                type="decimal",
                unit=lab.uln_unit,
                min=0,
                max=lab.max,
                concept=lab.concept,
            )
            uln = ProposedField(
                code=f"{lab.code}_uln",
                label=f"{lab.label} upper limit of normal",
                type="decimal",
                unit=lab.uln_unit,
                min=0,
                max=lab.max,
                concept=f"{lab.concept}_uln" if lab.concept else None,
            )
            yield (
                (match.start(), match.end()),
                Atom(
                    rule=f"{lab.code} {op} {_n(factor)} * {lab.code}_uln",
                    fields=(value, uln),
                    applied_as=f"{lab.label} {_WORDS[op]} {_n(factor)} times its upper limit of normal",
                    pattern="lab value against a multiple of its upper limit of normal",
                ),
            )


def _lab_atoms(text: str) -> Iterator[tuple[tuple[int, int], Atom]]:
    """A lab value against a number in its unit ("platelets >= 100,000/µL")."""
    for lab in _LABS:
        if not lab.units:
            continue
        pattern = rf"(?:{lab.names})[^.;:\d<>≤≥=]{{0,40}}?{_CMP}\s*{_NUM}\s*{_UNIT_TEXT}"
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):
            unit = _unit(match.group("unit"))
            op = _operator(match.group("cmp"))
            value = _to_number(match.group("num"))
            concept = lab.concept if lab.concept_unit in (None, unit) else None
            f = ProposedField(
                code=lab.code, label=lab.label, type="decimal", unit=unit, min=0, max=lab.max, concept=concept
            )
            yield (
                (match.start(), match.end()),
                Atom(
                    rule=f"{lab.code} {op} {_n(value)}",
                    fields=(f,),
                    applied_as=f"{lab.label} {_WORDS[op]} {_n(value)} {unit}",
                    pattern="lab value against a threshold in its unit",
                ),
            )


_EF = r"(?:\bLVEF\b|\bFEVG\b|\bFEV?G\b|\bEF\b|(?:left ventricular )?ejection fraction|fraction d'éjection(?: ventriculaire gauche)?)"


def _ef_atoms(text: str) -> Iterator[tuple[tuple[int, int], Atom]]:
    pattern = rf"{_EF}[^.;\d<>≤≥=]{{0,40}}?{_CMP}\s*{_NUM}\s*%"
    for match in re.finditer(pattern, text, flags=re.IGNORECASE):
        op = _operator(match.group("cmp"))
        value = _to_number(match.group("num"))
        f = ProposedField(
            code="lvef_pct",
            label="Left ventricular ejection fraction (LVEF)",
            type="decimal",
            unit="%",
            min=5,
            max=95,
            concept="lvef",
        )
        yield (
            (match.start(), match.end()),
            Atom(
                rule=f"lvef_pct {op} {_n(value)}",
                fields=(f,),
                applied_as=f"LVEF {_WORDS[op]} {_n(value)} %",
                pattern="ejection-fraction bound",
            ),
        )


#: the end of a small number: not followed by a digit, a decimal part or a percent sign
_END = r"(?!\d|[.,]\d|\s*%)"
_PS = r"(?:\bECOG\b|Eastern Cooperative Oncology Group|\bWHO\b|Zubrod|performance status|\bPS\b)"


def _ps_atoms(text: str) -> Iterator[tuple[tuple[int, int], Atom]]:
    """A performance-status range: ECOG 0-2, 0 or 1, <= 2, "2 or less"; Karnofsky >= 70 %."""
    karnofsky = re.search(
        rf"(?:Karnofsky|\bKPS\b)[^.;\d]{{0,40}}?{_CMP}\s*{_NUM}\s*%?", text, flags=re.IGNORECASE
    )
    if karnofsky:
        op = _operator(karnofsky.group("cmp"))
        value = _to_number(karnofsky.group("num"))
        f = ProposedField(
            code="karnofsky", label="Karnofsky performance status", type="integer", unit="%", min=0, max=100
        )
        yield (
            karnofsky.span(),
            Atom(
                rule=f"karnofsky {op} {_n(value)}",
                fields=(f,),
                applied_as=f"Karnofsky performance status {_WORDS[op]} {_n(value)} %",
                pattern="performance-status range",
            ),
        )
        return
    keyword = re.search(_PS, text, flags=re.IGNORECASE)
    if keyword is None:
        return
    window = text[max(0, keyword.start() - 60) : keyword.end() + 80]
    offset = max(0, keyword.start() - 60)
    low = high = None
    span = None
    for regex, kind in (
        (rf"(?<![\d.])([0-4])\s*(?:-|–|to)\s*([0-4]){_END}", "range"),
        (rf"(?<![\d.])([0-4])(?:\s*,\s*[0-4])*\s*(?:,\s*)?(?:or|and)\s*([0-4]){_END}", "range"),
        (rf"{_CMP}\s*(?P<num>[0-4]){_END}", "cmp"),
        (r"(?<![\d.])([0-4])\s*or (?:less|lower|below)", "max"),
        (rf"(?:=|\bof|score)\s*([0-4]){_END}(?!\s*(?:-|–|to|or|and|,)\s*\d)", "equal"),
    ):
        match = re.search(regex, window, flags=re.IGNORECASE)
        if not match:
            continue
        span = (offset + match.start(), offset + match.end())
        if kind == "range":
            low, high = int(match.group(1)), int(match.group(2))
        elif kind == "max":
            low, high = 0, int(match.group(1))
        elif kind == "equal":
            low = high = int(match.group(1))
        else:
            op = _operator(match.group("cmp"))
            value = int(match.group("num"))
            low, high = {"<=": (0, value), "<": (0, value - 1), ">=": (value, 4), ">": (value + 1, 4)}[op]
        break
    if low is None or high is None or span is None or low > high:
        return
    f = ProposedField(
        code="ecog",
        label="ECOG performance status",
        type="integer",
        min=0,
        max=4,
        concept="performance_status",
    )
    if low == 0:
        rule, words = (
            f"ecog <= {high}",
            f"ECOG performance status {_either([str(v) for v in range(high + 1)])}",
        )
    elif low == high:
        rule, words = f"ecog == {low}", f"ECOG performance status {low}"
    else:
        rule = f"ecog >= {low} and ecog <= {high}"
        words = f"ECOG performance status {low} to {high}"
    yield span, Atom(rule=rule, fields=(f,), applied_as=words, pattern="performance-status range")


def _either(values: list[str]) -> str:
    """``0, 1 or 2``."""
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"


_AGE_FIELD = ProposedField(
    code="age_years", label="Age at screening", type="integer", unit="years", min=0, max=120, concept="age"
)


def _age_atoms(text: str) -> Iterator[tuple[tuple[int, int], Atom]]:
    """An age bound: "age > 18 years", "aged >= 18", "18 years of age or older", "50-85 years"."""
    found: list[tuple[tuple[int, int], list[tuple[str, float]]]] = []
    for match in re.finditer(
        r"(?P<low>\d{1,3})\s*(?:-|–|to)\s*(?P<high>\d{1,3})\s*years", text, flags=re.IGNORECASE
    ):
        found.append((match.span(), [(">=", float(match.group("low"))), ("<=", float(match.group("high")))]))
    for match in re.finditer(
        r"(?P<num>\d{1,3})\s*years?(?:\s*of age|\s*old)?\s*(?:or|and)\s*(?:older|over|above|more)(?!\s*\d)",
        text,
        flags=re.IGNORECASE,
    ):
        found.append((match.span(), [(">=", float(match.group("num")))]))
    if "age" in text.lower() or "year" in text.lower():
        for match in re.finditer(
            rf"(?:\bage[ds]?\b|\bage of\b)?\s*(?:\bis\b|\bmust be\b)?\s*{_CMP}\s*{_NUM}\s*(?:years?|yrs?|ans)\b",
            text,
            flags=re.IGNORECASE,
        ):
            if any(a <= match.start() < b for (a, b), _ in found):
                continue
            found.append((match.span(), [(_operator(match.group("cmp")), _to_number(match.group("num")))]))
        if not found:
            for match in re.finditer(rf"\bage[ds]?\b\s*(?:of\s*)?{_CMP}\s*{_NUM}", text, flags=re.IGNORECASE):
                found.append(
                    (match.span(), [(_operator(match.group("cmp")), _to_number(match.group("num")))])
                )
    for span, bounds in sorted(found):
        rule = " and ".join(f"age_years {op} {_n(value)}" for op, value in bounds)
        words = " and ".join(f"{_WORDS[op]} {_n(value)} years" for op, value in bounds)
        yield span, Atom(rule=rule, fields=(_AGE_FIELD,), applied_as=f"Age {words}", pattern="age bound")


_PRIOR = (
    r"(?:previous|prior|previously|earlier)\s+(?:(?:treatment|therapy|exposure|use|administration)\s+"
    r"(?:by|with|to|of)\s+|(?:treated|exposed)\s+(?:by|with|to)\s+|received\s+)?(?:an?\s+|any\s+)?"
    r"(?P<what>[A-Za-z][\w-]*(?:\s+[A-Za-z][\w-]*){0,2}?)(?=\s*(?:$|[,.;:()\[\]]|\s+(?:or|and|for|in|at|within|is|are|as)\b))"
)
_NOT_TREATMENTS = {"history", "participation", "malignancy", "cancer", "diagnosis", "surgery within"}


def _prior_atoms(text: str, kind: str) -> Iterator[tuple[tuple[int, int], Atom]]:
    """A prior-treatment exclusion ("Previous treatment by trastuzumab"); in an inclusion
    criterion only when negated ("No prior chemotherapy")."""
    for match in re.finditer(_PRIOR, text, flags=re.IGNORECASE):
        negated = re.search(
            r"\b(?:no|never|without)\s+(?:\w+\s+)?$", text[: match.start()], flags=re.IGNORECASE
        )
        if kind == "inclusion" and not negated:
            continue
        what = match.group("what").strip()
        if what.lower() in _NOT_TREATMENTS or what.lower() in {"treatment", "therapy"}:
            continue
        code = "prior_" + _slug(what, limit=30)
        f = ProposedField(code=code, label=f"Previous treatment by {what}", type="boolean", treatment=what)
        eligible = "false"
        words = f"Never treated with {what}"
        if kind == "exclusion" and negated:  # "exclusion: no prior X" means X is required
            eligible, words = "true", f"Previously treated with {what}"
        yield (
            match.span(),
            Atom(
                rule=f"{code} == {eligible}",
                fields=(f,),
                applied_as=words,
                pattern="prior-treatment exclusion",
            ),
        )
        return


_STOP = {
    "of", "the", "in", "a", "an", "by", "as", "assessed", "with", "on", "at", "to", "and", "or", "is",
    "are", "be", "must", "population", "bone", "than", "least", "more", "less", "cells", "cell",
}  # fmt: skip


def _percent_subject(phrase: str) -> tuple[str, str] | None:
    """The field of a percentage ("blasts in bone marrow" -> marrow blasts)."""
    cleaned = re.sub(r"\s+", " ", phrase).strip(" ,.;:()")
    if not cleaned:
        return None
    lowered = cleaned.lower()
    marker = re.search(r"\b([A-Za-z]+\d*)[ -]positive\b", cleaned)
    if "blast" in lowered and marker:
        name = marker.group(1)
        return f"{_slug(name)}_positive_blasts_pct", f"{name}-positive marrow blasts"
    if "blast" in lowered and "marrow" in lowered:
        return "marrow_blasts_pct", "Bone marrow blasts"
    if "blast" in lowered and re.search(r"blood|circulating|peripheral", lowered):
        return "circulating_blasts_pct", "Circulating blasts"
    words = [w for w in re.findall(r"[a-z][a-z0-9]*", lowered) if w not in _STOP][:4]
    if not words:
        return None
    return _slug("_".join(words), limit=40) + "_pct", cleaned[:1].upper() + cleaned[1:]


def _percent_atoms(text: str, taken: list[tuple[int, int]]) -> Iterator[tuple[tuple[int, int], Atom]]:
    """A percentage threshold: "> 20% blasts in bone marrow", "HER2-positive blasts >= 30 %"."""
    for match in re.finditer(rf"{_CMP}\s*{_NUM}\s*%", text, flags=re.IGNORECASE):
        if any(a <= match.start() < b or a < match.end() <= b for a, b in taken):
            continue
        after = text[match.end() :]
        after = re.split(r"[,;.]|\bas assessed\b|\bby\b|\bat\b|\bwithin\b", after, maxsplit=1)[0]
        before = re.split(r"[,;.:(]", text[: match.start()])[-1]
        subject = _percent_subject(after) if after.strip(" ,.;:()") else None
        if subject is None:
            subject = _percent_subject(" ".join(before.split()[-5:]))
        if subject is None:
            continue
        code, label = subject
        op = _operator(match.group("cmp"))
        value = _to_number(match.group("num"))
        concept = code.removesuffix("_pct")
        f = ProposedField(
            code=code,
            label=label,
            type="decimal",
            unit="%",
            min=0,
            max=100,
            concept=concept if concept in CONCEPTS and CONCEPTS[concept].kind == "number" else None,
        )
        yield (
            match.span(),
            Atom(
                rule=f"{code} {op} {_n(value)}",
                fields=(f,),
                applied_as=f"{label} {_WORDS[op]} {_n(value)} %",
                pattern="percentage threshold",
            ),
        )


#: where a criterion's text turns to a subgroup ("For patients with liver metastases, < 5 x ULN")
_SUBGROUP = (
    r"\b(?:for|in)\s+(?:patients|subjects|participants|cases|those)\s+(?:with|who)\b|\bin the presence of\b|"
    r"\bin (?:case|the case) of\b"
)


def propose(
    text: str, kind: str, *, minimum_age: float | None = None, maximum_age: float | None = None
) -> Proposal | None:
    """The rule proposed for one criterion (None when no pattern matches its text).

    ``kind`` is ``inclusion`` or ``exclusion``: an exclusion's conditions describe who is
    excluded, so its rule is their negation (each comparison turned around, several
    conditions of one exclusion joined by ``or`` before the negation). ``minimum_age`` /
    ``maximum_age`` are the record's structured ages: a text bound on the same number is
    read inclusive, as the structured field is ("age > 18" with "18 Years" -> ``>= 18``)."""
    plain = _unescape(text)
    note = None
    subgroup = re.search(_SUBGROUP, plain, flags=re.IGNORECASE)
    if subgroup:  # the bounds of a subgroup are beyond a single rule: the person writes them
        note = (
            f"The text gives other bounds for a subgroup ('{' '.join(plain[subgroup.start() :].split())[:80]}'): "
            "not in the proposed rule."
        )
        plain = plain[: subgroup.start()]
    atoms: list[tuple[tuple[int, int], Atom]] = []
    taken: list[tuple[int, int]] = []

    def add(found: Iterator[tuple[tuple[int, int], Atom]]) -> None:
        before = list(taken)  # a text already read by an earlier pattern is not read again
        for span, atom in found:
            if any(a <= span[0] < b for a, b in before):
                continue
            atoms.append((span, atom))
            taken.append(span)

    add(_uln_atoms(plain))
    add(_ef_atoms(plain))
    add(_lab_atoms(plain))
    add(_ps_atoms(plain))
    add(_age_atoms(plain))
    add(_prior_atoms(plain, kind))
    add(_percent_atoms(plain, taken))
    if not atoms:
        return None
    atoms.sort(key=lambda item: item[0])
    ordered = [atom for _, atom in atoms]
    ordered, age_note = _reconcile_ages(ordered, minimum_age, maximum_age)
    note = " ".join(n for n in (age_note, note) if n) or None
    if kind == "exclusion":
        ordered = [_negated(atom) for atom in ordered]
        if len(ordered) > 1:  # excluded if any holds: eligible if none holds
            ordered = [_all_of(ordered)]
    else:
        ordered = _alternatives(ordered, [span for span, _ in atoms], plain)
    for atom in ordered:
        parse(atom.rule)  # a proposal is always a rule of the language
    return Proposal(atoms=tuple(ordered), note=note)


def _alternatives(atoms: list[Atom], spans: list[tuple[int, int]], text: str) -> list[Atom]:
    """Conditions the text joins by "or" ("creatinine <= 1.5 x ULN or creatinine clearance
    > 40 mL/min") become one condition: either satisfies the criterion."""
    result: list[Atom] = []
    for index, atom in enumerate(atoms):
        between = text[spans[index - 1][1] : spans[index][0]] if index else ""
        if (
            index
            and spans[index - 1] != spans[index]
            and re.fullmatch(r"[\s,)]*or\b.*", between, flags=re.I | re.S)
        ):
            previous = result.pop()
            fields = {f.code: f for f in (*previous.fields, *atom.fields)}
            atom = Atom(
                rule=f"{_grouped(previous.rule) if ' and ' in previous.rule else previous.rule} or "
                f"{f'({atom.rule})' if ' and ' in atom.rule else atom.rule}",
                fields=tuple(fields.values()),
                applied_as=f"{previous.applied_as}, or {_lower_first(atom.applied_as)}",
                pattern=", ".join(dict.fromkeys((previous.pattern, atom.pattern))),
            )
        result.append(atom)
    return result


def _reconcile_ages(
    atoms: list[Atom], minimum: float | None, maximum: float | None
) -> tuple[list[Atom], str | None]:
    note = None
    result = []
    for atom in atoms:
        if atom.pattern == "age bound":
            rule = atom.rule
            if minimum is not None and rule == f"age_years > {_n(minimum)}":
                rule = f"age_years >= {_n(minimum)}"
                note = (
                    f"The text says '> {_n(minimum)}' but the record's structured minimum age is "
                    f"{_n(minimum)} years (inclusive); proposed as >= {_n(minimum)}."
                )
            if maximum is not None and rule == f"age_years < {_n(maximum)}":
                rule = f"age_years <= {_n(maximum)}"
                note = (
                    f"The text says '< {_n(maximum)}' but the record's structured maximum age is "
                    f"{_n(maximum)} years (inclusive); proposed as <= {_n(maximum)}."
                )
            if rule != atom.rule:
                words = " and ".join(
                    f"{_WORDS[op]} {value} years"
                    for op, value in re.findall(r"age_years (<=|>=|<|>) (\S+)", rule)
                )
                atom = Atom(rule=rule, fields=atom.fields, applied_as=f"Age {words}", pattern=atom.pattern)
        result.append(atom)
    return result, note


_NEGATED_EQ = {"== false": "== true", "== true": "== false"}


def _negated(atom: Atom) -> Atom:
    """The atom of an exclusion: what must hold not to be excluded."""
    if atom.pattern == "prior-treatment exclusion":
        return atom  # written as what must hold already
    parts = atom.rule.split(" and ")
    negated = []
    for part in parts:
        match = re.fullmatch(r"(.+?) (<=|>=|<|>|==) (.+)", part)
        if match is None:
            raise ValueError(part)
        left, op, right = match.groups()
        negated.append(f"{left} {_FLIP[op] if op != '==' else '!='} {right}")
    rule = " or ".join(negated)
    return Atom(
        rule=rule,
        fields=atom.fields,
        applied_as=f"Excluded if {_lower_first(atom.applied_as)}",
        pattern=atom.pattern,
    )


def _lower_first(text: str) -> str:
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def _all_of(atoms: list[Atom]) -> Atom:
    fields: dict[str, ProposedField] = {}
    for atom in atoms:
        for f in atom.fields:
            fields.setdefault(f.code, f)
    return Atom(
        rule=" and ".join(_grouped(atom.rule) for atom in atoms),
        fields=tuple(fields.values()),
        applied_as="; ".join(atom.applied_as for atom in atoms),
        pattern=", ".join(dict.fromkeys(atom.pattern for atom in atoms)),
    )


# --------------------------------------------------------------------------- the criteria text

_HEADING = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*)?\s*(?:key\s+|main\s+|major\s+)?(?P<kind>inclusion|exclusion)\s+criteria\b[^:\n]*:?\s*(?:\*\*)?\s*$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^(?P<indent>\s*)(?:[*\-•+]|\d{1,2}[.)](?!\d)|\(?[a-z][.)])\s*(?P<text>.*)$")


def _unescape(text: str) -> str:
    """ClinicalTrials.gov's markdown escapes: ``\\>`` -> ``>``."""
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>=~|^])", r"\1", text)


@dataclass
class _Item:
    kind: str
    indent: int
    text: str
    children: list[_Item] = field(default_factory=list)


def split_criteria(text: str) -> list[tuple[str, str]]:
    """The criteria of an ``eligibilityCriteria`` text, each as (kind, text), in order.

    One criterion per bullet (``*``, ``-``, ``•``, ``1.``); a line that is no bullet
    continues the one before; a bullet that ends with ':' and has sub-bullets is their
    heading (each sub-bullet is a criterion, prefixed with it). Text before any
    "Inclusion/Exclusion Criteria" heading counts as inclusion."""
    kind = "inclusion"
    items: list[_Item] = []
    stack: list[_Item] = []
    current: _Item | None = None
    for raw in _unescape(text).splitlines():
        line = raw.rstrip()
        if not line.strip():
            current = None if current is None or current.text.rstrip().endswith(":") else current
            continue
        heading = _HEADING.match(line)
        if heading:
            kind = heading.group("kind").lower()
            current, stack = None, []
            continue
        bullet = _BULLET.match(line)
        if bullet and bullet.group("text").strip():
            indent = len(bullet.group("indent").expandtabs(4))
            item = _Item(kind=kind, indent=indent, text=bullet.group("text").strip())
            while stack and stack[-1].indent >= indent:
                stack.pop()
            if stack and stack[-1].kind == kind:
                stack[-1].children.append(item)
            else:
                items.append(item)
            stack.append(item)
            current = item
        elif current is not None:
            current.text = f"{current.text} {line.strip()}"
        elif line.rstrip().endswith(":"):
            continue  # an introduction ("Patients must meet all of the following criteria:"), no criterion
        else:
            item = _Item(kind=kind, indent=len(line) - len(line.lstrip()), text=line.strip())
            items.append(item)
            stack = [item]
            current = item
    criteria: list[tuple[str, str]] = []

    def flatten(item: _Item, prefix: str) -> None:
        text = f"{prefix} {item.text}".strip() if prefix else item.text
        if item.children:
            for child in item.children:
                flatten(child, text)
        else:
            criteria.append((item.kind, text))

    for item in items:
        flatten(item, "")
    return criteria


# --------------------------------------------------------------------------- the record


def skeleton_from_text(text: str) -> Skeleton:
    """The skeleton of a record given as JSON text (``NotAStudy`` if it is none)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotAStudy(f"not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return skeleton(data)


@dataclass(frozen=True)
class Skeleton:
    document: dict[str, Any]
    proposals: dict[str, Proposal]
    #: criterion code -> its text, for every criterion (with or without a proposal)
    criteria: dict[str, str]

    @property
    def yaml(self) -> str:
        return render_yaml(self.document)


def _study(data: Any) -> dict[str, Any]:
    if isinstance(data, dict) and isinstance(data.get("studies"), list):  # a search answer
        studies = data["studies"]
        if len(studies) != 1:
            raise NotAStudy(
                f"holds {len(studies)} studies (a ClinicalTrials.gov search answer); give the file of one study"
            )
        data = studies[0]
    if not isinstance(data, dict) or not isinstance(data.get("protocolSection"), dict):
        raise NotAStudy(
            "not a ClinicalTrials.gov study: no protocolSection (expected the API v2 JSON of one study, "
            "as https://clinicaltrials.gov/api/v2/studies/NCT… returns it)"
        )
    nct = _get(data, "protocolSection", "identificationModule", "nctId")
    if not isinstance(nct, str) or not re.fullmatch(r"NCT\d{8}", nct):
        raise NotAStudy(
            "not a ClinicalTrials.gov study: protocolSection.identificationModule.nctId is missing or not an NCT number"
        )
    return data


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = " ".join(_unescape(value).split())
    return value or None


def _texts(values: Any) -> list[str]:
    return [t for t in (_text(v) for v in (values if isinstance(values, list) else [])) if t]


def _enum_words(value: Any) -> str | None:
    """``SINGLE_GROUP`` -> ``Single Group``."""
    if not isinstance(value, str) or not value:
        return None
    return " ".join(word.capitalize() for word in value.split("_"))


_STATUS = {
    "ACTIVE_NOT_RECRUITING": "Active, not recruiting",
    "NOT_YET_RECRUITING": "Not yet recruiting",
    "ENROLLING_BY_INVITATION": "Enrolling by invitation",
    "UNKNOWN": "Unknown status",
    "NO_LONGER_AVAILABLE": "No longer available",
    "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
    "APPROVED_FOR_MARKETING": "Approved for marketing",
}
_MASKING = {"NONE": "None (Open Label)"}
#: the eligibilityModule's key of the eligible sexes (the registry's JSON, not a form field)
_RECORD_SEX = "sex"
_PHASE = {"NA": "Not Applicable", "EARLY_PHASE1": "Early Phase 1"}


def _phase(phases: Any) -> str | None:
    names = [
        _PHASE.get(p, re.sub(r"^PHASE(\d)$", r"Phase \1", p)) for p in (phases or []) if isinstance(p, str)
    ]
    return "/".join(names) or None


def _year_month(value: Any) -> str | None:
    if isinstance(value, str) and re.match(r"^\d{4}-(0[1-9]|1[0-2])", value):
        return value[:7]
    return None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _years(value: Any) -> float | None:
    match = (
        re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*years?\s*", value or "", flags=re.IGNORECASE)
        if isinstance(value, str)
        else None
    )
    return float(match.group(1)) if match else None


def _slug(text: str, limit: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    slug = slug[:limit].rstrip("_") or "item"
    return slug if slug[0].isalpha() else f"x_{slug}"


def _identification(study: dict[str, Any]) -> dict[str, Any]:
    ps = study["protocolSection"]
    ident = ps.get("identificationModule") or {}
    status = ps.get("statusModule") or {}
    sponsors = ps.get("sponsorCollaboratorsModule") or {}
    design = ps.get("designModule") or {}
    info = design.get("designInfo") or {}
    eligibility = ps.get("eligibilityModule") or {}
    conditions = ps.get("conditionsModule") or {}
    derived = study.get("derivedSection") or {}
    sponsor = _text(_get(sponsors, "leadSponsor", "name")) or _text(_get(ident, "organization", "fullName"))
    party = sponsors.get("responsibleParty") or {}
    responsible = (
        sponsor
        if party.get("type") in (None, "SPONSOR")
        else _text(party.get("investigatorFullName")) or _text(party.get("oldOrganization")) or sponsor
    )
    masking = _get(info, "maskingInfo", "masking")
    masking_text = _MASKING.get(masking) or _enum_words(masking)
    who = [_enum_words(w) for w in _get(info, "maskingInfo", "whoMasked") or []]
    if masking_text and who and masking != "NONE":
        masking_text += f" ({', '.join(w for w in who if w)})"
    study_type = {"INTERVENTIONAL": "interventional", "OBSERVATIONAL": "observational"}.get(
        design.get("studyType")
    )
    enrollment = design.get("enrollmentInfo") or {}
    count = enrollment.get("count")
    meshes: list[str] = []
    for module in ("conditionBrowseModule", "interventionBrowseModule"):
        for key in ("meshes", "ancestors"):
            meshes += [
                t
                for t in (
                    _text(m.get("term")) for m in _get(derived, module, key) or [] if isinstance(m, dict)
                )
                if t
            ]
    doc: dict[str, Any] = {
        "source": "registry",
        "nct_id": ident["nctId"],
        "other_ids": _texts(
            [_get(ident, "orgStudyIdInfo", "id")]
            + [s.get("id") for s in ident.get("secondaryIdInfos") or [] if isinstance(s, dict)]
        ),
        "brief_title": _text(ident.get("briefTitle")),
        "official_title": _text(ident.get("officialTitle")) or _text(ident.get("briefTitle")),
        "sponsor": sponsor,
        "responsible_party": responsible,
        "collaborators": _texts(
            [c.get("name") for c in sponsors.get("collaborators") or [] if isinstance(c, dict)]
        ),
        "phase": _phase(design.get("phases")),
        "study_type": study_type,
        "intervention_model": _enum_words(info.get("interventionModel"))
        and f"{_enum_words(info.get('interventionModel'))} Assignment",
        "masking": masking_text,
        "primary_purpose": _enum_words(info.get("primaryPurpose")),
        "overall_status": _STATUS.get(status.get("overallStatus"))
        or _enum_words(status.get("overallStatus")),
        "why_stopped": _text(status.get("whyStopped")),
        "start_date": _year_month(_get(status, "startDateStruct", "date")),
        "primary_completion_date": _year_month(_get(status, "primaryCompletionDateStruct", "date")),
        "completion_date": _year_month(_get(status, "completionDateStruct", "date")),
        "first_posted": _date(_get(status, "studyFirstPostDateStruct", "date")),
        "last_update_posted": _date(_get(status, "lastUpdatePostDateStruct", "date")),
        "last_verified": _year_month(status.get("statusVerifiedDate")),
        "enrollment": (
            {"count": count, "type": "actual" if enrollment.get("type") == "ACTUAL" else "anticipated"}
            if isinstance(count, int) and not isinstance(count, bool)
            else None
        ),
        "conditions": _texts(conditions.get("conditions")),
        "keywords": _texts(conditions.get("keywords")),
        "mesh_terms": list(dict.fromkeys(meshes)),
        "sexes": {"ALL": "all", "FEMALE": "female", "MALE": "male"}.get(eligibility.get(_RECORD_SEX), "all"),
        "minimum_age": _text(eligibility.get("minimumAge")),
        "maximum_age": _text(eligibility.get("maximumAge")),
        "healthy_volunteers": bool(eligibility.get("healthyVolunteers", False)),
        "brief_summary": _text(_get(ps, "descriptionModule", "briefSummary")),
    }
    return doc


# ------------------------------------------------------------------ sites and their time zones


def _tab(name: str) -> str | None:
    try:
        return (resources.files("tzdata") / "zoneinfo" / name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        path = Path("/usr/share/zoneinfo") / name
        return path.read_text(encoding="utf-8") if path.is_file() else None


#: ClinicalTrials.gov's country names that the tz database writes otherwise
_COUNTRY_ALIASES = {
    "united kingdom": "GB",
    "korea, republic of": "KR",
    "russian federation": "RU",
    "iran, islamic republic of": "IR",
    "czech republic": "CZ",
    "czechia": "CZ",
    "taiwan": "TW",
    "viet nam": "VN",
    "türkiye": "TR",
    "turkey": "TR",
    "netherlands": "NL",
    "moldova, republic of": "MD",
}


@functools.lru_cache(maxsize=1)
def _zones_by_country() -> tuple[dict[str, str], dict[str, list[tuple[str, float, float]]]]:
    """Country name -> ISO code, and ISO code -> its zones with their main city's latitude
    and longitude (the tz database's iso3166.tab and zone.tab)."""
    codes: dict[str, str] = dict(_COUNTRY_ALIASES)
    zones: dict[str, list[tuple[str, float, float]]] = {}
    iso, zone_tab = _tab("iso3166.tab"), _tab("zone.tab")
    if iso is None or zone_tab is None:
        return codes, zones
    for line in iso.splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        code, name = line.split("\t", 1)
        codes.setdefault(name.strip().lower(), code)
    for line in zone_tab.splitlines():
        parts = line.split("\t")
        if line.startswith("#") or len(parts) < 3:
            continue
        where = re.fullmatch(r"([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?", parts[1])
        if where is None:
            continue
        sign_a, da, ma, sa, sign_o, do, mo, so = where.groups()
        lat = (int(da) + int(ma) / 60 + int(sa or 0) / 3600) * (1 if sign_a == "+" else -1)
        lon = (int(do) + int(mo) / 60 + int(so or 0) / 3600) * (1 if sign_o == "+" else -1)
        zones.setdefault(parts[0], []).append((parts[2], lat, lon))
    return codes, zones


def _time_zone(country: str | None, point: Any) -> tuple[str | None, bool]:
    """The IANA zone of a site and whether it is a guess: the only zone of its country
    (France -> Europe/Paris), else the zone whose main city is nearest the site's coordinates
    (a guess a person confirms), else None."""
    if not country:
        return None, False
    codes, zones = _zones_by_country()
    found = zones.get(codes.get(country.lower(), ""), [])
    if len(found) == 1:
        return found[0][0], False
    lat, lon = _get(point, "lat"), _get(point, "lon")
    if found and isinstance(lat, int | float) and isinstance(lon, int | float):

        def distance(zone: tuple[str, float, float]) -> float:
            dlat = math.radians(zone[1] - lat)
            dlon = math.radians(zone[2] - lon)
            a = (
                math.sin(dlat / 2) ** 2
                + math.cos(math.radians(lat)) * math.cos(math.radians(zone[1])) * math.sin(dlon / 2) ** 2
            )
            return 2 * math.asin(min(1.0, math.sqrt(a)))

        return min(found, key=distance)[0], True
    return None, False


def _site_code(city: str, taken: set[str]) -> str:
    letters = re.sub(
        r"[^A-Z]", "", unicodedata.normalize("NFKD", city).encode("ascii", "ignore").decode().upper()
    )
    letters = letters or "SIT"
    candidates = [letters[:3]] + [letters[0] + a + b for a in letters[1:] for b in letters[2:]]
    for candidate in candidates:
        if len(candidate) == 3 and candidate not in taken:
            return candidate
    for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if f"{letters[0]}{a}{b}" not in taken:
                return f"{letters[0]}{a}{b}"
    raise NotAStudy("more sites than three-letter codes")


def _sites(study: dict[str, Any]) -> list[dict[str, Any]]:
    sites: list[dict[str, Any]] = []
    taken: set[str] = set()
    for location in _get(study, "protocolSection", "contactsLocationsModule", "locations") or []:
        if not isinstance(location, dict):
            continue
        city = _text(location.get("city"))
        code = _site_code(city or "", taken)
        taken.add(code)
        country = _text(location.get("country"))
        zone, guessed = _time_zone(country, location.get("geoPoint"))
        site: dict[str, Any] = {
            "code": code,
            "name": _text(location.get("facility")),
            "city": city,
            "postcode": _text(location.get("zip")),
            "country": country,
            "time_zone": zone,
            "source": "registry",
        }
        if guessed:
            site["proposed"] = True  # the nearest zone city's zone: a person confirms it
        sites.append(site)
    return sites


# ------------------------------------------------------------------ arms, interventions, outcomes


def _interventions(study: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    module = _get(study, "protocolSection", "armsInterventionsModule") or {}
    interventions = []
    for item in module.get("interventions") or []:
        if not isinstance(item, dict) or not _text(item.get("name")):
            continue
        doc: dict[str, Any] = {
            "name": _text(item.get("name")),
            "type": _enum_words(item.get("type")) or "Other",
            "description": _text(item.get("description")),
            "other_names": _texts(item.get("otherNames")),
            "source": "registry",
        }
        interventions.append(doc)
    names = [i["name"] for i in interventions]
    arms = []
    for index, group in enumerate(module.get("armGroups") or []):
        if not isinstance(group, dict):
            continue
        named = []
        for name in _texts(group.get("interventionNames")):
            bare = name.split(": ", 1)[1] if ": " in name else name
            named.append(bare if bare in names else name)
        arms.append(
            {
                "code": _arm_code(index),
                "title": _text(group.get("label")),
                "type": _enum_words(group.get("type")) or "Other",
                "interventions": named,
                "description": _text(group.get("description")),
                "source": "registry",
            }
        )
    return arms, interventions


def _arm_code(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return letters[index] if index < 26 else f"A{index + 1}"


def _endpoints(study: dict[str, Any]) -> list[dict[str, Any]]:
    module = _get(study, "protocolSection", "outcomesModule") or {}
    endpoints = []
    taken: set[str] = set()
    for kind, key in (("primary", "primaryOutcomes"), ("secondary", "secondaryOutcomes")):
        for outcome in module.get(key) or []:
            if not isinstance(outcome, dict) or not _text(outcome.get("measure")):
                continue
            title = _text(outcome.get("measure")) or ""
            code = _slug(title.split(":")[0], limit=40)
            while code in taken:
                code = f"{code}_{len(taken) + 1}"
            taken.add(code)
            description = " ".join(
                part
                for part in (
                    _text(outcome.get("description")),
                    f"Time frame: {_text(outcome['timeFrame'])}."
                    if _text(outcome.get("timeFrame"))
                    else None,
                )
                if part
            )
            endpoints.append(
                {
                    "code": code,
                    "kind": kind,
                    "title": title,
                    "derivation": None,
                    "description": description or None,
                    "source": "registry",
                }
            )
    return endpoints


# ------------------------------------------------------------------ the eligibility


def _eligibility(
    study: dict[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Proposal], dict[str, str]]:
    module = _get(study, "protocolSection", "eligibilityModule") or {}
    text = module.get("eligibilityCriteria")
    if not isinstance(text, str) or not text.strip():
        raise NotAStudy(
            "the study has no eligibility criteria text (protocolSection.eligibilityModule.eligibilityCriteria)"
        )
    split = split_criteria(text)
    if not split:
        raise NotAStudy("the study's eligibility criteria text holds no criterion")
    minimum, maximum = _years(module.get("minimumAge")), _years(module.get("maximumAge"))
    criteria: list[dict[str, Any]] = []
    proposals: dict[str, Proposal] = {}
    texts: dict[str, str] = {}
    fields: dict[str, dict[str, Any]] = {}
    counts = {"inclusion": 0, "exclusion": 0}
    for kind, criterion_text in split:
        counts[kind] += 1
        code = f"{kind[0].upper()}{counts[kind]}"
        texts[code] = criterion_text
        proposal = propose(criterion_text, kind, minimum_age=minimum, maximum_age=maximum)
        doc: dict[str, Any] = {"code": code, "kind": kind, "text": criterion_text}
        if proposal is None:
            doc.update({"rule": None, "applied_as": None, "applied_as_fr": ""})
        else:
            proposals[code] = proposal
            doc.update(
                {
                    "rule": proposal.rule,
                    "proposed": True,
                    "applied_as": proposal.applied_as,
                    "applied_as_fr": "",
                }
            )
            if proposal.note:
                doc["decision"] = proposal.note
            for f in proposal.fields:
                fields.setdefault(f.code, f.as_document())
        doc["source"] = "registry"
        criteria.append(doc)
    eligibility = {"form": SCREENING_FORM, "window_days": None, "source": "registry", "criteria": criteria}
    return eligibility, list(fields.values()), proposals, texts


#: the concept of a previous treatment by the study's own drug
_PRIOR_STUDY_DRUG = "prior_study_drug"


def _concepts(proposals: dict[str, Proposal], interventions: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The clinical concepts the proposed fields record (each concept on its first field): a
    previous treatment is the study drug's when an intervention of the record names it."""
    drugs = " | ".join(
        " ".join([i.get("name") or "", *(i.get("other_names") or [])]).lower() for i in interventions
    )
    placed: dict[str, list[str]] = {}
    for proposal in proposals.values():
        for f in proposal.fields:
            concept = f.concept
            if f.treatment and re.search(rf"\b{re.escape(f.treatment.lower())}\b", drugs):
                concept = _PRIOR_STUDY_DRUG
            if concept in CONCEPTS and concept not in placed:
                placed[concept] = [f"{SCREENING_FORM}.{f.code}"]
    if not placed:
        return None
    return {
        "source": "operational",
        "rationale": "Proposed by trialdesk protocol from-ctgov: the clinical concepts the proposed screening "
        "fields record.",
        "proposed": True,
        "fields": placed,
    }


def skeleton(data: Any) -> Skeleton:
    """The protocol skeleton of a study (the parsed API v2 JSON of one study)."""
    study = _study(data)
    eligibility, fields, proposals, texts = _eligibility(study)
    arms, interventions = _interventions(study)
    concepts = _concepts(proposals, interventions)
    document: dict[str, Any] = {
        "identification": _identification(study),
        "sites": _sites(study) or None,
        "arms": arms or None,
        "interventions": interventions or None,
        "eligibility": eligibility,
        "response_criteria": None,
        "endpoints": _endpoints(study) or None,
        "schedule": None,
        "forms": [
            {
                "code": SCREENING_FORM,
                "title": "Screening and eligibility",
                "title_fr": "",
                "source": "operational",
                "rationale": "Proposed by trialdesk protocol from-ctgov: the values the proposed eligibility rules read.",
                "fields": fields,
            }
        ],
    }
    if concepts is not None:
        document["concepts"] = concepts
    return Skeleton(document=document, proposals=proposals, criteria=texts)


# ------------------------------------------------------------------ YAML

_HEADER = """\
# Protocol skeleton of {nct} made by `trialdesk protocol from-ctgov` from its ClinicalTrials.gov
# record. What the record states is `source: registry`. To complete it:
#   - every `null` is a piece to write (the schedule, the response criteria, each endpoint's
#     derivation, each criterion's rule and plain-words reading, the screening window...);
#   - every `proposed: true` marks a rule or a field guessed from the criterion's wording:
#     check it and delete the mark;
#   - every empty `..._fr: ""` awaits its French.
# `trialdesk protocol validate FILE` lists what is left, each by its place.
"""

_SECTIONS = {
    "identification": "",
    "sites": "\n# ------------------------------------------------------------------ sites (the record's locations)\n",
    "arms": "\n# ------------------------------------------------------------------ arms and interventions\n",
    "interventions": "",
    "eligibility": "\n# ------------------------------------------------------------------ eligibility\n",
    "response_criteria": "\n# ------------------------------------------------------------------ to write\n",
    "endpoints": "\n# ------------------------------------------------------------------ endpoints (the record's outcomes)\n",
    "schedule": "\n# ------------------------------------------------------------------ to write: visits, days, windows, forms\n",
    "forms": "\n# ------------------------------------------------------------------ forms (the proposed screening fields)\n",
    "concepts": "\n# ------------------------------------------------------------------ the clinical concepts of the proposed fields\n",
}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if value == "" else None)


_Dumper.add_representer(str, _str)


def render_yaml(document: dict[str, Any]) -> str:
    """The skeleton as a YAML protocol file, one commented section after another."""
    parts = [_HEADER.format(nct=_get(document, "identification", "nct_id"))]
    for key, value in document.items():
        parts.append(_SECTIONS.get(key, "\n"))
        parts.append(
            yaml.dump(
                {key: value},
                Dumper=_Dumper,
                sort_keys=False,
                allow_unicode=True,
                width=100,
                default_flow_style=False,
            )
        )
    return "".join(parts)
