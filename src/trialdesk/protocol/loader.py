"""Load a protocol file: YAML -> checked document -> :class:`Protocol`.

Every problem is reported with the line and column of the YAML node it concerns:
the file is composed into nodes (which keep their position) before it is turned
into plain data, and the paths pydantic and the checks report are walked back
through those nodes.
"""

from __future__ import annotations

import difflib
import typing
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from trialdesk.protocol.checks import Issue, check_document
from trialdesk.protocol.completeness import covered, gaps
from trialdesk.protocol.errors import Problem, ProtocolError, ProtocolIncomplete
from trialdesk.protocol.model import Protocol

__all__ = [
    "DEFAULT_PROTOCOL",
    "default_protocol_path",
    "load_default_protocol",
    "load_protocol",
    "load_protocol_text",
]

DEFAULT_PROTOCOL = "NCT00724360"

Loc = tuple[str | int, ...]


def default_protocol_path() -> Path:
    """The packaged protocol of the seed trial (``trialdesk/protocols/NCT00724360.yaml``)."""
    return Path(str(resources.files("trialdesk") / "protocols" / f"{DEFAULT_PROTOCOL}.yaml"))


@lru_cache(maxsize=1)
def load_default_protocol() -> Protocol:
    """The default protocol, loaded once per process (the model is immutable)."""
    return load_protocol(default_protocol_path())


def load_protocol(path: str | Path) -> Protocol:
    """Load and validate a protocol file; raise :class:`ProtocolError` with every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProtocolError([Problem(str(path), None, None, "no such file")]) from None
    except IsADirectoryError:
        raise ProtocolError([Problem(str(path), None, None, "is a directory, not a protocol file")]) from None
    except UnicodeDecodeError as exc:
        raise ProtocolError([Problem(str(path), None, None, f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise ProtocolError([Problem(str(path), None, None, f"cannot be read ({exc.strerror})")]) from None
    return load_protocol_text(text, str(path))


def load_protocol_text(text: str, filename: str = "<protocol>") -> Protocol:
    """Load and validate a protocol from its YAML text (``filename`` names it in problems)."""
    root, data, problems = _compose(text, filename)
    if root is None:
        raise ProtocolError(problems)

    issues = check_document(data)

    protocol: Protocol | None = None
    errors: list[Any] = []
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # a placeholder of a skeleton is reported as a gap, not as the model's complaint about it
        issues = [*_pydantic_issues([e for e in errors if not covered(e, data)], data), *issues]
    missing = gaps(data, errors)

    locator = _Locator(root, text, filename)
    problems += [locator.problem(issue) for issue in issues]
    problems = list(dict.fromkeys(problems))  # the same problem found twice is reported once
    if missing:
        raise ProtocolIncomplete(problems, list(dict.fromkeys(locator.problem(gap) for gap in missing)))
    if problems or protocol is None:
        raise ProtocolError(problems)
    return protocol


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """Safe loader; dates stay dates, nothing else is constructed."""


def _compose(text: str, filename: str) -> tuple[yaml.Node | None, Any, list[Problem]]:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None, [Problem(filename, 1, 1, "the file is empty: a protocol is a YAML mapping")]
        problems = _duplicate_keys(root, filename)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        if exc.context_mark and mark and exc.context_mark.line != mark.line:
            message += f" (the construct began at line {exc.context_mark.line + 1})"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        return None, None, [Problem(filename, line, column, f"YAML syntax error: {message}")]
    except yaml.YAMLError as exc:
        return None, None, [Problem(filename, None, None, f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    return root, data, problems


def _duplicate_keys(root: yaml.Node, filename: str) -> list[Problem]:
    problems: list[Problem] = []
    stack = [root]
    seen_nodes: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in first:
                        mark = key.start_mark
                        problems.append(
                            Problem(
                                filename,
                                mark.line + 1,
                                mark.column + 1,
                                f"duplicate key {key.value!r} (first at line {first[key.value].start_mark.line + 1})",
                            )
                        )
                    else:
                        first[key.value] = key
                stack.append(value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return problems


# --------------------------------------------------------------------------- pydantic errors

_PATTERNS = {
    r"^[a-z][a-z0-9_]*$": "a lower-case identifier (letters, digits, '_', starting with a letter)",
    r"^[A-Z][A-Z0-9_]*$": "an upper-case code (letters, digits, '_', starting with a letter)",
    r"^[A-Z]{3}$": "three upper-case letters",
    r"^[A-Za-z][A-Za-z0-9_.-]*$": "a code (letters, digits, '_', '.', '-', starting with a letter)",
    r"^\d{4}-(0[1-9]|1[0-2])$": "a month as YYYY-MM, in quotes",
    r"^NCT\d{8}$": "an NCT number (NCT and 8 digits)",
}


def _pydantic_issues(errors: list[Any], data: Any) -> list[Issue]:
    issues = []
    for error in errors:
        loc: Loc = tuple(error["loc"])
        kind = error["type"]
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        given = error.get("input")
        if kind == "missing":
            parent, key = loc[:-1], loc[-1]
            issues.append(Issue(parent, f"{_path(parent, data)}: missing required key {key!r}"))
        elif kind == "extra_forbidden":
            parent, key = loc[:-1], loc[-1]
            allowed = _allowed_keys(parent)
            hint = ""
            if allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed: {', '.join(allowed)})"
            issues.append(Issue(loc, f"{_path(parent, data)}: unknown key {key!r}{hint}", at_key=True))
        elif kind == "string_pattern_mismatch":
            pattern = (error.get("ctx") or {}).get("pattern", "")
            wanted = _PATTERNS.get(pattern, f"text matching {pattern}")
            issues.append(Issue(loc, f"{_path(loc, data)}: {given!r} is not {wanted}"))
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            wanted = _EXPECTED.get(kind, message)
            issues.append(Issue(loc, f"{_path(loc, data)}: wrong type: {wanted}, got {_shown(given)}"))
        else:
            shown = f" (got {_shown(given)})" if kind != "value_error" and _scalar(given) else ""
            issues.append(Issue(loc, f"{_path(loc, data)}: {message}{shown}"))
    return issues


_EXPECTED = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected text (quote it)",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "date_type": "expected a date (YYYY-MM-DD)",
    "date_parsing": "expected a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "expected a date (YYYY-MM-DD)",
}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {value!r}"


def _path(loc: Loc, data: Any) -> str:
    """A readable path: ``forms[screening].fields[ecog].max``."""
    parts: list[str] = []
    node = data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            label = None
            if isinstance(item, dict):
                label = item.get("code") or item.get("name")
            parts.append(f"[{label}]" if isinstance(label, str) else f"[{part}]")
            node = item
        else:
            if isinstance(node, dict) and part in node:
                node = node[part]
                parts.append(f".{part}" if parts else part)
            elif isinstance(node, dict) or not parts:
                node = None
                parts.append(f".{part}" if parts else part)
            # a union member's name in the path: not a key of the document
    return "".join(parts) or "the protocol"


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys the model at ``loc`` accepts (for a hint on an unknown key)."""
    model: Any = Protocol
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return []
        model = _inner_model(fields[part].annotation)
        if model is None:
            return []
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is not None:  # list[...], X | None, Annotated[...]: look inside
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


