"""Kaplan–Meier estimates, the median survival with its confidence interval, and the
log-rank test — matching R's survival package (``survfit``, ``quantile.survfit``,
``survdiff``; Therneau, https://github.com/therneau/survival).

- The estimate and the log-log ("log-log", R's ``conf.type="log-log"``) pointwise
  interval come from scipy (``scipy.stats.ecdf`` on ``CensoredData``); the Greenwood
  variance and the "log" interval (R's default ``conf.type``, kept to compare with R's
  printed output) are written here, as ``survfit_confint`` in R/survfit.R computes them.
- The median and its confidence interval (Brookmeyer & Crowley, Biometrics
  1982;38:29–41: the times where the confidence band of the curve crosses 0.5) follow
  R's ``quantile.survfit`` (``findq``: the midpoint rule on a flat at exactly 0.5, NA
  where the band never reaches it). No well-kept Python library prints them as R does,
  so this is written by hand.
- The log-rank test: scipy (``scipy.stats.logrank``) for two groups; for three or more
  the statistic (O − E)ᵀ V⁻¹ (O − E) with the hypergeometric variance is written here,
  as R's ``survdiff`` computes it (groups with no expected event are left out, and the
  degrees of freedom are the number of groups with an expected event, minus one).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from trialdesk.stats.errors import StatsInputError, check_level

CONF_TYPES = ("log-log", "log")
_TOLERANCE = math.sqrt(np.finfo(float).eps)  # R's quantile.survfit tolerance


@dataclass(frozen=True)
class SurvivalRow:
    """One event time, as R's ``summary(survfit(...))`` prints it (``None`` where R prints NA)."""

    time: float
    n_risk: int
    n_event: int
    survival: float
    lower: float | None
    upper: float | None

    def to_dict(self) -> dict:
        return {
            "time": self.time,
            "n_risk": self.n_risk,
            "n_event": self.n_event,
            "survival": self.survival,
            "lower": self.lower,
            "upper": self.upper,
        }


@dataclass(frozen=True)
class KaplanMeier:
    n: int
    events: int
    median: float | None
    median_lower: float | None
    median_upper: float | None
    table: tuple[SurvivalRow, ...]
    level: float
    conf_type: str

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "events": self.events,
            "median": self.median,
            "median_lower": self.median_lower,
            "median_upper": self.median_upper,
            "table": [row.to_dict() for row in self.table],
        }

    def survival_at(self, time: float) -> float:
        """The estimate S(t): the last event time at or before t (1 before the first event)."""
        value = 1.0
        for row in self.table:
            if row.time > time:
                break
            value = row.survival
        return value


@dataclass(frozen=True)
class LogRank:
    """The log-rank test across the groups (R's ``survdiff``, rho = 0)."""

    groups: tuple[str, ...]
    n: tuple[int, ...]
    observed: tuple[float, ...]
    expected: tuple[float, ...]
    chisq: float
    df: int
    p: float | None  # None when no test is possible (df = 0)
    method: str

    def to_dict(self) -> dict:
        return {"chisq": self.chisq, "df": self.df, "p": self.p}


@dataclass(frozen=True)
class SurvivalAnalysis:
    groups: dict[str, KaplanMeier] = field(default_factory=dict)
    logrank: LogRank | None = None

    def to_dict(self) -> dict:
        result: dict = {"groups": {name: km.to_dict() for name, km in self.groups.items()}}
        if self.logrank is not None:
            result["logrank"] = self.logrank.to_dict()
        return result


def _check(times: Sequence[float], events: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    if len(times) != len(events):
        raise StatsInputError("event", f"{len(times)} times but {len(events)} events")
    if len(times) == 0:
        raise StatsInputError("time", "no observation")
    t = np.asarray(times, dtype=float)
    if not np.all(np.isfinite(t)):
        raise StatsInputError("time", "every time must be a finite number")
    if np.any(t < 0):
        raise StatsInputError("time", f"times must not be negative (found {t[t < 0][0]:g})")
    e = np.asarray(events)
    if not np.all(np.isin(e, (0, 1))):
        bad = [v for v in events if v not in (0, 1)][0]
        raise StatsInputError("event", f"events must be 0 (censored) or 1 (event), not {bad!r}")
    return t, e.astype(int)


def _at_risk_and_events(t: np.ndarray, e: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number at risk (time ≥ u) and number of events (at u) at each of the sorted times u."""
    ordered = np.sort(t)
    n_risk = len(t) - np.searchsorted(ordered, times, side="left")
    events = np.sort(t[e == 1])
    n_event = np.searchsorted(events, times, side="right") - np.searchsorted(events, times, side="left")
    return n_risk.astype(int), n_event.astype(int)


def _greenwood_se_log(n_risk: np.ndarray, n_event: np.ndarray) -> np.ndarray:
    """Standard error of log S(t) (Greenwood): sqrt(Σ d / (n (n − d))); inf once S = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), np.inf)
    return np.sqrt(np.cumsum(terms))


