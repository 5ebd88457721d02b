"""The Poisson–gamma recruitment forecast (Anisimov & Fedorov 2007): fit, laws, forecasts, input.

Coverage of the prediction intervals is in test_forecast_coverage.py.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from trialdesk.stats.forecast import (
    ALPHA_CAP,
    DAYS_PER_MONTH,
    ForecastError,
    SiteRecruitment,
    fit_gamma_rates,
    forecast_recruitment,
    simulate_time_to_target,
    sites_from_rows,
    time_to_target_cdf_closed_form,
    time_to_target_quantile_closed_form,
)

DATA = Path(__file__).parent / "data"

#: Kolmogorov–Smirnov critical value at the 1 % level for large n, times √n
#: (F. J. Massey, J Am Stat Assoc 1951;46:68–78, Table 1: 1.63/√n)
KS_CRITICAL_1PCT = 1.63


def nb_log_likelihood(alpha, beta, k, tau):
    """The marginal likelihood written with scipy's negative binomial: NB(α, p = β/(β+τ))."""
    return float(np.sum(stats.nbinom.logpmf(k, alpha, beta / (beta + tau))))


def simulated_sites(rng, n_sites, alpha, beta, tau_low, tau_high):
    rates = rng.gamma(alpha, 1.0 / beta, n_sites)
    tau = rng.uniform(tau_low, tau_high, n_sites)
    return rng.poisson(rates * tau), tau


# --------------------------------------------------------------------------- fit


def test_the_mle_recovers_alpha_and_beta_from_300_simulated_sites():
    """Within 3 standard errors, taken from the observed information at the estimate."""
    rng = np.random.default_rng(20070101)
    k, tau = simulated_sites(rng, 300, alpha=2.0, beta=60.0, tau_low=100, tau_high=400)
    fit = fit_gamma_rates(k, tau)
    assert not fit.capped

    def nll(theta):
        return -nb_log_likelihood(theta[0], theta[1], k, tau)

    theta = np.array([fit.alpha, fit.beta])
    steps = theta * 1e-4
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            ei, ej = np.eye(2)[i] * steps[i], np.eye(2)[j] * steps[j]
            hessian[i, j] = (
                nll(theta + ei + ej) - nll(theta + ei - ej) - nll(theta - ei + ej) + nll(theta - ei - ej)
            ) / (4 * steps[i] * steps[j])
    se_alpha, se_beta = np.sqrt(np.diag(np.linalg.inv(hessian)))
    assert abs(fit.alpha - 2.0) < 3 * se_alpha
    assert abs(fit.beta - 60.0) < 3 * se_beta
    assert se_alpha < 0.5 and se_beta < 15  # the test has teeth
    assert fit.mean_rate_per_day == pytest.approx(2.0 / 60.0, rel=0.15)


def test_the_mle_of_a_small_case_matches_a_direct_optimisation_of_the_written_likelihood():
    """Five sites, by hand; the reference is Nelder–Mead on scipy's nbinom.logpmf (another
    parameterisation, another optimiser): α̂ ≈ 0.72355, β̂ ≈ 34.536 days, ℓ̂ ≈ −13.61836."""
    k = np.array([0, 3, 7, 1, 12])
    tau = np.array([200.0, 300.0, 150.0, 400.0, 250.0])
    fit = fit_gamma_rates(k, tau)

    reference = optimize.minimize(
        lambda p: -nb_log_likelihood(math.exp(p[0]), math.exp(p[1]), k, tau),
        x0=[0.0, 3.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 10_000},
    )
    assert fit.alpha == pytest.approx(math.exp(reference.x[0]), rel=1e-5)
    assert fit.beta == pytest.approx(math.exp(reference.x[1]), rel=1e-5)
    assert fit.log_likelihood == pytest.approx(-reference.fun, abs=1e-8)
    assert fit.alpha == pytest.approx(0.72355, abs=1e-4)
    assert fit.beta == pytest.approx(34.536, abs=1e-2)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 30), min_size=2, max_size=12).filter(lambda c: sum(c) > 0),
    data=st.data(),
)
def test_no_nearby_parameters_have_a_higher_likelihood_than_the_fit(counts, data):
    tau = np.array(
        data.draw(st.lists(st.integers(1, 1000), min_size=len(counts), max_size=len(counts))), float
    )
    k = np.array(counts)
    fit = fit_gamma_rates(k, tau)
    best = nb_log_likelihood(fit.alpha, fit.beta, k, tau)
    assert best == pytest.approx(fit.log_likelihood, abs=1e-6)
    for da, db in [(0.05, 0), (-0.05, 0), (0, 0.05), (0, -0.05), (0.05, 0.05), (-0.05, -0.05)]:
        nearby = nb_log_likelihood(fit.alpha * math.exp(da), fit.beta * math.exp(db), k, tau)
        if fit.capped and da > 0:
            continue  # beyond the cap
        assert nearby <= best + 1e-7


