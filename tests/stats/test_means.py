"""Positive-mean intervals: hand-calculated bounds, positivity, agreement with t for large n."""

from __future__ import annotations

import math

import numpy as np

from analysis.stats.means import positive_mean_interval


def test_bounds_by_hand():
    # mean 100, se 50, q 1.96: exp(1.96 * 50 / 100) = exp(0.98) = 2.6645.
    low, high = positive_mean_interval(100.0, 50.0, 1.96)
    assert math.isclose(float(low), 100 / math.exp(0.98), rel_tol=1e-12)
    assert math.isclose(float(high), 100 * math.exp(0.98), rel_tol=1e-12)


def test_skewed_few_deals_never_give_a_negative_bound():
    # A t interval would be 12,000 ± 56,700 here: its low end below zero.
    low, high = positive_mean_interval(12_000.0, 25_000.0, 2.268)
    assert 0 < float(low) < 12_000 < float(high)


def test_precise_means_agree_with_the_t_interval():
    # se/mean = 1%: the log-scale bounds are within 0.02% of mean ± q se.
    low, high = positive_mean_interval(1000.0, 10.0, 1.96)
    assert math.isclose(float(low), 1000 - 19.6, rel_tol=2e-4)
    assert math.isclose(float(high), 1000 + 19.6, rel_tol=2e-4)


def test_zero_or_missing_means_have_no_interval():
    low, high = positive_mean_interval([0.0, np.nan, 5.0], [1.0, 1.0, 1.0], 1.96)
    assert np.isnan(low[:2]).all() and np.isnan(high[:2]).all() and low[2] > 0
