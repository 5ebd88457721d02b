"""Kaplan–Meier, the median with its confidence interval, and the log-rank test, against R's
survival package on its `aml` data (Miller 1981; acute myelogenous leukemia, maintained or not).

The data (tests/stats/data/aml.csv) are those listed in therneau/survival tests/difftest.Rout.save
(the first 23 rows of `aml3`, "The AML data, with a third group ... tacked on"). R's printed output
is in therneau/survival tests/doaml.Rout.save (R 2024-04-17 r86441, commit a2533a9): `survfit`
there uses R's default conf.type = "log", so the table and median comparisons use
conf_type="log"; the log-log interval (our default) is checked against its formula by hand.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from scipy import stats

from trialdesk.stats.errors import StatsInputError
from trialdesk.stats.survival import kaplan_meier, logrank, survival_by_group

AML = Path(__file__).resolve().parent / "data" / "aml.csv"


def aml():
    with AML.open() as handle:
        rows = list(csv.DictReader(handle))
    return [float(r["time"]) for r in rows], [int(r["status"]) for r in rows], [r["x"] for r in rows]


# summary(fit), doaml.Rout.save: time, n.risk, n.event, survival, lower 95% CI, upper 95% CI
R_MAINTAINED = [
    (9, 11, 1, 0.909, 0.7541, 1.000),
    (13, 10, 1, 0.818, 0.6192, 1.000),
    (18, 8, 1, 0.716, 0.4884, 1.000),
    (23, 7, 1, 0.614, 0.3769, 0.999),
    (31, 5, 1, 0.491, 0.2549, 0.946),
    (34, 4, 1, 0.368, 0.1549, 0.875),
    (48, 2, 1, 0.184, 0.0359, 0.944),
]
R_NONMAINTAINED = [
    (5, 12, 2, 0.8333, 0.6470, 1.000),
    (8, 10, 2, 0.6667, 0.4468, 0.995),
    (12, 8, 1, 0.5833, 0.3616, 0.941),
    (23, 6, 1, 0.4861, 0.2675, 0.883),
    (27, 5, 1, 0.3889, 0.1854, 0.816),
    (30, 4, 1, 0.2917, 0.1148, 0.741),
    (33, 3, 1, 0.1944, 0.0569, 0.664),
    (43, 2, 1, 0.0972, 0.0153, 0.620),
    (45, 1, 1, 0.0000, None, None),  # R prints NaN / NA
]


def decimals(printed: float) -> int:
    text = f"{printed}"
    return len(text.split(".")[1]) if "." in text else 0


@pytest.mark.parametrize(
    ("group", "expected"), [("Maintained", R_MAINTAINED), ("Nonmaintained", R_NONMAINTAINED)]
)
def test_the_table_matches_r_summary_survfit_to_the_printed_digits(group, expected):
    times, events, groups = aml()
    fit = survival_by_group(times, events, groups, conf_type="log").groups[group]
    assert len(fit.table) == len(expected)
    for row, (time, n_risk, n_event, survival, lower, upper) in zip(fit.table, expected, strict=True):
        assert (row.time, row.n_risk, row.n_event) == (time, n_risk, n_event)
        # R prints the survival column to 3 or 4 decimals (e.g. 0.909, 0.8333): compare at that precision
        digits = 3 if group == "Maintained" else 4
        assert round(row.survival, digits) == round(survival, digits)
        if lower is None:
            assert row.lower is None and row.upper is None
        else:
            assert round(row.lower, 4) == lower
            assert round(row.upper, 3) == upper


def test_the_median_and_its_interval_match_r_print_survfit():
    """doaml.Rout.save, `fit`: Maintained n 11, events 7, median 31, 0.95LCL 18, 0.95UCL NA;
    Nonmaintained n 12, events 11, median 23, 0.95LCL 8, 0.95UCL NA."""
    times, events, groups = aml()
    analysis = survival_by_group(times, events, groups, conf_type="log")
    maintained, nonmaintained = analysis.groups["Maintained"], analysis.groups["Nonmaintained"]
    assert (maintained.n, maintained.events, maintained.median) == (11, 7, 31)
    assert (maintained.median_lower, maintained.median_upper) == (18, None)
    assert (nonmaintained.n, nonmaintained.events, nonmaintained.median) == (12, 11, 23)
    assert (nonmaintained.median_lower, nonmaintained.median_upper) == (8, None)


def test_the_log_rank_test_matches_r_survdiff():
    """doaml.Rout.save, `survdiff(Surv(aml$time, aml$status) ~ aml$x)`: Observed 7 and 11,
    Expected 10.69 and 7.31, "Chisq= 3.4 on 1 degrees of freedom, p= 0.07"."""
    times, events, groups = aml()
    test = survival_by_group(times, events, groups).logrank
    assert test.groups == ("Maintained", "Nonmaintained")
    assert test.observed == (7, 11)
    assert [round(e, 2) for e in test.expected] == [10.69, 7.31]
    assert round(test.chisq, 1) == 3.4 and test.df == 1 and round(test.p, 2) == 0.07


def test_a_third_group_without_events_gives_r_survdiffs_answer():
    """therneau/survival tests/difftest.Rout.save, `survdiff(Surv(time, status) ~ x, aml3)`: a third
    group "Dummy" of 7 early censorings (times 1, 2, 2, 3, 3, 3, 4): Observed 0, Expected 0.00, and
    "Chisq= 3.4 on 1 degrees of freedom, p= 0.07" — the same as without it. This is the k-group
    statistic written by hand (three groups), not scipy's two-group test."""
    times, events, groups = aml()
    test = logrank(times + [1, 2, 2, 3, 3, 3, 4], events + [0] * 7, groups + ["Dummy"] * 7)
    assert test.method == "survdiff" and test.groups == ("Dummy", "Maintained", "Nonmaintained")
    assert test.observed == (0, 7, 11) and round(test.expected[0], 2) == 0.0
    assert round(test.chisq, 1) == 3.4 and test.df == 1 and round(test.p, 2) == 0.07