def _log_interval(s: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """R's conf.type = "log" (survfit_confint): exp(log S ± z se), the upper capped at 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        xx = np.where(s == 0, np.nan, s)
        lower = np.where(se == 0, s, np.exp(np.log(xx) - z * se))
        upper = np.where(se == 0, s, np.minimum(np.exp(np.log(xx) + z * se), 1.0))
    return lower, upper


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float | None:
    """R's ``findq`` (quantile.survfit.R): where the horizontal line at p meets the step
    curve y = 1 − S; the midpoint of a flat lying at p within tolerance; None (NA) if never."""
    keep = ~np.isnan(y)
    if not keep.any() or np.nanmax(y) < p:
        return None
    xmax = x[-1]
    # drop duplicated y values (the censored times), NA included, as R's duplicated() does
    seen: set = set()
    idx = []
    for i, value in enumerate(y):
        key = "NA" if np.isnan(value) else value
        if key in seen:
            continue
        seen.add(key)
        idx.append(i)
    x, y = x[idx], y[idx]

    def first_at_or_above(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, method="constant", f=1): the index of the first point whose
        # (shifted) y reaches p, the NA points left out; NA when p is outside their range
        points = [(y[i] + shift, i) for i in range(len(y)) if not np.isnan(y[i])]
        points.sort()
        if not points or p < points[0][0] or p > points[-1][0]:
            return None
        for value, i in points:
            if value >= p:
                return i
        return None

    i1, i2 = first_at_or_above(_TOLERANCE), first_at_or_above(-_TOLERANCE)
    if i1 is None:
        return None
    last = y[-1]
    if not np.isnan(last) and abs(p - last) < _TOLERANCE:
        return float((x[i1] + xmax) / 2)
    if i2 is None:
        return None
    return float((x[i1] + x[i2]) / 2)


def kaplan_meier(
    times: Sequence[float], events: Sequence[int], level: float = 0.95, conf_type: str = "log-log"
) -> KaplanMeier:
    """The Kaplan–Meier curve of one group, its pointwise interval and its median with CI."""
    level = check_level(level)
    if conf_type not in CONF_TYPES:
        raise StatsInputError(
            "conf_type", f"conf_type must be one of {', '.join(CONF_TYPES)}, not {conf_type!r}"
        )
    t, e = _check(times, events)
    all_times = np.unique(t)
    n_risk, n_event = _at_risk_and_events(t, e, all_times)
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    if e.any():
        sample = stats.CensoredData(uncensored=t[e == 1], right=t[e == 0])
        sf = stats.ecdf(sample).sf
        survival = np.asarray(sf.evaluate(all_times), dtype=float)
    else:
        sf = None
        survival = np.ones(len(all_times))
    se = _greenwood_se_log(n_risk, n_event)
    if conf_type == "log":
        lower, upper = _log_interval(survival, se, z)
    else:
        lower, upper = _loglog_interval(sf, all_times, survival, se, level)
    # the median and its interval: R's doquant on x = (0, times), y = (0, 1 − curve)
    x = np.concatenate(([0.0], all_times))
    median = _findq(x, np.concatenate(([0.0], 1 - survival)), 0.5)
    median_lower = _findq(x, np.concatenate(([0.0], 1 - lower)), 0.5)
    median_upper = _findq(x, np.concatenate(([0.0], 1 - upper)), 0.5)
    table = tuple(
        SurvivalRow(
            time=_number(all_times[i]),
            n_risk=int(n_risk[i]),
            n_event=int(n_event[i]),
            survival=float(survival[i]),
            lower=_maybe(lower[i]),
            upper=_maybe(upper[i]),
        )
        for i in range(len(all_times))
        if n_event[i] > 0
    )
    return KaplanMeier(
        n=len(t),
        events=int(e.sum()),
        median=median,
        median_lower=median_lower,
        median_upper=median_upper,
        table=table,
        level=level,
        conf_type=conf_type,
    )


def _loglog_interval(sf, all_times, survival, se, level) -> tuple[np.ndarray, np.ndarray]:
    """scipy's log-log interval at every time; S = 1 (no event yet) gives (1, 1) as in R."""
    lower = np.ones(len(all_times))
    upper = np.ones(len(all_times))
    if sf is None:
        return lower, upper
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # undefined where S = 0: None below, as R's NA
        ci = sf.confidence_interval(confidence_level=level, method="log-log")
        low = np.asarray(ci.low.evaluate(all_times), dtype=float)
        high = np.asarray(ci.high.evaluate(all_times), dtype=float)
    started = se > 0
    lower = np.where(started, low, survival)
    upper = np.where(started, high, survival)
    lower = np.where(survival == 0, np.nan, lower)
    upper = np.where(survival == 0, np.nan, upper)
    return lower, upper


def _maybe(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def logrank(times: Sequence[float], events: Sequence[int], groups: Sequence[str]) -> LogRank:
    """The log-rank test of equal survival across the groups (two or more)."""
    t, e = _check(times, events)
    if len(groups) != len(t):
        raise StatsInputError("group", f"{len(t)} times but {len(groups)} groups")
    names = tuple(sorted({str(g) for g in groups}))
    if len(names) < 2:
        raise StatsInputError("group", "the log-rank test needs at least two groups")
    g = np.array([names.index(str(v)) for v in groups])
    observed, expected, variance = _survdiff(t, e, g, len(names))
    n = tuple(int(np.sum(g == k)) for k in range(len(names)))
    keep = expected > 0
    df = int(keep.sum()) - 1
    if df < 1:
        return LogRank(names, n, tuple(observed), tuple(expected), 0.0, 0, None, "none")
    if len(names) == 2:
        first = g == 0
        result = stats.logrank(
            stats.CensoredData(uncensored=t[first & (e == 1)], right=t[first & (e == 0)]),
            stats.CensoredData(uncensored=t[~first & (e == 1)], right=t[~first & (e == 0)]),
        )
        chisq, method = float(result.statistic) ** 2, "scipy.stats.logrank"
    else:
        diff = (observed - expected)[keep][1:]
        v = variance[np.ix_(keep, keep)][1:, 1:]
        chisq, method = float(diff @ np.linalg.solve(v, diff)), "survdiff"
    return LogRank(
        groups=names,
        n=n,
        observed=tuple(float(o) for o in observed),
        expected=tuple(float(x) for x in expected),
        chisq=chisq,
        df=df,
        p=float(stats.chi2.sf(chisq, df)),
        method=method,
    )


def _survdiff(
    t: np.ndarray, e: np.ndarray, g: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected events per group and the hypergeometric variance matrix."""
    event_times = np.unique(t[e == 1])
    at_risk = np.zeros((len(event_times), k))
    deaths = np.zeros((len(event_times), k))
    for j in range(k):
        at_risk[:, j], deaths[:, j] = _at_risk_and_events(t[g == j], e[g == j], event_times)
    n = at_risk.sum(axis=1)
    d = deaths.sum(axis=1)
    observed = deaths.sum(axis=0)
    expected = (d[:, None] * at_risk / n[:, None]).sum(axis=0)
    variance = np.zeros((k, k))
    for i in np.nonzero(n > 1)[0]:
        share = at_risk[i] / n[i]
        variance += d[i] * (n[i] - d[i]) / (n[i] - 1) * (np.diag(share) - np.outer(share, share))
    return observed, expected, variance


def survival_by_group(
    times: Sequence[float],
    events: Sequence[int],
    groups: Sequence[str] | None = None,
    level: float = 0.95,
    conf_type: str = "log-log",
) -> SurvivalAnalysis:
    """Kaplan–Meier of each group (one group ``all`` without groups) and, with groups, the log-rank test."""
    t, e = _check(times, events)
    if groups is None:
        return SurvivalAnalysis(groups={"all": kaplan_meier(t, e, level, conf_type)})
    if len(groups) != len(t):
        raise StatsInputError("group", f"{len(t)} times but {len(groups)} groups")
    labels = [str(v) for v in groups]
    names = sorted(set(labels))
    fits = {}
    for name in names:
        mask = np.array([label == name for label in labels])
        fits[name] = kaplan_meier(t[mask], e[mask], level, conf_type)
    test = logrank(t, e, labels) if len(names) >= 2 else None
    return SurvivalAnalysis(groups=fits, logrank=test)
