"""Helpers of the protocol tests: corrupt a copy of the default protocol, find lines."""

from __future__ import annotations

import pytest

from trialdesk.protocol import Problem, ProtocolError, default_protocol_path, load_protocol_text

FILENAME = "corrupted.yaml"


def default_text() -> str:
    return default_protocol_path().read_text(encoding="utf-8")


def corrupt(old: str, new: str, text: str | None = None) -> str:
    """The protocol text with ``old`` (which must occur exactly once) replaced by ``new``."""
    text = default_text() if text is None else text
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the protocol"
    return text.replace(old, new)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the ``occurrence``-th ``needle``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    return text.count("\n", 0, start) + 1


def column_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based column of the ``occurrence``-th ``needle`` in its line."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    return start - (text.rfind("\n", 0, start) + 1) + 1


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ProtocolError) as caught:
        load_protocol_text(text, FILENAME)
    return caught.value.problems


def problem_at(problems: list[Problem], line: int, *words: str) -> Problem:
    """The problem reported at ``line`` whose message holds every word; fails with the list."""
    for problem in problems:
        if problem.line == line and all(word in problem.message for word in words):
            return problem
    listing = "\n".join(str(p) for p in problems)
    raise AssertionError(f"no problem at line {line} mentioning {words}; reported:\n{listing}")
