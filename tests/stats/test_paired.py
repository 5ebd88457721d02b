"""Wilcoxon signed-rank test of paired values, as R's wilcox.test(x, y, paired = TRUE)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from trialdesk.stats.errors import StatsInputError
from trialdesk.stats.paired import wilcoxon_signed_rank

# Hollander & Wolfe (1973), Nonparametric Statistical Methods, p. 29f: Hamilton depression scale
# factor of 9 patients at the first (x) and second (y) visit after a tranquilizer. R's
# wilcox.test help page uses them: wilcox.test(x, y, paired = TRUE, alternative = "greater")
# prints "V = 40, p-value = 0.01953".
X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]


def test_it_matches_hollander_and_wolfe_and_r_on_the_depression_data():
    result = wilcoxon_signed_rank(X, Y, alternative="greater")
    assert result.statistic == 40 and result.method == "exact"
    assert round(result.p, 5) == 0.01953
    # exact by hand: P(V ≥ 40) = P(V ≤ 5) = 10 subsets of 1..9 summing to ≤ 5, over 2⁹
    assert result.p == pytest.approx(10 / 512, rel=1e-12)


def test_the_two_sided_exact_p_value_doubles_the_tail():
    assert wilcoxon_signed_rank(X, Y).p == pytest.approx(20 / 512, rel=1e-12)


def test_ties_and_zeros_give_the_normal_approximation_with_continuity_correction():
    """Hand calculation, as R computes it (zeros dropped, tie-corrected variance, correction 0.5).
    Transfusions before 4 2 6 0 3 5 2 1 and on treatment 2 2 3 1 0 2 0 0: differences
    2 0 3 −1 3 3 2 1; one zero dropped leaves n = 7; |d| ranks 1,1 → 1.5; 2,2 → 3.5; 3,3,3 → 6;
    V = 3.5+6+6+6+3.5+1.5 = 26.5. Mean n(n+1)/4 = 14; variance 7·8·15/24 − (6+6+24)/48 = 34.25;
    z = (26.5 − 14 − 0.5)/√34.25 = 2.0505; p = 2(1 − Φ(z)) = 0.0403."""
    result = wilcoxon_signed_rank([4, 2, 6, 0, 3, 5, 2, 1], [2, 2, 3, 1, 0, 2, 0, 0])
    assert (result.n_pairs, result.n_nonzero, result.n_zero, result.ties) == (8, 7, 1, True)
    assert result.statistic == 26.5
    assert result.method == "normal approximation with continuity correction"
    z = (26.5 - 14 - 0.5) / math.sqrt(34.25)
    assert result.p == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert round(result.p, 4) == 0.0403


def test_ties_without_zeros_keep_the_exact_test_conditional_on_the_mid_ranks():
    """R's current wilcox.test (wch/r-source src/library/stats/R/wilcox.test.R, 2025): exact with
    ties, via the permutation distribution of the mid-ranks (.psignrank with z). Hand count:
    differences 1 1 2 3 −4, mid-ranks 1.5 1.5 3 4 5, V = 10 > n(n+1)/4 = 7.5, so the tail is
    P(V > q − 1) = P(V > 9); on doubled ranks 3 3 6 8 10 (total 30) that is P(S > 18), by symmetry
    P(S < 12): the subsets {}, {3}×2, {6}, {8}, {10}, {3,3}, {3,6}×2, {3,8}×2 — 11 of 32;
    two-sided p = 22/32 = 0.6875."""
    result = wilcoxon_signed_rank([1, 1, 2, 3, -4], [0] * 5)
    assert result.ties and result.method == "exact" and result.statistic == 10
    assert result.p == pytest.approx(22 / 32, rel=1e-12)
    # one-sided "greater": P(V > 9) = 11/32; "less": P(V <= 10) = 1 − P(S > 20) = 1 − P(S < 10)
    # where S < 10 counts {}, {3}×2, {6}, {8}, {3,3}, {3,6}×2 = 8 of 32
    assert wilcoxon_signed_rank([1, 1, 2, 3, -4], [0] * 5, "greater").p == pytest.approx(11 / 32, rel=1e-12)
    assert wilcoxon_signed_rank([1, 1, 2, 3, -4], [0] * 5, "less").p == pytest.approx(24 / 32, rel=1e-12)


def test_a_zero_alone_is_enough_to_leave_the_exact_test():
    result = wilcoxon_signed_rank([1, 2, 3, 4, 5], [0, 0, 0, 0, 5])
    assert result.n_zero == 1 and not result.ties and result.method.startswith("normal")


def test_fifty_differences_without_ties_leave_the_exact_test_as_r_does():
    """R: exact only when n < 50."""
    before = [i + 0.001 * i for i in range(1, 51)]
    after = [0.0] * 50
    assert wilcoxon_signed_rank(before, after).method.startswith("normal")
    assert wilcoxon_signed_rank(before[:49], after[:49]).method == "exact"


def test_all_zero_differences_have_no_p_value():
    result = wilcoxon_signed_rank([1, 2], [1, 2])
    assert result.p is None and result.n_nonzero == 0


@pytest.mark.parametrize(
    ("before", "after", "alternative", "argument"),
    [
        ([1, 2], [1], "two-sided", "after"),
        ([], [], "two-sided", "before"),
        ([1, 2], [1, 2], "bigger", "alternative"),
        ([1, float("nan")], [1, 2], "two-sided", "before"),
    ],
)
def test_it_refuses_bad_input_naming_it(before, after, alternative, argument):
    with pytest.raises(StatsInputError) as error:
        wilcoxon_signed_rank(before, after, alternative)
    assert error.value.argument == argument
