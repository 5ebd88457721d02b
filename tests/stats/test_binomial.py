"""A proportion with its confidence interval: exact Clopper–Pearson as R's binom.test, Wilson."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from trialdesk.stats.binomial import proportion
from trialdesk.stats.errors import StatsInputError


def test_the_exact_interval_matches_r_binom_test_on_conovers_example():
    """R's binom.test help example (Conover 1971, p. 97f), printed in R's own example output
    wch/r-source tests/Examples/stats-Ex.Rout.save (commit 0044f6e9), `binom.test(682, 682 + 243,
    p = 3/4)`: "95 percent confidence interval: 0.7076683 0.7654066", estimate 0.7372973."""
    result = proportion(682, 925)
    assert result.method == "exact" and result.level == 0.95
    assert round(result.estimate, 7) == 0.7372973
    assert round(result.lower, 7) == 0.7076683
    assert round(result.upper, 7) == 0.7654066


def test_two_responders_of_fifteen_have_the_clopper_pearson_interval_from_the_beta_quantiles():
    """Independent computation: the Clopper–Pearson bounds are the beta quantiles
    Beta(α/2; x, n − x + 1) and Beta(1 − α/2; x + 1, n − x) (Clopper & Pearson 1934)."""
    result = proportion(2, 15)
    assert result.lower == pytest.approx(stats.beta.ppf(0.025, 2, 14), rel=1e-9)
    assert result.upper == pytest.approx(stats.beta.ppf(0.975, 3, 13), rel=1e-9)


def test_none_or_all_responding_gives_a_one_sided_bound_at_zero_or_one():
    """x = 0: lower 0, upper 1 − (α/2)^(1/n); x = n: upper 1 (Clopper–Pearson boundary cases)."""
    zero = proportion(0, 15)
    assert zero.lower == 0.0 and zero.upper == pytest.approx(1 - 0.025 ** (1 / 15), rel=1e-9)
    every = proportion(15, 15)
    assert every.upper == 1.0 and every.lower == pytest.approx(0.025 ** (1 / 15), rel=1e-9)


def test_the_wilson_interval_is_the_score_interval_without_continuity_correction():
    """Wilson (1927): centre (x + z²/2)/(n + z²), half-width z√(x(n−x)/n + z²/4)/(n + z²)."""
    x, n = 2, 15
    z = stats.norm.ppf(0.975)
    centre = (x + z * z / 2) / (n + z * z)
    half = z * ((x * (n - x) / n + z * z / 4) ** 0.5) / (n + z * z)
    result = proportion(x, n, method="wilson")
    assert result.lower == pytest.approx(centre - half, rel=1e-9)
    assert result.upper == pytest.approx(centre + half, rel=1e-9)


@given(n=st.integers(1, 300), data=st.data(), level=st.floats(0.5, 0.999))
def test_every_interval_holds_its_estimate_and_narrows_as_the_level_falls(n, data, level):
    x = data.draw(st.integers(0, n))
    wide = proportion(x, n, level=level)
    narrow = proportion(x, n, level=level / 2)
    assert 0 <= wide.lower <= wide.estimate <= wide.upper <= 1
    assert wide.lower <= narrow.lower + 1e-12 and narrow.upper <= wide.upper + 1e-12


@pytest.mark.parametrize(
    ("x", "n", "level", "method", "argument"),
    [
        (16, 15, 0.95, "exact", "x"),
        (-1, 15, 0.95, "exact", "x"),
        (0, 0, 0.95, "exact", "n"),
        (2, 15, 1.0, "exact", "level"),
        (2, 15, 0.0, "exact", "level"),
        (2, 15, 0.95, "wald", "method"),
        (2.5, 15, 0.95, "exact", "x"),
    ],
)
def test_it_refuses_bad_input_naming_the_argument(x, n, level, method, argument):
    with pytest.raises(StatsInputError) as error:
        proportion(x, n, level=level, method=method)
    assert error.value.argument == argument and argument in str(error.value)