def test_counts_proportional_to_exposure_cap_alpha_and_say_so():
    fit = fit_gamma_rates([3, 6, 9], [100, 200, 300])
    assert fit.capped and fit.alpha == ALPHA_CAP
    assert fit.mean_rate_per_day == pytest.approx(18 / 600, rel=1e-6)


def test_a_fit_without_any_patient_is_refused():
    with pytest.raises(ForecastError, match="cannot forecast without any enrolled patient"):
        fit_gamma_rates([0, 0], [100, 200])


# --------------------------------------------------------------------------- laws of the time to target


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 60),
    a=st.floats(0.3, 80),
    b=st.floats(1.0, 5000.0),
    t=st.floats(0.01, 20_000.0),
)
def test_the_closed_form_is_the_beta_prime_law_and_the_negative_binomial_tail(n, a, b, t):
    p = time_to_target_cdf_closed_form(n, a, b, t)
    assert p == pytest.approx(stats.betaprime.cdf(t / b, n, a), abs=1e-10)
    # reached by t ⇔ at least n recruited by t, the count being NegBin(a, b/(b+t))
    assert p == pytest.approx(stats.nbinom.sf(n - 1, a, b / (b + t)), abs=1e-9)


@pytest.mark.parametrize(
    ("n", "a", "b", "t"), [(1, 1.0, 10.0, 5.0), (15, 15.0, 3300.0, 1500.0), (40, 7.5, 120.0, 900.0)]
)
def test_the_closed_form_equals_the_integral_of_the_gamma_time_over_the_gamma_rate(n, a, b, t):
    """P(T ≤ t) = ∫ P(Gamma(n, λ) ≤ t) dGamma(a, b)(λ), integrated numerically."""

    def integrand(rate):
        return stats.gamma.cdf(t, n, scale=1 / rate) * stats.gamma.pdf(rate, a, scale=1 / b)

    mean, sd = a / b, math.sqrt(a) / b
    integral, _ = integrate.quad(integrand, 0, mean + 40 * sd, points=[mean], limit=200, epsabs=1e-12)
    assert time_to_target_cdf_closed_form(n, a, b, t) == pytest.approx(integral, abs=1e-8)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), a=st.floats(0.3, 80), b=st.floats(1.0, 5000.0), q=st.floats(0.001, 0.999))
def test_the_closed_form_quantile_inverts_the_cdf(n, a, b, q):
    t = time_to_target_quantile_closed_form(n, a, b, q)
    assert time_to_target_cdf_closed_form(n, a, b, t) == pytest.approx(q, abs=1e-8)


def test_simulation_agrees_with_the_closed_form_for_one_pooled_gamma_rate():
    n, a, b = 25, 12.0, 400.0
    times = simulate_time_to_target(n, [a], [b], draws=200_000, rng=7)
    ks = stats.kstest(times, lambda t: time_to_target_cdf_closed_form(n, a, b, t))
    assert ks.statistic < KS_CRITICAL_1PCT / math.sqrt(len(times))
    levels = np.array([0.025, 0.1, 0.5, 0.9, 0.975])
    assert np.quantile(times, levels) == pytest.approx(
        time_to_target_quantile_closed_form(n, a, b, levels), rel=0.01
    )


