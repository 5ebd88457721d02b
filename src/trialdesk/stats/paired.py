"""Paired comparison: the Wilcoxon signed-rank test, as R's ``wilcox.test(x, y, paired = TRUE)``.

The differences x − y that are zero are dropped (Wilcoxon's method, R's default). The
exact distribution is used when fewer than 50 differences remain and there is neither a
tie among their absolute values nor a zero — R's rule (``exact = NULL``); otherwise the
normal approximation with the tie-corrected variance and a continuity correction
(``correct = TRUE``). The p-value comes from scipy (``scipy.stats.wilcoxon`` with
``zero_method="wilcox"``, ``method`` chosen by that rule); the statistic reported is R's
V, the sum of the ranks of the positive differences.
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
    exact = len(nonzero) < EXACT_LIMIT and not ties and n_zero == 0
    result = stats.wilcoxon(
        nonzero,
        zero_method="wilcox",
        correction=not exact,
        alternative=alternative,
        method="exact" if exact else "approx",
    )
    return SignedRankTest(
        n_pairs=len(d),
        n_nonzero=len(nonzero),
        n_zero=n_zero,
        ties=ties,
        statistic=v,
        p=float(result.pvalue),
        method="exact" if exact else "normal approximation with continuity correction",
        alternative=alternative,
    )
