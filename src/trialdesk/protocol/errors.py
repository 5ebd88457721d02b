"""Problems found in a protocol file, each with its place (file:line:column)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem of a protocol file. ``line`` and ``column`` are 1-based;
    ``None`` when the problem concerns the whole file (it cannot be read)."""

    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column or 1}: {self.message}"


class ProtocolError(Exception):
    """A protocol file that does not load: carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ProtocolIncomplete(ProtocolError):
    """A protocol file that is not finished (a skeleton): ``gaps`` are the places a person
    must still write (each a :class:`Problem` whose message starts with "incomplete: "),
    ``problems`` every problem, the gaps included."""

    def __init__(self, problems: list[Problem], gaps: list[Problem]):
        super().__init__([*problems, *gaps])
        self.gaps = sorted(gaps, key=lambda p: (p.file, p.line or 0, p.column or 0, p.message))
        self.errors = [p for p in self.problems if p not in set(gaps)]