def test_sites_sharing_a_rate_simulate_as_their_summed_gamma():
    n, shapes, b = 10, [2.0, 3.5, 0.5], 90.0
    times = simulate_time_to_target(n, shapes, [b, b, b], draws=100_000, rng=3)
    ks = stats.kstest(times, lambda t: time_to_target_cdf_closed_form(n, sum(shapes), b, t))
    assert ks.statistic < KS_CRITICAL_1PCT / math.sqrt(len(times))


def test_sites_that_open_later_join_the_cumulative_intensity_at_their_opening():
    """With the rates known (huge shapes), T ≤ t ⇔ Gamma(n, 1) ≤ Σ λᵢ (t − dᵢ)⁺."""
    n, lam, delays = 20, np.array([0.05, 0.1, 0.2]), np.array([0.0, 40.0, 100.0])
    shape = 1e9
    times = simulate_time_to_target(n, [shape] * 3, shape / lam, delays=delays, draws=100_000, rng=5)

    def cdf(t):
        intensity = np.sum(
            lam[:, None] * np.clip(np.atleast_1d(t)[None, :] - delays[:, None], 0, None), axis=0
        )
        return stats.gamma.cdf(intensity, n)

    ks = stats.kstest(times, cdf)
    assert ks.statistic < KS_CRITICAL_1PCT / math.sqrt(len(times))


# --------------------------------------------------------------------------- forecasts


