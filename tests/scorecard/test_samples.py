"""Tests for analysis.scorecard.samples: each measure's estimate and change, against references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from score_reference import mn_interval
from statsmodels.stats import rates as sm_rates
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from analysis.scorecard.samples import Cost, Days, PerRep, Rate


def test_rate_matches_wilson_and_the_score_test():
    value, low, high = Rate(4, 10).estimate(0.05)
    ref_low, ref_high = proportion_confint(4, 10, alpha=0.05, method="wilson")  # statsmodels
    assert (value, low, high) == pytest.approx((0.4, ref_low, ref_high))
    a, b = Rate(6, 10), Rate(3, 10)
    # Reference: statsmodels' Miettinen-Nurminen score test; brute-force inversion for the interval.
    assert a.p_value(b) == pytest.approx(
        sm_test_2indep(6, 10, 3, 10, method="score", compare="diff").pvalue, rel=1e-9
    )
    diff, low, high = a.change(b, 0.05)
    assert diff == pytest.approx(0.3)
    assert (low, high) == pytest.approx(mn_interval(6, 10, 3, 10), abs=1e-8)


def test_rate_without_trials_or_variation():
    assert np.isnan(Rate(0, 0).p_value(Rate(3, 10)))
    assert Rate(10, 10).p_value(Rate(5, 5)) == 1.0  # all succeeded in both: no evidence
    assert all(np.isnan(v) for v in Rate(0, 0).estimate(0.05))


def test_median_interval_from_order_statistics_by_hand():
    days = Days(np.arange(1.0, 11.0), np.ones(10, dtype="int64"))
    # Hand calculation: B ~ Bin(10, 1/2): P(B <= 1) = 11/1024 <= 0.025 < P(B <= 2) = 56/1024,
    # so the 95% interval is [x(2), x(9)] = [2, 9] (coverage 1 - 2 * 11/1024 = 97.9%).
    assert days.estimate(0.05) == (5.5, 2.0, 9.0)
    # Too few deals for any interval at this level: P(B <= 0) = 1/8 > 0.025 for n = 3.
    value, low, high = Days(np.array([1.0, 2.0, 3.0]), np.ones(3, dtype="int64")).estimate(0.05)
    assert value == 2.0 and np.isnan(low) and np.isnan(high)


def test_days_change_is_seeded_and_agrees_with_its_p_value():
    rng = np.random.default_rng(3)
    fast = np.bincount(rng.poisson(10, 60))
    slow = np.bincount(rng.poisson(16, 60))

    def days(counts):
        return Days(np.arange(len(counts), dtype=float), counts.astype("int64"))

    a, b = days(slow), days(fast)
    assert a.change(b, 0.05) == a.change(b, 0.05)  # the same data gives the same interval
    diff, low, high = a.change(b, 0.05)
    assert diff == pytest.approx(
        np.median(np.repeat(a.days, a.counts)) - np.median(np.repeat(b.days, b.counts))
    )
    p = a.p_value(b)
    assert p < 0.05 and low > 0  # medians 16 vs 10: beyond noise, both ways of saying it
    # Agreement at any level: the interval excludes 0 exactly when p is below the level.
    for level in (0.001, 0.01, 0.05, 0.2):
        lo, hi = a.change(b, level)[1:]
        assert (lo > 0 or hi < 0) == (p < level) or p == pytest.approx(level)
    same = days(fast)
    assert same.p_value(days(fast)) == 1.0


def test_revenue_per_rep_matches_welch():
    a = np.array([120.0, 80.0, 0.0, 200.0, 150.0])
    b = np.array([60.0, 40.0, 0.0, 90.0])
    ref = stats.ttest_ind(a, b, equal_var=False)  # scipy's Welch test and interval
    ci = ref.confidence_interval(0.95)
    diff, low, high = PerRep(a).change(PerRep(b), 0.05)
    assert PerRep(a).p_value(PerRep(b)) == pytest.approx(ref.pvalue, rel=1e-9)
    assert (diff, low, high) == pytest.approx((a.mean() - b.mean(), ci.low, ci.high), rel=1e-9)
    mean, lo, hi = PerRep(a).estimate(0.05)
    assert mean == pytest.approx(110.0) and lo < mean < hi  # hand: (120+80+0+200+150)/5
    assert np.isnan(PerRep(np.array([5.0])).p_value(PerRep(b)))


def test_cac_ratio_matches_statsmodels_wald_log():
    now, before = Cost(10_000.0, 20), Cost(6_000.0, 30)
    ratio, low, high = now.change(before, 0.05)
    assert ratio == pytest.approx((10_000 / 20) / (6_000 / 30))  # hand: 500 / 200 = 2.5
    # CAC ratio = 1 / (customers-per-spend ratio): statsmodels' Wald interval on the log scale.
    rate_low, rate_high = sm_rates.confint_poisson_2indep(
        20, 10_000, 30, 6_000, method="wald-log", compare="ratio", alpha=0.05
    )
    assert (low, high) == pytest.approx((1 / rate_high, 1 / rate_low), rel=1e-9)
    ref_p = sm_rates.test_poisson_2indep(20, 10_000, 30, 6_000, method="wald-log").pvalue
    assert now.p_value(before) == pytest.approx(ref_p, rel=1e-9)
    assert np.isnan(Cost(100.0, 0).p_value(before))
    value, lo, hi = now.estimate(0.05)
    assert value == 500.0 and lo < 500.0 < hi
