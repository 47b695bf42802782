"""Tests of analysis.stats.score and proportions.two_proportions: one test and the interval
that inverts it, so "the interval excludes 0" and "p < alpha" never disagree (issue 19).

References: statsmodels' score test of no difference (right at a difference of 0);
a brute-force Miettinen–Nurminen interval (tests/score_reference.py: numerical
restricted MLE and brentq), since statsmodels' score interval for a difference
is wrong away from 0 (statsmodels issue #10269); and hand counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from score_reference import _restricted, mn_interval
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from analysis.stats.multitest import adjusted_levels
from analysis.stats.proportions import two_proportions
from analysis.stats.score import (
    restricted_rates,
    score_interval,
    score_statistic,
    score_test_p,
)


def test_the_audit_example_no_longer_disagrees():
    # Issue 19, case 7: 38/175 against 100/335 gave Newcombe's [-0.156, +0.00003]
    # (includes 0) beside a score-test p of 0.0498.
    diff, low, high, p, _ = two_proportions(38, 175, 100, 335, 0.05)
    ref_p = sm_test_2indep(38, 175, 100, 335, method="score", compare="diff").pvalue
    assert float(p) == pytest.approx(ref_p, rel=1e-12) and float(p) < 0.05
    assert (float(low), float(high)) == pytest.approx(mn_interval(38, 175, 100, 335), abs=1e-8)
    assert float(high) < 0  # excludes 0, as p < 0.05 says
    assert float(diff) == pytest.approx(38 / 175 - 100 / 335)


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "delta"),
    [(121, 191, 168, 206, -0.268), (7, 18, 23, 115, 0.2), (0, 9, 8, 10, -0.5), (5, 5, 1, 9, 0.6)],
)
def test_restricted_rates_maximise_the_likelihood(x1, n1, x2, n2, delta):
    # Closed-form cubic root against numerical maximisation of the restricted likelihood.
    q1, q2 = restricted_rates(
        np.array(x1 / n1), np.array(float(n1)), np.array(x2 / n2), np.array(float(n2)),
        np.array(delta),
    )  # fmt: skip
    assert (float(q1), float(q2)) == pytest.approx(_restricted(x1, n1, x2, n2, delta), abs=1e-7)
    assert float(q1) - float(q2) == pytest.approx(delta, abs=1e-12)


def test_at_zero_the_statistics_are_the_score_and_pooled_z_tests():
    # Miettinen–Nurminen at 0 is statsmodels' score test; Mee's (no N/(N-1)) is the pooled z.
    z_mn = float(score_statistic(40, 200, 25, 180))
    z_mee = float(score_statistic(40, 200, 25, 180, correction=False))
    assert z_mn == pytest.approx(
        sm_test_2indep(40, 200, 25, 180, method="score", compare="diff").statistic, rel=1e-10
    )
    assert z_mee == pytest.approx(proportions_ztest([40, 25], [200, 180])[0], rel=1e-12)
    assert z_mee / z_mn == pytest.approx(np.sqrt(380 / 379))


def test_intervals_and_tests_agree_on_random_tables():
    # 5,000 random tables (seeded): the interval excludes 0 exactly when p < alpha, at
    # several levels, and matches the brute-force inversion on a subsample.
    rng = np.random.default_rng(19)
    n1, n2 = rng.integers(3, 500, 5000), rng.integers(3, 500, 5000)
    x1, x2 = rng.binomial(n1, rng.uniform(0, 1, 5000)), rng.binomial(n2, rng.uniform(0, 1, 5000))
    p = score_test_p(x1, n1, x2, n2)
    tested = np.isfinite(p)
    for alpha in (0.01, 0.05, 0.2):
        low, high = score_interval(x1, n1, x2, n2, alpha)
        excludes = (low > 0) | (high < 0)
        assert (excludes[tested] == (p[tested] < alpha)).all()
        assert (low <= high).all() and (low >= -1).all() and (high <= 1).all()
    low, high = score_interval(x1, n1, x2, n2, 0.05)
    for i in np.flatnonzero(tested)[:40]:
        ref = mn_interval(x1[i], n1[i], x2[i], n2[i])
        assert (low[i], high[i]) == pytest.approx(ref, abs=1e-7)


def test_empty_groups_and_no_variation():
    diff, low, high, p, p_adj = two_proportions(
        np.array([0, 3, 10]), np.array([0, 10, 10]), np.array([1, 4, 10]), np.array([5, 10, 10]),
        0.05, correction="holm",
    )  # fmt: skip
    assert np.isnan([diff[0], low[0], high[0], p[0]]).all()  # an empty group: nothing
    assert p[2] == 1.0 and p_adj[2] == 1.0  # all succeeded in both: no evidence
    assert low[2] < 0 < high[2]
    # The no-variation row stays out of the family: row 1 is adjusted alone (Holm, m = 1).
    assert p_adj[1] == pytest.approx(p[1])
    _, _, _, p_nan, _ = two_proportions(10, 10, 10, 10, 0.05, no_variation_p=np.nan)
    assert np.isnan(p_nan)


def test_adjusted_intervals_agree_with_adjusted_p_values():
    # Holm and BH over a family of five rows: each interval excludes 0 exactly when its
    # adjusted p-value is below alpha (the unadjusted interval would not).
    x1, n1 = np.array([30, 45, 50, 40, 20]), np.array([100] * 5)
    x0, n0 = np.array([45, 60, 50, 52, 30]), np.array([100] * 5)
    for method in ("holm", "fdr_bh", "bonferroni"):
        _, low, high, p, p_adj = two_proportions(x1, n1, x0, n0, 0.05, correction=method)
        assert p_adj == pytest.approx(multipletests(p, method=method)[1], rel=1e-12)
        excludes = (low > 0) | (high < 0)
        assert (excludes == (p_adj < 0.05)).all()
    # Bonferroni levels are alpha / m: the usual simultaneous intervals.
    _, low, high, p, p_adj = two_proportions(x1, n1, x0, n0, 0.05, correction="bonferroni")
    assert adjusted_levels(p, p_adj, 0.05)[p_adj < 1] == pytest.approx(0.01)
    assert (low[0], high[0]) == pytest.approx(mn_interval(30, 100, 45, 100, 0.01), abs=1e-8)


# Newcombe (1998), Statistics in Medicine 17:873-890, Table II: the eight worked
# examples (a)-(h), 95% intervals of methods 5 (Mee) and 6 (Miettinen–Nurminen).
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0533, 0.3377), (0.0528, 0.3382)),
    ((9, 10, 3, 10), (0.1821, 0.8370), (0.1700, 0.8406)),
    ((6, 7, 2, 7), (0.0544, 0.8478), (0.0342, 0.8534)),
    ((5, 56, 0, 29), (-0.0313, 0.1926), (-0.0326, 0.1933)),
    ((0, 10, 0, 20), (-0.1611, 0.2775), (-0.1658, 0.2844)),
    ((0, 10, 0, 10), (-0.2775, 0.2775), (-0.2879, 0.2879)),
    ((10, 10, 0, 20), (0.7225, 1.0), (0.7156, 1.0)),
    ((10, 10, 0, 10), (0.6777, 1.0), (0.6636, 1.0)),
]


@pytest.mark.parametrize(("counts", "mee", "mn"), NEWCOMBE_TABLE_II)
def test_newcombe_published_mee_and_miettinen_nurminen_intervals(counts, mee, mn):
    got_mn = [float(v) for v in score_interval(*counts)]
    got_mee = [float(v) for v in score_interval(*counts, correction=False)]
    assert got_mn == pytest.approx(mn, abs=5e-5)
    assert got_mee == pytest.approx(mee, abs=5e-5)
