"""The one error the statistics raise for bad input."""

from __future__ import annotations


class StatsInputError(ValueError):
    """Bad input to a statistic; ``argument`` names what is wrong (``x``, ``level``, a column…)."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument


def check_level(level: float, argument: str = "level") -> float:
    """A confidence level strictly between 0 and 1."""
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise StatsInputError(argument, f"{argument} must be strictly between 0 and 1, not {level!r}")
    return float(level)