def test_the_hand_written_statistic_equals_scipys_on_two_groups():
    """On two groups the (O − E)ᵀ V⁻¹ (O − E) of _survdiff is scipy.stats.logrank's z²."""
    import numpy as np

    from trialdesk.stats.survival import _survdiff

    times, events, groups = aml()
    g = np.array([0 if name == "Maintained" else 1 for name in groups])
    observed, expected, variance = _survdiff(np.array(times), np.array(events), g, 2)
    by_hand = (observed[1] - expected[1]) ** 2 / variance[1, 1]
    assert logrank(times, events, groups).chisq == pytest.approx(by_hand, rel=1e-12)


def test_a_three_group_log_rank_follows_the_formula_by_hand():
    """Hand calculation. Groups A (times 1, 3), B (2, 4), C (5, 6), every time an event, one death
    per time, so V_t = diag(s) − s sᵀ with s the shares at risk (d (n − d)/(n − 1) = 1):
      t=1: at risk (2,2,2), E = (1/3,1/3,1/3);  t=2: (1,2,2), E = (1/5,2/5,2/5);
      t=3: (1,1,2), E = (1/4,1/4,1/2);          t=4: (0,1,2), E = (0,1/3,2/3);
      t=5: (0,0,2), E = (0,0,1), V = 0;          t=6: (0,0,1), E = (0,0,1), n = 1, no variance.
    O = (2,2,2), E = (47/60, 79/60, 234/60); O − E for B, C = (41/60, −114/60). The 2×2 variance
    of B, C is the sum over t = 1..4 of [[s_B(1−s_B), −s_B s_C], [−s_B s_C, s_C(1−s_C)]]; the
    statistic is (O−E)ᵀ V⁻¹ (O−E) on 2 degrees of freedom."""
    shares = [(1 / 3, 1 / 3), (2 / 5, 2 / 5), (1 / 4, 1 / 2), (1 / 3, 2 / 3)]
    vbb = sum(b * (1 - b) for b, _ in shares)
    vcc = sum(c * (1 - c) for _, c in shares)
    vbc = -sum(b * c for b, c in shares)
    ub, uc = 41 / 60, -114 / 60
    det = vbb * vcc - vbc * vbc
    chisq = (ub * ub * vcc - 2 * ub * uc * vbc + uc * uc * vbb) / det
    test = logrank([1, 3, 2, 4, 5, 6], [1] * 6, ["A", "A", "B", "B", "C", "C"])
    assert test.expected == pytest.approx((47 / 60, 79 / 60, 234 / 60))
    assert test.chisq == pytest.approx(chisq, rel=1e-12) and test.df == 2
    assert test.p == pytest.approx(stats.chi2.sf(chisq, 2), rel=1e-12)


