"""The one error the rule language raises: a rule that cannot be read."""

from __future__ import annotations


class RuleSyntaxError(ValueError):
    """A rule text that does not parse (or cannot be a condition).

    ``message`` is plain English and names the column; ``column`` is the 1-based
    position in ``text`` where the problem is.
    """

    def __init__(self, message: str, column: int, text: str):
        super().__init__(message)
        self.message = message
        self.column = column
        self.text = text

    def caret(self) -> str:
        """The offending line with a ``^`` under the column (for command-line output)."""
        line = self.text.replace("\n", " ").replace("\t", " ")
        col = max(1, min(self.column, len(line) + 1))
        return f"{line}\n{' ' * (col - 1)}^"

    def __reduce__(self):  # keep the extra attributes through pickling (multiprocessing, caches)
        return (type(self), (self.message, self.column, self.text))
