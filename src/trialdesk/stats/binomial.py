"""A binomial proportion with its confidence interval.

The exact Clopper–Pearson interval (the one R's ``binom.test`` prints) and the Wilson
score interval both come from scipy (``scipy.stats.binomtest(...).proportion_ci``);
nothing here is computed by hand but the checks of the input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from scipy import stats

from trialdesk.stats.errors import StatsInputError, check_level

METHODS = ("exact", "wilson")
_SCIPY_METHOD = {"exact": "exact", "wilson": "wilson"}


@dataclass(frozen=True)
class Proportion:
    """x responders of n, the estimate x/n and its two-sided confidence interval."""

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    level: float
    method: str

    def to_dict(self) -> dict:
        return asdict(self)


def proportion(x: int, n: int, level: float = 0.95, method: str = "exact") -> Proportion:
    """The proportion x/n with its confidence interval (``exact`` Clopper–Pearson, or ``wilson``)."""
    for name, value in (("x", x), ("n", n)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise StatsInputError(name, f"{name} must be a whole number, not {value!r}")
    if n < 1:
        raise StatsInputError("n", f"n must be at least 1, not {n}")
    if x < 0:
        raise StatsInputError("x", f"x must not be negative, not {x}")
    if x > n:
        raise StatsInputError("x", f"x ({x}) must not exceed n ({n})")
    level = check_level(level)
    if method not in METHODS:
        raise StatsInputError("method", f"method must be one of {', '.join(METHODS)}, not {method!r}")
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=level, method=_SCIPY_METHOD[method])
    return Proportion(
        x=x, n=n, estimate=x / n, lower=float(ci.low), upper=float(ci.high), level=level, method=method
    )