def trial(counts_and_openings, as_of=date(2024, 6, 30)):
    """Sites with patients spread evenly between opening and the as-of date."""
    sites = []
    for i, (count, opened_days_ago) in enumerate(counts_and_openings):
        opened = as_of - timedelta(days=opened_days_ago)
        dates = [opened + timedelta(days=(j + 1) * opened_days_ago // (count + 1)) for j in range(count)]
        sites.append(SiteRecruitment(f"S{i:02d}", opened, dates))
    return sites


HETEROGENEOUS = [(0, 300), (2, 250), (14, 300), (5, 200), (25, 365), (1, 120), (8, 180), (3, 330)]


def test_a_heterogeneous_trial_is_forecast_by_simulation_with_its_posteriors():
    sites = trial(HETEROGENEOUS)
    f = forecast_recruitment(sites, date(2024, 6, 30), 120, planned_end=date(2025, 12, 31), seed=1)
    assert f.method == "simulation" and not f.alpha_capped
    assert (f.enrolled, f.remaining, f.n_sites, f.n_sites_fitted) == (58, 62, 8, 8)
    assert f.mean_rate_per_site_per_month == pytest.approx(f.alpha / f.beta * DAYS_PER_MONTH)
    for s in f.sites:  # posterior Gamma(α + kᵢ, β + τᵢ)
        assert s.shape == pytest.approx(f.alpha + s.enrolled)
        assert s.rate == pytest.approx(f.beta + s.exposure_days)
    assert f.interval_95[0] <= f.interval_80[0] <= f.median_date <= f.interval_80[1] <= f.interval_95[1]
    assert 0 < f.probability_by_planned_end < 1
    assert f.draws == 100_000 and f.seed == 1


def test_the_same_seed_gives_the_same_forecast_and_it_serialises_to_json():
    sites = trial(HETEROGENEOUS)
    one = forecast_recruitment(
        sites, date(2024, 6, 30), 120, planned_end=date(2025, 6, 30), seed=9, draws=5000
    )
    two = forecast_recruitment(
        sites, date(2024, 6, 30), 120, planned_end=date(2025, 6, 30), seed=9, draws=5000
    )
    assert one == two
    payload = json.loads(json.dumps(one.to_dict(), allow_nan=False))
    assert payload["interval_80"] == [d.isoformat() for d in one.interval_80]
    assert [q["probability"] for q in payload["quantiles"]] == sorted(
        q["probability"] for q in payload["quantiles"]
    )


def test_exposure_counts_the_activation_and_the_as_of_days():
    f = forecast_recruitment(trial([(3, 99), (2, 49)]), date(2024, 6, 30), 10)
    assert [s.exposure_days for s in f.sites] == [100, 50]


def test_sites_with_equal_rates_get_the_closed_form_of_one_common_rate():
    """α capped: the common rate's posterior is Gamma(Σk, Στ); P(T ≤ t) = I_{c(t)/(c(t)+Στ)}(n, Σk),
    c(t) = 3t for three sites."""
    as_of = date(2024, 6, 30)
    f = forecast_recruitment(
        trial([(10, 99), (10, 99), (10, 99)], as_of), as_of, 60, planned_end=date(2025, 6, 30)
    )
    assert f.alpha_capped and f.method == "closed_form" and f.draws is None
    assert any("capped" in note for note in f.notes)
    horizon = (date(2025, 6, 30) - as_of).days
    expected = stats.betaprime.cdf(3 * horizon / 300, 30, 30)
    assert f.probability_by_planned_end == pytest.approx(expected, rel=1e-9)
    median_days = 300 * stats.betaprime.ppf(0.5, 30, 30) / 3
    assert f.median_date == as_of + timedelta(days=math.ceil(median_days))


def test_a_site_opening_later_joins_the_common_rate_closed_form_from_its_opening_day():
    """Three equal sites (Gamma(30, 300) common rate) and one opening 30 days after the as-of date,
    i.e. 29 days after the forecast starts: c(h) = 3h + (h − 29)⁺ site-days by day h."""
    as_of = date(2024, 6, 30)
    sites = [
        *trial([(10, 99), (10, 99), (10, 99)], as_of),
        SiteRecruitment("NEW", as_of + timedelta(days=30)),
    ]
    end = date(2024, 12, 31)
    f = forecast_recruitment(sites, as_of, 45, planned_end=end)
    assert f.method == "closed_form"
    h = (end - as_of).days
    assert f.probability_by_planned_end == pytest.approx(
        stats.betaprime.cdf((3 * h + h - 29) / 300, 15, 30), rel=1e-9
    )
    for level, day in f.quantiles:  # each quantile date is the first day with P(T ≤ day) ≥ level
        days = (day - as_of).days
        assert stats.betaprime.cdf((3 * days + max(days - 29, 0)) / 300, 15, 30) >= level
        earlier = days - 1
        assert stats.betaprime.cdf((3 * earlier + max(earlier - 29, 0)) / 300, 15, 30) < level


def test_one_site_is_forecast_at_its_own_rate_and_says_why():
    as_of = date(2024, 6, 30)
    f = forecast_recruitment(trial([(6, 199)], as_of), as_of, 12, planned_end=date(2025, 6, 30))
    assert f.method == "closed_form"
    assert any("only one active site" in note for note in f.notes)
    assert f.probability_by_planned_end == pytest.approx(
        time_to_target_cdf_closed_form(6, 6.0, 200.0, (date(2025, 6, 30) - as_of).days), rel=1e-9
    )


def test_a_site_not_yet_open_is_left_out_of_the_fit_but_recruits_once_open():
    as_of = date(2024, 6, 30)
    base = trial(HETEROGENEOUS, as_of)
    later = SiteRecruitment("NEW", as_of + timedelta(days=30))
    without = forecast_recruitment(base, as_of, 150, seed=2, draws=20_000)
    with_new = forecast_recruitment([*base, later], as_of, 150, seed=2, draws=20_000)
    assert (with_new.n_sites, with_new.n_sites_fitted) == (9, 8)
    assert (with_new.alpha, with_new.beta) == (without.alpha, without.beta)
    assert any("NEW opens on 2024-07-30" in note for note in with_new.notes)
    new = with_new.sites[-1]
    assert (new.exposure_days, new.shape, new.rate) == (0, with_new.alpha, with_new.beta)
    assert with_new.median_date < without.median_date


def test_a_trial_without_any_patient_cannot_be_forecast():
    with pytest.raises(ForecastError, match="cannot forecast without any enrolled patient"):
        forecast_recruitment(trial([(0, 100), (0, 50)]), date(2024, 6, 30), 10)


def test_a_target_already_reached_is_reported_with_its_date_and_probability_one():
    as_of = date(2024, 6, 30)
    sites = trial([(4, 100), (3, 60)], as_of)
    f = forecast_recruitment(sites, as_of, 5, planned_end=date(2024, 12, 31))
    fifth = sorted(d for s in sites for d in s.enrollment_dates)[4]
    assert f.method == "target_reached" and f.remaining == 0
    assert f.median_date == f.interval_80[0] == f.interval_95[1] == fifth
    assert f.probability_by_planned_end == 1.0
    assert f.notes[0] == f"target already reached on {fifth.isoformat()}"


def test_the_probability_by_the_planned_end_grows_with_the_planned_end():
    sites = trial(HETEROGENEOUS)
    probabilities = [
        forecast_recruitment(
            sites, date(2024, 6, 30), 120, planned_end=end, seed=4, draws=20_000
        ).probability_by_planned_end
        for end in (date(2024, 6, 30), date(2025, 1, 1), date(2025, 6, 1), date(2026, 6, 1), date(2030, 1, 1))
    ]
    assert probabilities[0] == 0.0
    assert probabilities == sorted(probabilities)
    assert probabilities[-1] > 0.99


@settings(max_examples=30, deadline=None)
@given(
    sites=st.lists(st.tuples(st.integers(0, 20), st.integers(1, 400)), min_size=1, max_size=8).filter(
        lambda s: sum(c for c, _ in s) > 0
    ),
    extra=st.integers(1, 100),
    planned_in=st.integers(-30, 2000),
)
def test_every_forecast_has_ordered_dates_and_a_probability(sites, extra, planned_in):
    as_of = date(2024, 6, 30)
    recruitment = trial(sites, as_of)
    enrolled = sum(c for c, _ in sites)
    f = forecast_recruitment(
        recruitment, as_of, enrolled + extra, planned_end=as_of + timedelta(days=planned_in), draws=2000
    )
    assert f.remaining == extra
    dates = [d for _, d in f.quantiles]
    assert dates == sorted(dates) and dates[0] > as_of
    assert f.interval_95[0] <= f.interval_80[0] <= f.median_date <= f.interval_80[1] <= f.interval_95[1]
    assert 0.0 <= f.probability_by_planned_end <= 1.0
    if planned_in <= 0:
        assert f.probability_by_planned_end == 0.0


@pytest.mark.parametrize(
    ("sites", "target", "message"),
    [
        ([SiteRecruitment("A", date(2024, 1, 1), [date(2023, 12, 31)])], 5, "before the site's activation"),
        ([SiteRecruitment("A", date(2024, 1, 1), [date(2024, 7, 1)])], 5, "after the as-of date 2024-06-30"),
        ([SiteRecruitment("A", date(2024, 1, 1), [date(2024, 2, 1)])] * 2, 5, "site A appears twice"),
        ([SiteRecruitment("A", date(2024, 1, 1), [date(2024, 2, 1)])], 0, "positive whole number"),
        ([], 5, "no site"),
    ],
)
def test_bad_forecast_input_is_refused_with_a_reason(sites, target, message):
    with pytest.raises(ForecastError, match=message):
        forecast_recruitment(sites, date(2024, 6, 30), target)


# --------------------------------------------------------------------------- NCT00724360


def nct_sites(as_of):
    """NCT00724360 (registry record in shared/data): 8 French sites, 15 participants, start
    November 2006, primary completion July 2011, terminated for difficulties of recruitment.
    The per-site split and the dates in data/nct00724360_recruitment.csv are invented to match
    those totals; the target of 30 and the planned ends are ours (the record gives neither)."""
    with (DATA / "nct00724360_recruitment.csv").open(encoding="utf-8") as handle:
        sites = sites_from_rows(csv.DictReader(handle))
    return [
        SiteRecruitment(s.site, s.activation_date, [d for d in s.enrollment_dates if d <= as_of])
        for s in sites
    ]


def test_nct00724360_at_its_end_cannot_reach_30_patients_by_a_planned_end_18_months_later():
    as_of = date(2011, 7, 1)
    f = forecast_recruitment(nct_sites(as_of), as_of, 30, planned_end=date(2012, 12, 31))
    assert (f.enrolled, f.n_sites) == (15, 8)
    # about 0.04 patients per site per month: 15 patients over ~8 × 53 site-months
    site_months = sum((as_of - s.activation_date).days + 1 for s in f.sites) / DAYS_PER_MONTH
    assert f.mean_rate_per_site_per_month == pytest.approx(15 / site_months, rel=0.05)
    assert 0.02 < f.mean_rate_per_site_per_month < 0.06
    # 15 more at ~0.3 a month: about four more years
    assert date(2014, 7, 1) < f.median_date < date(2017, 7, 1)
    assert f.probability_by_planned_end < 0.02


def test_nct00724360_would_have_warned_its_sponsor_at_an_interim_look_in_2008():
    as_of = date(2008, 7, 1)
    f = forecast_recruitment(nct_sites(as_of), as_of, 30, planned_end=date(2010, 11, 30))
    assert f.enrolled == 6
    assert f.probability_by_planned_end < 0.10
    assert f.median_date > date(2011, 11, 30)  # a year late, at the median


# --------------------------------------------------------------------------- rows


def test_rows_become_sites_in_order_with_their_patients():
    rows = [
        {"site": "Nantes", "activation_date": "2024-01-02", "enrollment_date": "2024-03-01"},
        {"site": "Rennes", "activation_date": "2024-02-01", "enrollment_date": ""},
        {"site": "Nantes", "activation_date": "2024-01-02", "enrollment_date": "2024-02-01"},
    ]
    assert sites_from_rows(rows) == [
        SiteRecruitment("Nantes", date(2024, 1, 2), (date(2024, 2, 1), date(2024, 3, 1))),
        SiteRecruitment("Rennes", date(2024, 2, 1), ()),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"site": "A", "activation_date": "2024-01-32", "enrollment_date": ""}],
            r"^line 2: activation_date '2024-01-32' is not a date",
        ),
        (
            [
                {"site": "A", "activation_date": "2024-01-01", "enrollment_date": ""},
                {"site": "A", "activation_date": "2024-01-01", "enrollment_date": "1/2/2024"},
            ],
            r"^line 3: enrollment_date '1/2/2024' is not a date \(expected YYYY-MM-DD\)",
        ),
        (
            [{"site": "", "activation_date": "2024-01-01", "enrollment_date": ""}],
            r"^line 2: the site is empty",
        ),
        ([{"site": "A", "activation_date": "", "enrollment_date": ""}], r"^line 2: activation_date is empty"),
        (
            [{"site": "A", "activation_date": "2024-01-05", "enrollment_date": "2024-01-04"}],
            r"^line 2: site A: enrollment 2024-01-04 is before the site's activation 2024-01-05",
        ),
        (
            [
                {"site": "A", "activation_date": "2024-01-05", "enrollment_date": ""},
                {"site": "A", "activation_date": "2024-01-06", "enrollment_date": ""},
            ],
            r"^line 3: site A: activation_date 2024-01-06 differs from 2024-01-05 on line 2",
        ),
        (
            [{"site": "A", "activation_date": "2024-01-05", "enrollment_date": "2024-07-01"}],
            r"^line 2: site A: enrollment 2024-07-01 is after the as-of date 2024-06-30",
        ),
    ],
)
def test_bad_rows_are_refused_with_their_line(rows, message):
    with pytest.raises(ForecastError, match=message):
        sites_from_rows(rows, as_of=date(2024, 6, 30))


def test_rows_are_named_by_the_line_numbers_given():
    rows = [{"site": "A", "activation_date": "nope", "enrollment_date": ""}]
    with pytest.raises(ForecastError, match="^line 17:"):
        sites_from_rows(rows, line_numbers=[17])
