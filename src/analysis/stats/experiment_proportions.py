"""Two-proportion statistics of an A/B test: difference and lift intervals, exact tests.

The pooled z-test and the Newcombe interval live in
:mod:`analysis.stats.proportions` (vectorised over arrays, so that a
calibration study of thousands of simulated tests costs one call) and are
importable from here; :func:`analysis.experiments.compare.compare_conversion`
uses them for a single comparison.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from analysis.core.types import ALTERNATIVES, Alternative, check_alternative
from analysis.stats.proportions import newcombe_interval, p_from_z, two_proportion_ztest

__all__ = [
    "ALTERNATIVES",
    "Alternative",
    "check_alternative",
    "diff_interval",
    "exact_test",
    "lift_interval",
    "min_expected_count",
    "p_from_z",
    "two_proportion_ztest",
]


def diff_interval(
    count1: float, nobs1: float, count2: float, nobs2: float, alpha: float = 0.05
) -> tuple[float, float]:
    """Newcombe interval of :math:`p_1 - p_2` for one comparison, as floats.

    :func:`analysis.stats.proportions.newcombe_interval` on scalars; NaN when a
    group is empty.
    """
    low, high = newcombe_interval(count1, nobs1, count2, nobs2, alpha)
    return float(low), float(high)


def lift_interval(
    count1: float, nobs1: float, count2: float, nobs2: float, alpha: float = 0.05
) -> tuple[float, float, float]:
    """Relative lift :math:`p_1 / p_2 - 1` with the log-adjusted ratio interval.

    Notes
    -----
    The ratio interval is statsmodels' ``confint_proportions_2indep(...,
    compare="ratio", method="log-adjusted")`` (0.5 added to each count for the
    variance of :math:`\\log(\\hat p_1/\\hat p_2)`), shifted by -1. Undefined
    (NaN) when the control has no conversions.
    """
    if nobs1 <= 0 or nobs2 <= 0 or count2 <= 0:
        return np.nan, np.nan, np.nan
    lift = (count1 / nobs1) / (count2 / nobs2) - 1
    low, high = confint_proportions_2indep(
        count1, nobs1, count2, nobs2, method="log-adjusted", compare="ratio", alpha=alpha
    )
    return float(lift), float(low) - 1, float(high) - 1


def exact_test(
    count1: int,
    nobs1: int,
    count2: int,
    nobs2: int,
    alternative: Alternative = "two-sided",
    method: Literal["fisher", "boschloo"] = "fisher",
) -> tuple[float, float]:
    """Fisher's (or Boschloo's) exact test of the 2x2 table variant vs control.

    Returns
    -------
    statistic, p_value : float
        For Fisher the sample odds ratio, for Boschloo its statistic (Fisher's
        one-sided p-value), as scipy reports them.
    """
    check_alternative(alternative)
    table = np.array([[count1, nobs1 - count1], [count2, nobs2 - count2]], dtype=np.int64)
    side = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative]
    if method == "boschloo":
        res = stats.boschloo_exact(table, alternative=side)
    else:
        res = stats.fisher_exact(table, alternative=side)
    return float(res.statistic), float(res.pvalue)


def min_expected_count(counts: np.ndarray, nobs: np.ndarray) -> float:
    """Smallest expected cell of the k x 2 table under a common rate."""
    counts, nobs = np.asarray(counts, dtype=float), np.asarray(nobs, dtype=float)
    total = nobs.sum()
    if total <= 0:
        return 0.0
    pooled = counts.sum() / total
    return float(min((nobs * pooled).min(), (nobs * (1 - pooled)).min()))