def test_the_log_log_interval_is_r_survfit_confints_formula():
    """R/survfit.R survfit_confint, conf.type "log-log": S^exp(±z·se/log S), se the Greenwood
    standard error of log S. Maintained at t = 9: S = 10/11, se = √(1/(11·10)); at t = 13:
    S = 10/11 · 9/10, se = √(1/110 + 1/90)."""
    times, events, groups = aml()
    fit = survival_by_group(times, events, groups).groups["Maintained"]
    z = stats.norm.ppf(0.975)
    for row, s, var in ((fit.table[0], 10 / 11, 1 / 110), (fit.table[1], 9 / 11, 1 / 110 + 1 / 90)):
        k = z * math.sqrt(var) / math.log(s)
        assert row.survival == pytest.approx(s, rel=1e-12)
        assert row.lower == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) - k)), rel=1e-9)
        assert row.upper == pytest.approx(math.exp(-math.exp(math.log(-math.log(s)) + k)), rel=1e-9)
    last = survival_by_group(times, events, groups).groups["Nonmaintained"].table[-1]
    assert last.survival == 0 and last.lower is None and last.upper is None


def test_the_median_interval_uses_the_log_log_band_where_it_crosses_one_half():
    """With the log-log band (computed above by the formula): Nonmaintained lower band first ≤ 0.5
    at t = 5 (0.4817), upper band first ≤ 0.5 at t = 33 (0.4614), so the median 23 has the
    interval 5 to 33; Maintained upper band stays above 0.5 (0.5250 at 48): no upper limit."""
    times, events, groups = aml()
    analysis = survival_by_group(times, events, groups)
    non = analysis.groups["Nonmaintained"]
    assert (non.median, non.median_lower, non.median_upper) == (23, 5, 33)
    assert round(non.table[0].lower, 4) == 0.4817 and round(non.table[6].upper, 4) == 0.4614
    kept = analysis.groups["Maintained"]
    assert (kept.median, kept.median_lower, kept.median_upper) == (31, 13, None)


def test_a_flat_at_exactly_one_half_takes_the_midpoint_as_r_does():
    """quantile.survfit's midpoint rule: 4 subjects, events at 1 and 2, the curve is 0.5 from t = 2
    until the next event at 4 (a censoring at 3 between): the median is (2 + 4)/2 = 3."""
    fit = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 1])
    assert fit.table[1].survival == 0.5 and fit.median == 3


def test_a_curve_ending_at_exactly_one_half_takes_the_midpoint_to_the_last_time():
    """findq's end-of-curve case: events at 1 and 2 of 4, censored at 5 and 7: S = 0.5 from 2 to
    the last time 7: median (2 + 7)/2 = 4.5."""
    assert kaplan_meier([1, 2, 5, 7], [1, 1, 0, 0]).median == 4.5


def test_a_curve_that_never_falls_to_one_half_has_no_median():
    """S = 0.8 after t = 1, then censorings: no median and no upper limit; the lower band
    (0.2038 at t = 1) is below 0.5, so the lower limit is 1, as R's findq gives."""
    fit = kaplan_meier([1, 2, 3, 4, 5], [1, 0, 0, 0, 0])
    assert fit.median is None and fit.median_lower == 1 and fit.median_upper is None
    assert [row.time for row in fit.table] == [1]


def test_without_any_event_the_table_is_empty_and_survival_stays_one():
    fit = kaplan_meier([3, 4], [0, 0])
    assert fit.table == () and fit.events == 0 and fit.median is None and fit.survival_at(10) == 1.0


def test_without_groups_there_is_one_group_named_all_and_no_log_rank():
    times, events, _ = aml()
    analysis = survival_by_group(times, events)
    assert list(analysis.groups) == ["all"] and analysis.logrank is None
    assert analysis.groups["all"].n == 23 and analysis.groups["all"].events == 18
    assert "logrank" not in analysis.to_dict()


@pytest.mark.parametrize(
    ("times", "events", "argument"),
    [
        ([1, -2], [1, 1], "time"),
        ([1, 2], [1, 2], "event"),
        ([1, 2], [1, 0.5], "event"),
        ([1, 2], [1], "event"),
        ([], [], "time"),
        ([1, float("nan")], [1, 1], "time"),
    ],
)
def test_it_refuses_bad_data_naming_it(times, events, argument):
    with pytest.raises(StatsInputError) as error:
        kaplan_meier(times, events)
    assert error.value.argument == argument


def test_it_refuses_a_level_outside_zero_one():
    with pytest.raises(StatsInputError) as error:
        kaplan_meier([1, 2], [1, 1], level=1.0)
    assert error.value.argument == "level"
