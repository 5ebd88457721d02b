"""Recruitment forecasting with the Poisson–gamma model.

Model (Anisimov & Fedorov 2007): site *i* recruits as a Poisson process with a
constant rate λᵢ; the rates of the sites are independent draws from a
Gamma(α, β) distribution (shape α, rate β). After τᵢ days of recruitment with
kᵢ patients, the marginal distribution of kᵢ is negative binomial::

    P(kᵢ) = Γ(α+kᵢ) / (Γ(α) kᵢ!) · (β/(β+τᵢ))^α · (τᵢ/(β+τᵢ))^kᵢ

α and β are fitted by maximum likelihood of these counts (empirical Bayes),
and each site's rate is updated to its posterior Gamma(α+kᵢ, β+τᵢ).

Given the site rates, the pooled future recruitment is a Poisson process of
rate Λ = Σλᵢ, so the time to the n more patients still needed is
Gamma(n, 1)/Λ. When Λ itself is Gamma(a, b) — one pooled rate, or sites whose
posteriors coincide — the time T is a scaled beta-prime (Pearson type VI)
variable, T/b ~ BetaPrime(n, a), i.e.::

    P(T ≤ t) = I_{t/(t+b)}(n, a)      (regularised incomplete beta)

which is also P(NegBin(a, b/(b+t)) ≥ n): "reached by t" ⇔ "at least n
recruited by t". In general Λ is a sum of gammas with different rates and T is
simulated (vectorised draws of each site's posterior rate).

Degenerate cases, each reported in ``notes``:

* counts no more dispersed than Poisson (all sites recruit at about the same
  rate) drive α̂ → ∞; the fit is capped at ``ALPHA_CAP`` and the forecast uses
  one common rate for all sites with the posterior Gamma(Σkᵢ, Στᵢ) (the
  α → ∞ limit of the model, with the uncertainty of the common rate kept) —
  a closed form;
* one site with exposure: between-site variation cannot be estimated; same
  common-rate forecast;
* a site not yet active at the as-of date (zero exposure) carries no
  information: it is left out of the fit and recruits in the forecast from its
  activation date at the fitted population rate Gamma(α, β);
* no patient at all: no forecast (``ForecastError``).

Units: time is counted in days. An as-of date counts as a full day of
exposure (τᵢ = days from activation to as-of, both included, so a patient
enrolled on the as-of date always lies inside the exposure) and the forecast
starts at the end of the as-of day; a time T after it falls on the date
as_of + ⌈T⌉. λ and β are per day; rates reported to people are per month of
30.44 days (``DAYS_PER_MONTH``), and say so in their names.

Limitation: the intervals are those of the plug-in (empirical Bayes) model —
the uncertainty of α̂ and β̂ is not propagated, so they are somewhat too narrow
when the number still to recruit is large compared to the number recruited
(Mountain & Sherlock 2022).

References
----------
V. V. Anisimov and V. V. Fedorov (2007). Modelling, prediction and adaptive
    adjustment of recruitment in multicentre trials. Statistics in Medicine
    26(27):4958–4975. doi:10.1002/sim.2956
V. V. Anisimov (2011). Statistical modeling of clinical trials (recruitment
    and randomization). Communications in Statistics — Theory and Methods
    40(19–20):3684–3699. (Pearson type VI law of the time to reach a target
    under a Poisson–gamma rate.)
R. Mountain and C. Sherlock (2022). Recruitment prediction for multicenter
    clinical trials based on a hierarchical Poisson–gamma model: asymptotic
    analysis and improved intervals. Biometrics 78(2):636–648.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

import numpy as np
from scipy import optimize, special

__all__ = [
    "ALPHA_CAP",
    "DAYS_PER_MONTH",
    "DEFAULT_FAN_LEVELS",
    "ForecastError",
    "GammaFit",
    "RecruitmentForecast",
    "SitePosterior",
    "SiteRecruitment",
    "fit_gamma_rates",
    "forecast_recruitment",
    "simulate_time_to_target",
    "sites_from_rows",
    "time_to_target_cdf_closed_form",
    "time_to_target_quantile_closed_form",
]

DAYS_PER_MONTH = 30.44
ALPHA_CAP = 1.0e4  # shape at which the site rates count as equal (CV 1 %)
_ALPHA_FLOOR = 1.0e-3
DEFAULT_FAN_LEVELS: tuple[float, ...] = (0.025, *(round(0.05 * i, 2) for i in range(1, 20)), 0.975)
DEFAULT_DRAWS = 100_000

Method = Literal["closed_form", "simulation", "target_reached"]


class ForecastError(ValueError):
    """The data cannot give a forecast; the message says why, for a person."""


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class SiteRecruitment:
    """One site: when it opened and the enrollment date of each of its patients."""

    site: str
    activation_date: date
    enrollment_dates: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "enrollment_dates", tuple(sorted(self.enrollment_dates)))


def _parse_date(value: Any, column: str, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = "" if value is None else str(value).strip()
    if not text:
        raise ForecastError(f"{where}: {column} is empty")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ForecastError(f"{where}: {column} {text!r} is not a date (expected YYYY-MM-DD)") from None


def sites_from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    as_of: date | None = None,
    line_numbers: Iterable[int] | None = None,
) -> list[SiteRecruitment]:
    """Sites from rows with keys ``site``, ``activation_date``, ``enrollment_date``.

    One row per enrolled patient; a site without patient appears once with an
    empty ``enrollment_date``. Dates are ISO strings (or ``date`` objects).
    Messages name each row by its line in ``line_numbers`` (default 2, 3, …:
    a CSV file with a header row). With ``as_of``, an enrollment after it is an
    error. Sites come back in order of first appearance.
    """
    activations: dict[str, tuple[date, int | str]] = {}
    enrollments: dict[str, list[date]] = {}
    lines = itertools.count(2) if line_numbers is None else iter(line_numbers)
    for row in rows:
        line = next(lines, "?")
        where = f"line {line}"
        site = str(row.get("site") or "").strip()
        if not site:
            raise ForecastError(f"{where}: the site is empty")
        activation = _parse_date(row.get("activation_date"), "activation_date", where)
        known = activations.get(site)
        if known is None:
            activations[site] = (activation, line)
            enrollments[site] = []
        elif known[0] != activation:
            raise ForecastError(
                f"{where}: site {site}: activation_date {activation.isoformat()} differs from "
                f"{known[0].isoformat()} on line {known[1]}"
            )
        raw = row.get("enrollment_date")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        enrolled = _parse_date(raw, "enrollment_date", where)
        if enrolled < activation:
            raise ForecastError(
                f"{where}: site {site}: enrollment {enrolled.isoformat()} is before the site's "
                f"activation {activation.isoformat()}"
            )
        if as_of is not None and enrolled > as_of:
            raise ForecastError(
                f"{where}: site {site}: enrollment {enrolled.isoformat()} is after the as-of date "
                f"{as_of.isoformat()}"
            )
        enrollments[site].append(enrolled)
    return [SiteRecruitment(site, activations[site][0], tuple(enrollments[site])) for site in activations]


# --------------------------------------------------------------------------- fit


@dataclass(frozen=True)
class GammaFit:
    """Maximum-likelihood Gamma(α, β) of the site rates (β and rates per day)."""

    alpha: float
    beta: float
    log_likelihood: float
    n_sites: int
    total_enrolled: int
    total_exposure_days: float
    capped: bool  # α̂ reached ALPHA_CAP: no between-site variation detected

    @property
    def mean_rate_per_day(self) -> float:
        return self.alpha / self.beta


def _nb_log_likelihood(alpha: float, beta: float, k: np.ndarray, tau: np.ndarray) -> float:
    return float(
        np.sum(
            special.gammaln(alpha + k)
            - special.gammaln(alpha)
            - special.gammaln(k + 1.0)
            + alpha * np.log(beta / (beta + tau))
            + special.xlogy(k, tau / (beta + tau))
        )
    )


def _profile_beta(alpha: float, k: np.ndarray, tau: np.ndarray) -> float:
    """β̂(α): the root of ∂ℓ/∂β = nα/β − Σ(α+kᵢ)/(β+τᵢ) = 0.

    Multiplied by β, the score is nα − Σ(α+kᵢ)·β/(β+τᵢ): strictly decreasing
    in β from nα > 0 to −Σkᵢ < 0, so the root is unique; it is found on log β.
    """
    n_alpha = len(k) * alpha

    def score(log_beta: float) -> float:
        beta = math.exp(log_beta)
        return n_alpha - float(np.sum((alpha + k) * beta / (beta + tau)))

    # β̂ lies within a wide bracket around α·(mean exposure per patient).
    centre = math.log(alpha * float(tau.sum()) / float(k.sum()))
    low, high = centre - 10.0, centre + 10.0
    while score(low) < 0:
        low -= 10.0
    while score(high) > 0:
        high += 10.0
    return math.exp(optimize.brentq(score, low, high, xtol=1e-12, rtol=1e-12))


def fit_gamma_rates(counts: Sequence[int], exposures_days: Sequence[float]) -> GammaFit:
    """Fit Gamma(α, β) to per-site counts kᵢ over exposures τᵢ (days) by maximum likelihood.

    The negative-binomial likelihood is profiled over β (a unique root for each
    α, see ``_profile_beta``) and maximised over log α on [1e-3, ALPHA_CAP]: a
    coarse grid first, then bounded Brent around its best point, so that a
    likelihood still rising at the cap is recognised as such (``capped``).
    """
    k = np.asarray(counts, dtype=float)
    tau = np.asarray(exposures_days, dtype=float)
    if k.shape != tau.shape or k.ndim != 1 or len(k) == 0:
        raise ForecastError("counts and exposures must be two non-empty lists of the same length")
    if np.any(tau <= 0):
        raise ForecastError("every site in the fit needs a positive exposure")
    if np.any(k < 0) or np.any(k != np.round(k)):
        raise ForecastError("counts must be non-negative integers")
    total = int(k.sum())
    if total == 0:
        raise ForecastError("cannot forecast without any enrolled patient")

    def negative_profile(log_alpha: float) -> float:
        alpha = math.exp(log_alpha)
        return -_nb_log_likelihood(alpha, _profile_beta(alpha, k, tau), k, tau)

    low, high = math.log(_ALPHA_FLOOR), math.log(ALPHA_CAP)
    grid = np.linspace(low, high, 29)
    values = [negative_profile(u) for u in grid]
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    found = optimize.minimize_scalar(
        negative_profile, bounds=(lo, hi), method="bounded", options={"xatol": 1e-7}
    )
    log_alpha = float(found.x) if found.fun <= values[best] else float(grid[best])
    capped = log_alpha >= high - 1e-3
    alpha = ALPHA_CAP if capped else math.exp(log_alpha)
    beta = _profile_beta(alpha, k, tau)
    return GammaFit(
        alpha=alpha,
        beta=beta,
        log_likelihood=_nb_log_likelihood(alpha, beta, k, tau),
        n_sites=len(k),
        total_enrolled=total,
        total_exposure_days=float(tau.sum()),
        capped=capped,
    )


# --------------------------------------------------------------------------- time to target


def time_to_target_cdf_closed_form(n: int, a: float, b: float, t: float | np.ndarray) -> float | np.ndarray:
    """P(T ≤ t) for the time T to n more events of a Poisson process with rate Λ ~ Gamma(a, b).

    T = G/Λ with G ~ Gamma(n, 1), so T/b ~ BetaPrime(n, a) and
    P(T ≤ t) = I_{t/(t+b)}(n, a) (Anisimov 2011). Units of t and 1/b agree.
    """
    t_arr = np.asarray(t, dtype=float)
    x = np.where(t_arr > 0, t_arr / (t_arr + b), 0.0)
    result = special.betainc(n, a, x)
    return float(result) if np.ndim(result) == 0 else result


def time_to_target_quantile_closed_form(
    n: int, a: float, b: float, q: float | np.ndarray
) -> float | np.ndarray:
    """The q-quantile of T in ``time_to_target_cdf_closed_form``: b·x/(1−x), x = I⁻¹_q(n, a)."""
    x = special.betaincinv(n, a, np.asarray(q, dtype=float))
    with np.errstate(divide="ignore"):
        result = b * x / (1.0 - x)
    return float(result) if np.ndim(result) == 0 else result


def simulate_time_to_target(
    n: int,
    shapes: Sequence[float],
    rates: Sequence[float],
    *,
    delays: Sequence[float] | None = None,
    draws: int = DEFAULT_DRAWS,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """Draws of the time to n more events when site *i* has rate λᵢ ~ Gamma(shapesᵢ, ratesᵢ).

    Site *i* starts recruiting ``delaysᵢ`` time units from now (default 0). For
    one draw of the λᵢ the cumulative intensity C(t) = Σλᵢ·(t − dᵢ)⁺ is
    piecewise linear and the n-th event comes when C(t) reaches G ~ Gamma(n, 1);
    with no delays, T = G/Σλᵢ. Sites sharing a rate and a delay are drawn as one
    gamma (sum of Gamma(aᵢ, b) is Gamma(Σaᵢ, b)), so memory is O(draws).
    """
    generator = np.random.default_rng(rng)
    shapes_arr = np.asarray(shapes, dtype=float)
    rates_arr = np.asarray(rates, dtype=float)
    delays_arr = np.zeros_like(shapes_arr) if delays is None else np.asarray(delays, dtype=float)
    if not (shapes_arr.shape == rates_arr.shape == delays_arr.shape) or shapes_arr.size == 0:
        raise ValueError("shapes, rates and delays must be non-empty and of equal length")
    if np.any(shapes_arr <= 0) or np.any(rates_arr <= 0) or np.any(delays_arr < 0):
        raise ValueError("shapes and rates must be positive, delays non-negative")
    if n < 1:
        raise ValueError("n must be at least 1")

    groups, inverse = np.unique(np.column_stack([rates_arr, delays_arr]), axis=0, return_inverse=True)
    group_shapes = np.bincount(inverse.ravel(), weights=shapes_arr, minlength=len(groups))
    delay_values, delay_index = np.unique(groups[:, 1], return_inverse=True)
    rate_by_delay = np.zeros((len(delay_values), draws))
    for (rate, _), shape, d in zip(groups, group_shapes, delay_index.ravel(), strict=True):
        rate_by_delay[d] += generator.standard_gamma(shape, size=draws) / rate
    g = generator.standard_gamma(float(n), size=draws)
    if len(delay_values) == 1:
        return delay_values[0] + g / rate_by_delay[0]
    # Segment j: between delay_values[j] and delay_values[j+1], C(t) = S_j·t − D_j.
    slope = np.cumsum(rate_by_delay, axis=0)
    offset = np.cumsum(rate_by_delay * delay_values[:, None], axis=0)
    at_breaks = slope[:-1] * delay_values[1:, None] - offset[:-1]  # C at the start of segment j+1
    segment = np.sum(at_breaks < g, axis=0)
    columns = np.arange(draws)
    return (g + offset[segment, columns]) / slope[segment, columns]


# --------------------------------------------------------------------------- forecast


@dataclass(frozen=True)
class SitePosterior:
    """A site's data and its rate posterior Gamma(shape, rate) (rate per day)."""

    site: str
    activation_date: date
    enrolled: int
    exposure_days: int  # 0: not yet active at the as-of date
    shape: float
    rate: float

    @property
    def mean_rate_per_month(self) -> float:
        return self.shape / self.rate * DAYS_PER_MONTH


