"""Simon's two-stage designs for a single-arm phase II trial.

Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical
Trials 1989;10:1–10. Stage 1 treats n1 patients and stops if at most r1 respond;
otherwise n − n1 more are treated and p0 is rejected if more than r respond in all.
For p0 < p1, α and β, the *optimal* design minimises the expected size under p0
(EN0) and the *minimax* design minimises n (then EN0), among the designs whose type I
error is at most α and whose power at p1 is at least 1 − β.

No well-kept Python library offers this search (R's ``clinfun::ph2simon`` does), so it
is written here, by exact enumeration of every n ≤ nmax, n1 < n and r1 < n1 with the
smallest r that keeps the type I error at most α; the binomial probabilities come
from scipy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from trialdesk.stats.errors import StatsInputError

DEFAULT_NMAX = 100
MAX_NMAX = 500


@dataclass(frozen=True)
class SimonDesign:
    """Stop after n1 patients if responses ≤ r1; reject p0 if responses in all n exceed r."""

    r1: int
    n1: int
    r: int
    n: int
    en0: float  # expected number of patients under p0
    pet0: float  # probability of early termination under p0
    alpha: float  # actual type I error
    power: float  # actual power at p1

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SimonDesigns:
    p0: float
    p1: float
    alpha: float
    beta: float
    nmax: int
    optimal: SimonDesign | None
    minimax: SimonDesign | None

    def to_dict(self) -> dict:
        return {
            "p0": self.p0,
            "p1": self.p1,
            "alpha": self.alpha,
            "beta": self.beta,
            "nmax": self.nmax,
            "optimal": self.optimal.to_dict() if self.optimal else None,
            "minimax": self.minimax.to_dict() if self.minimax else None,
        }


def _probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise StatsInputError(name, f"{name} must be strictly between 0 and 1, not {value!r}")
    return float(value)


def operating_characteristics(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float]:
    """(probability of early termination, probability of rejecting p0) of a design at p."""
    pet = float(stats.binom.cdf(r1, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    reject = float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(r - x1, n - n1, p)))
    return pet, reject


class _Tables:
    """pmf[m][k] and sf[m][k] = P(X > k) for X ~ Bin(m, p), m ≤ nmax (sf indexed from k = −1)."""

    def __init__(self, nmax: int, p: float):
        self.pmf = [stats.binom.pmf(np.arange(m + 1), m, p) for m in range(nmax + 1)]
        # sf_shift[m][k + 1] = P(X > k) for k = -1 .. m, then 0 beyond
        self.sf_shift = [
            np.concatenate(([1.0], stats.binom.sf(np.arange(m + 1), m, p))) for m in range(nmax + 1)
        ]


def _reject_matrix(t: _Tables, n1: int, n: int) -> np.ndarray:
    """R[r1, r] = P(X1 > r1 and X1 + X2 > r) for r1 = 0..n1, r = 0..n."""
    n2 = n - n1
    x1 = np.arange(n1 + 1)[:, None]
    r = np.arange(n + 1)[None, :]
    k = np.clip(r - x1, -1, n2)  # P(X2 > r - x1): 1 when r - x1 < 0, 0 when r - x1 >= n2
    m = t.pmf[n1][:, None] * t.sf_shift[n2][k + 1]
    # sum over x1 > r1: reversed cumulative sum, shifted by one row
    tail = np.cumsum(m[::-1], axis=0)[::-1]
    return np.vstack((tail[1:], np.zeros((1, n + 1))))


def simon_designs(p0: float, p1: float, alpha: float, beta: float, nmax: int = DEFAULT_NMAX) -> SimonDesigns:
    """The optimal and minimax designs with n ≤ nmax (``None`` where no design qualifies)."""
    p0 = _probability("p0", p0)
    p1 = _probability("p1", p1)
    alpha = _probability("alpha", alpha)
    beta = _probability("beta", beta)
    if p1 <= p0:
        raise StatsInputError("p1", f"p1 ({p1:g}) must be greater than p0 ({p0:g})")
    if isinstance(nmax, bool) or not isinstance(nmax, int) or not 2 <= nmax <= MAX_NMAX:
        raise StatsInputError("nmax", f"nmax must be a whole number from 2 to {MAX_NMAX}, not {nmax!r}")
    null, alternative = _Tables(nmax, p0), _Tables(nmax, p1)
    optimal: tuple | None = None  # ((en0, r1, n1, r, alpha, power, pet0), n)
    minimax: tuple | None = None
    for n in range(2, nmax + 1):
        for n1 in range(1, n):
            reject0 = _reject_matrix(null, n1, n)
            reject1 = _reject_matrix(alternative, n1, n)
            pet0 = np.cumsum(null.pmf[n1])[:n1]  # P(X1 <= r1), r1 = 0..n1-1
            r1s = np.arange(n1)
            rs = np.arange(n + 1)
            allowed = (reject0[:n1] <= alpha) & (rs[None, :] >= r1s[:, None]) & (rs[None, :] < n)
            has = allowed.any(axis=1)
            first_r = np.argmax(allowed, axis=1)  # the smallest r keeping the type I error ≤ α
            power = reject1[r1s, first_r]
            ok = has & (power >= 1 - beta)
            if not ok.any():
                continue
            en0 = n1 + (1 - pet0) * (n - n1)
            for r1 in np.nonzero(ok)[0]:
                r = int(first_r[r1])
                design = (
                    float(en0[r1]),
                    int(r1),
                    n1,
                    r,
                    float(reject0[r1, r]),
                    float(power[r1]),
                    float(pet0[r1]),
                )
                if optimal is None or design[0] < optimal[0][0] - 1e-12:
                    optimal = (design, n)
                if (
                    minimax is None
                    or n < minimax[1]
                    or (n == minimax[1] and design[0] < minimax[0][0] - 1e-12)
                ):
                    minimax = (design, n)
    return SimonDesigns(
        p0=p0,
        p1=p1,
        alpha=alpha,
        beta=beta,
        nmax=nmax,
        optimal=_design(optimal),
        minimax=_design(minimax),
    )


def _design(found: tuple | None) -> SimonDesign | None:
    if found is None:
        return None
    (en0, r1, n1, r, actual_alpha, power, pet0), n = found
    return SimonDesign(r1=r1, n1=n1, r=r, n=n, en0=en0, pet0=pet0, alpha=actual_alpha, power=power)


DECISIONS = ("pending", "stop_futility", "continue", "reject_p0", "not_rejected")


@dataclass(frozen=True)
class SimonDecision:
    """Where the data stand against a declared design (codes, for a report to translate)."""

    decision: str  # one of DECISIONS
    stage: int  # 1 or 2
    responses: int
    evaluated: int
    explanation: str

    def to_dict(self) -> dict:
        return asdict(self)


def decide(design: SimonDesign, responses: int, evaluated: int) -> SimonDecision:
    """The design's decision for ``responses`` among the first ``evaluated`` subjects, in order.

    Stage 1 ends at n1: at most r1 responses stops the trial (``stop_futility``), more
    continues it; that is known early when the count can no longer stay at or below r1
    (``continue``) or can no longer exceed it (``stop_futility``). At n: more than r
    responses rejects p0 (``reject_p0``), otherwise ``not_rejected``; known early likewise.
    Beyond n1 subjects the trial is taken to have passed stage 1 (call it with the first
    n1 subjects to check that).
    """
    for name, value in (("responses", responses), ("evaluated", evaluated)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise StatsInputError(name, f"{name} must be a whole number of at least 0, not {value!r}")
    if responses > evaluated:
        raise StatsInputError("responses", f"responses ({responses}) must not exceed evaluated ({evaluated})")
    if evaluated > design.n:
        raise StatsInputError("evaluated", f"evaluated ({evaluated}) exceeds the design's n ({design.n})")
    r1, n1, r, n = design.r1, design.n1, design.r, design.n
    if evaluated <= n1:
        left = n1 - evaluated
        if responses > r1:
            return SimonDecision(
                "continue",
                1,
                responses,
                evaluated,
                f"{responses} responses of {evaluated}: more than {r1} in stage 1 (n1 = {n1}), the trial continues",
            )
        if responses + left <= r1:
            return SimonDecision(
                "stop_futility",
                1,
                responses,
                evaluated,
                f"{responses} responses of {evaluated}, at most {responses + left} of {n1}: "
                f"no more than {r1} in stage 1, the trial stops",
            )
        return SimonDecision(
            "pending",
            1,
            responses,
            evaluated,
            f"{responses} responses of {evaluated}; stage 1 needs more than {r1} of {n1} to continue",
        )
    left = n - evaluated
    if responses > r:
        return SimonDecision(
            "reject_p0",
            2,
            responses,
            evaluated,
            f"{responses} responses of {evaluated}: more than {r} of {n}, p0 rejected",
        )
    if responses + left <= r:
        return SimonDecision(
            "not_rejected",
            2,
            responses,
            evaluated,
            f"{responses} responses of {evaluated}, at most {responses + left} of {n}: no more than {r}, "
            "p0 not rejected",
        )
    return SimonDecision(
        "pending",
        2,
        responses,
        evaluated,
        f"{responses} responses of {evaluated}; more than {r} of {n} rejects p0",
    )
