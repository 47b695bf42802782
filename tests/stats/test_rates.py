"""Tests for analysis.stats.rates."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.stats.rates import rate_with_interval


def test_wilson_matches_newcombe_1998_published_example():
    # Newcombe (1998), Stat Med 17:857-872, Table I example (i): 81/263,
    # Wilson score interval 0.2553 to 0.3662.
    rate, low, high = rate_with_interval(81, 263)
    assert rate[0] == pytest.approx(81 / 263)
    assert low[0] == pytest.approx(0.2553, abs=5e-5)
    assert high[0] == pytest.approx(0.3662, abs=5e-5)


def test_vectorised_and_matches_statsmodels():
    count = np.array([0, 5, 50, 100])
    nobs = np.array([10, 10, 100, 100])
    rate, low, high = rate_with_interval(count, nobs, alpha=0.1)
    # Reference: statsmodels proportion_confint, the implementation we wrap.
    ref_low, ref_high = proportion_confint(count, nobs, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, ref_low)
    np.testing.assert_allclose(high, ref_high)
    np.testing.assert_allclose(rate, count / nobs)
    assert np.all((low <= rate) & (rate <= high))


def test_zero_denominator_gives_nan_not_an_error():
    rate, low, high = rate_with_interval(np.array([0, 3]), np.array([0, 6]))
    assert np.isnan(rate[0]) and np.isnan(low[0]) and np.isnan(high[0])
    assert rate[1] == 0.5


def test_alpha_outside_unit_interval_is_rejected():
    with pytest.raises(ValueError, match="alpha"):
        rate_with_interval(1, 2, alpha=1.5)