# --------------------------------------------------------------------------- locations


class _Locator:
    def __init__(self, root: yaml.Node, text: str, filename: str):
        self.root = root
        self.lines = text.splitlines()
        self.filename = filename

    def problem(self, issue: Issue) -> Problem:
        node = self.find(issue.loc, issue.at_key)
        mark = node.start_mark
        line, column = mark.line + 1, mark.column + 1
        if issue.offset is not None and isinstance(node, yaml.ScalarNode):
            line, column = self._inside(node, issue.offset)
        message = issue.message
        if issue.first is not None:
            message += f" (first defined at line {self.find(issue.first).start_mark.line + 1})"
        return Problem(self.filename, line, column, message)

    def find(self, loc: Loc, at_key: bool = False) -> yaml.Node:
        node = self.root
        for index, part in enumerate(loc):
            last = index == len(loc) - 1
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                pair = next(
                    ((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part),
                    None,
                )
                if pair is None:
                    if part == "rationale":  # an operational element without rationale: show its source
                        source = next(
                            (k for k, _ in node.value if getattr(k, "value", None) == "source"), None
                        )
                        if source is not None:
                            return source
                    return node
                if last and at_key:
                    return pair[0]
                node = pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    return node
                node = node.value[part]
            # else: a union member's name in a pydantic path; it is not in the document
        return node

    def _inside(self, node: yaml.ScalarNode, offset: int) -> tuple[int, int]:
        """The position of the character at ``offset`` of a scalar's value."""
        start, end = node.start_mark, node.end_mark
        style = node.style
        if start.line == end.line and style in (None, "", "'", '"'):
            quote = 1 if style in ("'", '"') else 0
            return start.line + 1, start.column + 1 + quote + offset
        if style == "|":
            before = node.value[:offset]
            line_index = before.count("\n")
            column_in_line = offset - (before.rfind("\n") + 1)
            source_line = start.line + 1 + line_index
            if source_line < len(self.lines):
                text_line = self.lines[source_line]
                indent = len(text_line) - len(text_line.lstrip(" "))
                return source_line + 1, indent + column_in_line + 1
        return start.line + 1, start.column + 1
