"""What a protocol file still lacks: the places where a person must write something.

A protocol skeleton (``trialdesk protocol from-ctgov``) marks them explicitly, and only
those marks make a file *incomplete* (a finished protocol never holds them):

- ``null`` where the model needs a value (the schedule, the response criteria, an
  endpoint's derivation, a criterion's rule...);
- ``proposed: true`` on a rule or a field guessed from the registry text, until a person
  checks it and deletes the mark;
- an empty French text (``label_fr: ""``, ``applied_as_fr: ""``...).

Each gap is an :class:`~trialdesk.protocol.checks.Issue` at its place, so the loader reports
it as ``file:line:column``; the model's own complaint about the same place (a null that is
not text, the unknown key ``proposed``) is left out: the gap says it better.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

from pydantic_core import ErrorDetails

from trialdesk.protocol.checks import Issue
from trialdesk.protocol.model import EndpointDerivation

__all__ = ["PROPOSED", "covered", "gaps"]

Loc = tuple[str | int, ...]

#: the key that marks a guessed element
PROPOSED = "proposed"

#: what a null at a place means for the person completing the file (by the place's last keys)
_WHAT = {
    (
        "schedule",
    ): "no schedule of assessments yet (visits with their days, windows and forms; the log forms)",
    ("response_criteria",): "no response criteria yet (the thresholds that decide each response)",
    ("arms",): "no arm yet (the record names none: give each arm its code, title, type and interventions)",
    ("interventions",): "no intervention yet",
    ("endpoints",): "no endpoint yet",
    ("forms",): "no form yet",
    ("sites",): "no site yet",
    (
        "window_days",
    ): "no screening window yet (how many days before the first dose screening results may be)",
    ("rule",): "no rule yet",
    ("applied_as",): "no plain-words reading yet (how the criterion is applied, shown under its wording)",
    ("derivation",): "no derivation yet",
    ("time_zone",): "no time zone yet (the IANA name of the site's time zone, e.g. Europe/Paris)",
    ("name",): "no name yet",
    ("postcode",): "no postcode yet",
    ("enrollment",): "no enrollment yet",
    ("phase",): "no phase yet",
    ("study_type",): "no study type yet (interventional or observational)",
}


def _what(loc: Loc) -> str:
    key = next((part for part in reversed(loc) if isinstance(part, str)), "")
    found = _WHAT.get((key,), "not written yet")
    if key == "derivation":
        found += f" (one of {', '.join(typing.get_args(EndpointDerivation))})"
    return found


def _label(item: dict[str, Any]) -> str | None:
    for key in ("code", "name"):
        if isinstance(item.get(key), str):
            return item[key]
    return None


def _path(loc: Loc, doc: Any) -> str:
    """A readable place: ``eligibility.criteria[I3]``, ``forms[screening].fields[ecog]``."""
    parts: list[str] = []
    node = doc
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = _label(item) if isinstance(item, dict) else None
            parts.append(f"[{label}]" if label else f"[{part}]")
            node = item
        else:
            parts.append(f".{part}" if parts else part)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "the protocol"


def _short(text: Any, limit: int = 60) -> str:
    words = " ".join(str(text).split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def _criterion_place(loc: Loc, doc: Any) -> tuple[Loc, str] | None:
    """For a place inside a criterion: the criterion's loc and how to name it
    (``eligibility.criteria[I3] (inclusion 3) 'performance status of 0-2…'``)."""
    if len(loc) < 3 or loc[:2] != ("eligibility", "criteria") or not isinstance(loc[2], int):
        return None
    criteria = doc.get("eligibility", {}).get("criteria", [])
    criterion = criteria[loc[2]] if 0 <= loc[2] < len(criteria) else None
    if not isinstance(criterion, dict):
        return None
    kind = criterion.get("kind")
    number = sum(1 for c in criteria[: loc[2] + 1] if isinstance(c, dict) and c.get("kind") == kind)
    name = f"{_path(loc[:3], doc)} ({kind} {number}) '{_short(criterion.get('text', ''))}'"
    return loc[:3], name


def _walk(node: Any, loc: Loc = ()) -> Iterator[tuple[Loc, Any]]:
    yield loc, node
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield from _walk(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*loc, index))


def gaps(doc: Any, errors: list[ErrorDetails]) -> list[Issue]:
    """Every piece a person must still add to the document ``doc`` (the YAML's plain data);
    ``errors`` are the model's validation errors on it (a null the model refuses is a gap)."""
    if not isinstance(doc, dict):
        return []
    found: list[Issue] = []
    for error in errors:
        loc = tuple(error["loc"])
        if error.get("input", ...) is not None or not _present_as_null(doc, loc):
            continue
        criterion = _criterion_place(loc, doc)
        if criterion is not None and loc[-1] == "rule":
            continue  # said with the criterion below
        place = _path(loc, doc) if criterion is None else f"{criterion[1]}: {loc[-1]}"
        found.append(Issue(loc, f"incomplete: {place}: {_what(loc)}"))
    for loc, node in _walk(doc):
        if not isinstance(node, dict):
            continue
        criterion = _criterion_place(loc, doc) if len(loc) == 3 else None
        if criterion is not None:
            rule = node.get("rule")
            if rule is None and "rule" in node:
                found.append(Issue((*loc, "rule"), f"incomplete: {criterion[1]}: no rule yet"))
            elif node.get(PROPOSED) is True:
                found.append(
                    Issue(
                        (*loc, PROPOSED),
                        f"incomplete: {criterion[1]}: no rule yet (proposed: {rule}; "
                        "check it, then delete 'proposed: true')",
                        at_key=True,
                    )
                )
        elif node.get(PROPOSED) is True:
            found.append(
                Issue(
                    (*loc, PROPOSED),
                    f"incomplete: {_path(loc, doc)}{_described(node)}: proposed, not confirmed "
                    "(check it, then delete 'proposed: true')",
                    at_key=True,
                )
            )
        for key, value in node.items():
            if isinstance(key, str) and key.endswith("_fr") and isinstance(value, str) and not value.strip():
                english = node.get(key[: -len("_fr")])
                shown = f" of '{_short(english)}'" if isinstance(english, str) and english.strip() else ""
                place = _criterion_place((*loc, key), doc)
                where = place[1] if place is not None else _path(loc, doc)
                found.append(Issue((*loc, key), f"incomplete: {where}: no French yet for {key[:-3]}{shown}"))
    return found


def _described(node: dict[str, Any]) -> str:
    """A proposed field's label, type and unit; a site's proposed time zone."""
    if isinstance(node.get("time_zone"), str) and "city" in node:
        return f" time zone {node['time_zone']} (the zone whose main city is nearest {node['city']})"
    if "type" not in node or "label" not in node:
        return ""
    unit = f", {node['unit']}" if node.get("unit") else ""
    return f" '{_short(node['label'])}' ({node['type']}{unit})"


def _present_as_null(doc: Any, loc: Loc) -> bool:
    node = doc
    for part in loc:
        if isinstance(part, int):
            if not isinstance(node, list) or not 0 <= part < len(node):
                return False
            node = node[part]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False  # a pydantic union member's name, or a missing key: not a placeholder
    return node is None


def covered(error: ErrorDetails, doc: Any) -> bool:
    """Whether a validation error is the model's view of a gap (left out of the report)."""
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and loc and loc[-1] == PROPOSED:
        return error.get("input") is True
    return error.get("input", ...) is None and _present_as_null(doc, loc)