@dataclass(frozen=True)
class RecruitmentForecast:
    """When will the target be reached? Dates, intervals and how they were computed.

    ``alpha`` (shape) and ``beta`` (rate, in days) describe the spread of the
    site rates (per day); ``mean_rate_per_site_per_month`` is α/β·30.44.
    ``quantiles`` pairs each probability level with the date by which the
    target is reached with that probability (a fan chart's edges).
    """

    as_of: date
    target: int
    enrolled: int
    remaining: int
    n_sites: int
    n_sites_fitted: int
    alpha: float
    beta: float
    alpha_capped: bool
    mean_rate_per_site_per_month: float
    method: Method
    median_date: date
    interval_80: tuple[date, date]
    interval_95: tuple[date, date]
    planned_end: date | None
    probability_by_planned_end: float | None
    quantiles: tuple[tuple[float, date], ...]
    sites: tuple[SitePosterior, ...]
    draws: int | None
    seed: int | None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, intervals as two-element lists."""
        return {
            "as_of": self.as_of.isoformat(),
            "target": self.target,
            "enrolled": self.enrolled,
            "remaining": self.remaining,
            "n_sites": self.n_sites,
            "n_sites_fitted": self.n_sites_fitted,
            "alpha": self.alpha,
            "beta": self.beta,
            "alpha_capped": self.alpha_capped,
            "time_unit": "day",
            "mean_rate_per_site_per_month": self.mean_rate_per_site_per_month,
            "days_per_month": DAYS_PER_MONTH,
            "method": self.method,
            "median_date": self.median_date.isoformat(),
            "interval_80": [d.isoformat() for d in self.interval_80],
            "interval_95": [d.isoformat() for d in self.interval_95],
            "planned_end": self.planned_end.isoformat() if self.planned_end else None,
            "probability_by_planned_end": self.probability_by_planned_end,
            "quantiles": [{"probability": p, "date": d.isoformat()} for p, d in self.quantiles],
            "sites": [
                {
                    "site": s.site,
                    "activation_date": s.activation_date.isoformat(),
                    "enrolled": s.enrolled,
                    "exposure_days": s.exposure_days,
                    "posterior_shape": s.shape,
                    "posterior_rate_days": s.rate,
                    "mean_rate_per_month": s.mean_rate_per_month,
                }
                for s in self.sites
            ],
            "draws": self.draws,
            "seed": self.seed,
            "notes": list(self.notes),
            "model": "Poisson-gamma (Anisimov & Fedorov 2007, Statistics in Medicine 26:4958-4975)",
        }


def _date_after(as_of: date, days: float, notes: list[str]) -> date:
    """The date on which a time ``days`` after the end of the as-of day falls."""
    whole = math.ceil(days) if math.isfinite(days) else math.inf
    if whole > (date.max - as_of).days:
        message = f"some dates lie beyond {date.max.isoformat()} and are reported as that date"
        if message not in notes:
            notes.append(message)
        return date.max
    return as_of + timedelta(days=max(int(whole), 0))


def _check_sites(sites: Sequence[SiteRecruitment], as_of: date) -> None:
    seen: set[str] = set()
    for s in sites:
        if s.site in seen:
            raise ForecastError(f"site {s.site} appears twice")
        seen.add(s.site)
        for d in s.enrollment_dates:
            if d < s.activation_date:
                raise ForecastError(
                    f"site {s.site}: enrollment {d.isoformat()} is before the site's activation "
                    f"{s.activation_date.isoformat()}"
                )
            if d > as_of:
                raise ForecastError(
                    f"site {s.site}: enrollment {d.isoformat()} is after the as-of date {as_of.isoformat()}"
                )


def forecast_recruitment(
    sites: Sequence[SiteRecruitment],
    as_of: date,
    target: int,
    planned_end: date | None = None,
    *,
    seed: int | np.random.Generator | None = 0,
    draws: int = DEFAULT_DRAWS,
    fan_levels: Sequence[float] = DEFAULT_FAN_LEVELS,
) -> RecruitmentForecast:
    """Forecast the date the trial reaches ``target`` patients, from the recruitment up to ``as_of``.

    Fits the Poisson–gamma model (module docstring), then computes the law of
    the time to the remaining patients: in closed form when the total rate is
    a single gamma (common rate, or a single posterior group), otherwise by
    ``draws`` simulations seeded with ``seed`` (deterministic by default;
    ``None`` for fresh entropy). Raises ``ForecastError`` on data that cannot
    give a forecast.
    """
    if isinstance(target, bool) or not isinstance(target, int | np.integer) or target < 1:
        raise ForecastError(f"the target must be a positive whole number of patients, not {target!r}")
    target = int(target)
    if not sites:
        raise ForecastError("no site to forecast from")
    if draws < 1000:
        raise ForecastError("at least 1000 draws are needed for stable quantiles")
    levels = sorted({*fan_levels, 0.025, 0.10, 0.5, 0.90, 0.975})
    if levels[0] <= 0 or levels[-1] >= 1:
        raise ForecastError("fan levels must lie strictly between 0 and 1")
    _check_sites(sites, as_of)
    notes: list[str] = []

    exposure = {s.site: max((as_of - s.activation_date).days + 1, 0) for s in sites}
    fitted = [s for s in sites if exposure[s.site] > 0]
    waiting = [s for s in sites if exposure[s.site] == 0]
    enrolled = sum(len(s.enrollment_dates) for s in sites)
    if enrolled == 0:
        raise ForecastError("cannot forecast without any enrolled patient")
    for s in waiting:
        notes.append(
            f"site {s.site} opens on {s.activation_date.isoformat()}, after the as-of date: left out of "
            "the fit; in the forecast it recruits from that date at the population rate"
        )

    fit = fit_gamma_rates([len(s.enrollment_dates) for s in fitted], [exposure[s.site] for s in fitted])
    pooled = fit.capped or len(fitted) == 1
    if len(fitted) == 1:
        notes.append(
            "only one active site: between-site variation cannot be estimated; all sites are "
            "forecast at one common rate"
        )
    elif pooled:
        notes.append(
            f"alpha capped at {ALPHA_CAP:g}: the sites' counts show no variation beyond chance, so all "
            "sites are forecast at one common rate"
        )
    if pooled:
        # α → ∞: one rate λ for every site, posterior Gamma(Σk, Στ).
        posterior = [(float(fit.total_enrolled), fit.total_exposure_days)] * len(sites)
    else:
        posterior = [(fit.alpha + len(s.enrollment_dates), fit.beta + exposure[s.site]) for s in sites]
    site_posteriors = tuple(
        SitePosterior(s.site, s.activation_date, len(s.enrollment_dates), exposure[s.site], a, b)
        for s, (a, b) in zip(sites, posterior, strict=True)
    )
    common = dict(
        as_of=as_of,
        target=target,
        enrolled=enrolled,
        remaining=max(target - enrolled, 0),
        n_sites=len(sites),
        n_sites_fitted=len(fitted),
        alpha=fit.alpha,
        beta=fit.beta,
        alpha_capped=fit.capped,
        mean_rate_per_site_per_month=fit.mean_rate_per_day * DAYS_PER_MONTH,
        planned_end=planned_end,
        sites=site_posteriors,
    )

    remaining = target - enrolled
    if remaining <= 0:
        reached = sorted(d for s in sites for d in s.enrollment_dates)[target - 1]
        notes.insert(0, f"target already reached on {reached.isoformat()}")
        probability = None if planned_end is None else float(reached <= planned_end)
        return RecruitmentForecast(
            **common,
            method="target_reached",
            median_date=reached,
            interval_80=(reached, reached),
            interval_95=(reached, reached),
            probability_by_planned_end=probability,
            quantiles=tuple((p, reached) for p in levels),
            draws=None,
            seed=None,
            notes=tuple(notes),
        )

    # Delay (days after the end of the as-of day) before each site recruits.
    delays = np.array([max((s.activation_date - as_of).days - 1, 0) for s in sites], dtype=float)
    horizon = None if planned_end is None else (planned_end - as_of).days
    if horizon is not None and horizon <= 0:
        notes.append("the planned end is not after the as-of date")

    shapes = np.array([a for a, _ in posterior])
    rates = np.array([b for _, b in posterior])
    single_gamma = pooled or (len(np.unique(rates)) == 1 and not np.any(delays))
    if single_gamma:
        # Λ(t) = λ·c(t), λ ~ Gamma(a, b), c(t) = Σ (t − dᵢ)⁺ (every site at rate λ).
        a, b = (float(fit.total_enrolled), fit.total_exposure_days) if pooled else (shapes.sum(), rates[0])
        days = _closed_form_quantiles(remaining, a, b, delays, np.array(levels))
        probability = None
        if horizon is not None:
            probability = float(
                time_to_target_cdf_closed_form(remaining, a, b, _site_days(delays, max(horizon, 0)))
            )
        method: Method = "closed_form"
        used_draws, used_seed = None, None
    else:
        generator = np.random.default_rng(seed)
        times = simulate_time_to_target(remaining, shapes, rates, delays=delays, draws=draws, rng=generator)
        days = np.quantile(times, levels)
        probability = None if horizon is None else float(np.mean(times <= horizon))
        method = "simulation"
        used_draws, used_seed = draws, seed if isinstance(seed, int) else None

    dates = [_date_after(as_of, float(t), notes) for t in days]
    by_level = dict(zip(levels, dates, strict=True))
    return RecruitmentForecast(
        **common,
        method=method,
        median_date=by_level[0.5],
        interval_80=(by_level[0.10], by_level[0.90]),
        interval_95=(by_level[0.025], by_level[0.975]),
        probability_by_planned_end=probability,
        quantiles=tuple(zip(levels, dates, strict=True)),
        draws=used_draws,
        seed=used_seed,
        notes=tuple(notes),
    )


def _site_days(delays: np.ndarray, t: float) -> float:
    """c(t) = Σ (t − dᵢ)⁺: site-days of recruitment between now and t."""
    return float(np.sum(np.clip(t - delays, 0.0, None)))


def _closed_form_quantiles(n: int, a: float, b: float, delays: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantiles of T when the total intensity is λ·c(t), λ ~ Gamma(a, b).

    T ≤ t ⇔ G/λ ≤ c(t), and G/λ has the closed-form law with one site, so
    t_q = c⁻¹(x_q) with x_q its q-quantile; c is piecewise linear.
    """
    needed = np.atleast_1d(time_to_target_quantile_closed_form(n, a, b, levels))
    starts = np.sort(delays)
    # On [starts[j], starts[j+1]): c(t) = (j+1)·t − Σ_{i≤j} starts[i].
    active = np.arange(1, len(starts) + 1)
    offsets = np.cumsum(starts)
    at_starts = active * starts - offsets  # c at each start: non-decreasing
    segment = np.searchsorted(at_starts, needed, side="right") - 1
    return (needed + offsets[segment]) / active[segment]
