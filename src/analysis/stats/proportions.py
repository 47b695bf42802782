"""Two independent proportions: difference and lift intervals, score, pooled z and exact tests.

The one home of the two-proportion statistics of the workbench: stage
conversion between windows (:mod:`analysis.pipeline.bottlenecks._compare`), rep against
team (:mod:`analysis.team.coaching`), segments (:mod:`analysis.segments.compare`),
periods (:mod:`analysis.team.history`), head-to-head win rates
(:mod:`analysis.winloss.outcomes`, :mod:`analysis.winloss.compare`) and A/B tests
(:mod:`analysis.experiments`). Functions work element-wise on count arrays;
an empty group gives NaN. P-values of a table are adjusted with
:func:`analysis.stats.multitest.adjust_pvalues`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from analysis.core.types import Alternative, Correction, check_alternative
from analysis.stats.multitest import adjust_pvalues, adjusted_levels
from analysis.stats.score import score_interval, score_test_p

__all__ = [
    "difference_interval",
    "exact_test",
    "lift_interval",
    "min_expected_count",
    "p_from_z",
    "score_interval",
    "score_test_p",
    "two_proportion_ztest",
    "two_proportions",
]


ArrayLike = np.ndarray | float


def p_from_z(z: np.ndarray | float, alternative: Alternative = "two-sided") -> np.ndarray:
    """P-value of a standard normal statistic for the given alternative."""
    z = np.asarray(z, dtype=float)
    if alternative == "larger":
        return stats.norm.sf(z)
    if alternative == "smaller":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


def _as_arrays(*values: ArrayLike) -> list[np.ndarray]:
    return np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values))


def _varies(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Both groups nonempty and the pooled rate strictly between 0 and 1."""
    return (n1 > 0) & (n2 > 0) & (x1 + x2 > 0) & (x1 + x2 < n1 + n2)


def two_proportion_ztest(
    count1: ArrayLike,
    nobs1: ArrayLike,
    count2: ArrayLike,
    nobs2: ArrayLike,
    alternative: Alternative = "two-sided",
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z-test of :math:`p_1 - p_2`, element-wise over arrays.

    Parameters
    ----------
    count1, nobs1 : array-like
        Successes and trials of the first group (the variant, the current window).
    count2, nobs2 : array-like
        Successes and trials of the second group (the control, the baseline).
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"`` tests :math:`p_1 > p_2`.

    Returns
    -------
    statistic, p_value : numpy.ndarray
        NaN where a group is empty or the pooled rate is 0 or 1 (no variation).

    Notes
    -----
    .. math:: z = \\frac{\\hat p_1 - \\hat p_2}
              {\\sqrt{\\bar p (1 - \\bar p)(1/n_1 + 1/n_2)}},
              \\qquad \\bar p = \\frac{x_1 + x_2}{n_1 + n_2}

    the statistic of ``statsmodels.stats.proportion.proportions_ztest`` with
    its default pooled variance, computed on arrays.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., section 3.1.
    """
    check_alternative(alternative)
    x1, n1, x2, n2 = _as_arrays(count1, nobs1, count2, nobs2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
    z = np.where((n1 > 0) & (n2 > 0) & (se > 0), z, np.nan)
    return z, p_from_z(z, alternative)


def two_proportions(
    x1: np.ndarray,
    n1: np.ndarray,
    x0: np.ndarray,
    n0: np.ndarray,
    alpha: float,
    *,
    correction: Correction | None = None,
    no_variation_p: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Difference ``x1/n1 - x0/n0`` rowwise: score interval, score test, adjusted p-value.

    Parameters
    ----------
    x1, n1, x0, n0 : array-like
        Successes and trials of each row's two groups.
    alpha : float
        The significance level.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}, optional
        Adjust the rows' p-values as one family; each row's interval is then
        at the level that agrees with its adjusted p-value
        (:func:`analysis.stats.multitest.adjusted_levels`). None: one
        comparison per row, nothing adjusted.
    no_variation_p : float
        The p-value of a row whose groups are both nonempty but all or none of
        whose trials succeeded: 1 (no evidence of a difference) or NaN (not
        tested). Either way the row stays out of the adjusted family.

    Returns
    -------
    difference, ci_low, ci_high, p_value, p_adjusted : numpy.ndarray
        NaN where a group is empty; ``no_variation_p`` where both groups are
        nonempty but all or none of their trials succeeded. ``p_adjusted``
        equals ``p_value`` without ``correction``.

    Notes
    -----
    Test and interval are one procedure: the Miettinen–Nurminen score test
    and the interval that inverts it (:mod:`analysis.stats.score`), so the
    interval excludes 0 exactly when the (adjusted) p-value is below
    ``alpha``.
    """
    x1, n1, x0, n0 = _as_arrays(x1, n1, x0, n0)
    ok = (n1 > 0) & (n0 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(ok, x1 / n1 - x0 / n0, np.nan)
    p = score_test_p(x1, n1, x0, n0)  # NaN without variation: not in the family
    p_adj = p.copy() if correction is None else adjust_pvalues(p, correction)
    low, high = score_interval(x1, n1, x0, n0, adjusted_levels(p, p_adj, alpha))
    flat = ok & ~_varies(x1, n1, x0, n0)
    p[flat], p_adj[flat] = no_variation_p, no_variation_p
    return diff, low, high, p, p_adj


def difference_interval(
    count1: float, nobs1: float, count2: float, nobs2: float, alpha: float = 0.05
) -> tuple[float, float]:
    """Score interval of :math:`p_1 - p_2` for one comparison, as floats.

    :func:`analysis.stats.score.score_interval` (Miettinen–Nurminen) on
    scalars; NaN when a group is empty.
    """
    low, high = score_interval(count1, nobs1, count2, nobs2, alpha)
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
