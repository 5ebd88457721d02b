"""Paired comparison: the Wilcoxon signed-rank test, as R's ``wilcox.test(x, y, paired = TRUE)``.

R's rule (src/library/stats/R/wilcox.test.R of wch/r-source, 2025, ``exact = NULL``,
``correct = TRUE``): with fewer than 50 pairs and no zero difference the p-value is exact —
conditional on the tied mid-ranks when there are ties (R's ``.psignrank`` with ``z``);
otherwise the zero differences are dropped (Wilcoxon's method) and the normal
approximation with the tie-corrected variance and a continuity correction is used.
The statistic is R's V, the sum of the ranks of the positive differences.

scipy (``scipy.stats.wilcoxon``, ``zero_method="wilcox"``) gives the exact p-value without
ties and the normal approximation. The exact distribution with tied mid-ranks is not in
scipy (its exact method assumes untied ranks), so it is written here: the permutation
distribution of V over the 2ⁿ sign choices, counted on the doubled ranks, as R's
``cpermdist1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from trialdesk.stats.errors import StatsInputError

ALTERNATIVES = ("two-sided", "greater", "less")
EXACT_LIMIT = 50  # R: exact when n < 50


@dataclass(frozen=True)
class SignedRankTest:
    n_pairs: int
    n_nonzero: int  # pairs left once the zero differences are dropped
    n_zero: int
    ties: bool
    statistic: float  # V, sum of the ranks of the positive differences
    p: float | None  # None when every difference is zero
    method: str  # "exact" or "normal approximation with continuity correction"
    alternative: str

    def to_dict(self) -> dict:
        return asdict(self)


def wilcoxon_signed_rank(
    before: Sequence[float], after: Sequence[float], alternative: str = "two-sided"
) -> SignedRankTest:
    """Signed-rank test of before − after (``greater``: before tends to exceed after)."""
    if alternative not in ALTERNATIVES:
        raise StatsInputError(
            "alternative", f"alternative must be one of {', '.join(ALTERNATIVES)}, not {alternative!r}"
        )
    if len(before) != len(after):
        raise StatsInputError(
            "after", f"{len(before)} values before but {len(after)} after: the pairs must match"
        )
    if len(before) == 0:
        raise StatsInputError("before", "no pair")
    x = np.asarray(before, dtype=float)
    y = np.asarray(after, dtype=float)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise StatsInputError("before", "every value must be a finite number")
    d = x - y
    nonzero = d[d != 0]
    n_zero = int(len(d) - len(nonzero))
    if len(nonzero) == 0:
        return SignedRankTest(len(d), 0, n_zero, False, 0.0, None, "none", alternative)
    ranks = stats.rankdata(np.abs(nonzero))
    ties = len(np.unique(np.abs(nonzero))) < len(nonzero)
    v = float(ranks[nonzero > 0].sum())
    exact = len(d) < EXACT_LIMIT and n_zero == 0
    if exact and ties:
        p = _exact_p_with_ties(ranks, v, alternative)
    else:
        p = float(
            stats.wilcoxon(
                nonzero,
                zero_method="wilcox",
                correction=not exact,
                alternative=alternative,
                method="exact" if exact else "approx",
            ).pvalue
        )
    return SignedRankTest(
        n_pairs=len(d),
        n_nonzero=len(nonzero),
        n_zero=n_zero,
        ties=ties,
        statistic=v,
        p=p,
        method="exact" if exact else "normal approximation with continuity correction",
        alternative=alternative,
    )


def _exact_p_with_ties(ranks: np.ndarray, v: float, alternative: str) -> float:
    """R's exact p-value with tied mid-ranks: P(V ≤ q) for "less", P(V > q − 1) for "greater"
    (R's ``.psignrank(q - 1, lower.tail = FALSE)``), two-sided twice the tail on V's side of
    its mean n(n + 1)/4, at most 1."""
    factor = 2 if np.any(ranks != np.floor(ranks)) else 1
    scores = np.rint(ranks * factor).astype(int)
    counts = np.zeros(int(scores.sum()) + 1)
    counts[0] = 1.0
    for score in scores:  # each difference positive or negative with probability 1/2
        shifted = np.zeros_like(counts)
        shifted[score:] = counts[: len(counts) - score]
        counts = counts + shifted
    density = counts / counts.sum()
    support = np.arange(len(counts)) / factor
    tolerance = np.sqrt(np.finfo(float).eps)

    def at_most(q: float) -> float:
        return float(density[support < q + tolerance].sum())

    n = len(ranks)
    if alternative == "less":
        return at_most(v)
    if alternative == "greater":
        return 1 - at_most(v - 1)
    tail = 1 - at_most(v - 1) if v > n * (n + 1) / 4 else at_most(v)
    return min(2 * tail, 1.0)
