"""Two-proportion statistics on count arrays: the pooled z-test, the Newcombe
interval of a difference and the interval of a relative lift.

Vectorised over arrays so that a calibration study (thousands of simulated
tests) costs one call; :func:`analysis.experiments.compare.compare_conversion`
uses the same functions for a single comparison.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

Alternative = Literal["two-sided", "larger", "smaller"]
ALTERNATIVES = ("two-sided", "larger", "smaller")


def check_alternative(alternative: str) -> None:
    """Raise ``ValueError`` for an alternative other than the three supported."""
    if alternative not in ALTERNATIVES:
        raise ValueError(
            f'alternative must be "two-sided", "larger" or "smaller", not {alternative!r}.'
        )


def p_from_z(z: np.ndarray | float, alternative: Alternative = "two-sided") -> np.ndarray:
    """P-value of a standard normal statistic for the given alternative."""
    z = np.asarray(z, dtype=float)
    if alternative == "larger":
        return stats.norm.sf(z)
    if alternative == "smaller":
        return stats.norm.cdf(z)
    return 2 * stats.norm.sf(np.abs(z))


def two_proportion_ztest(
    count1: np.ndarray | float,
    nobs1: np.ndarray | float,
    count2: np.ndarray | float,
    nobs2: np.ndarray | float,
    alternative: Alternative = "two-sided",
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled two-proportion z-test of :math:`p_1 - p_2`, element-wise over arrays.

    Parameters
    ----------
    count1, nobs1 : array-like
        Conversions and units of the first group (the variant).
    count2, nobs2 : array-like
        Conversions and units of the second group (the control).
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
    x1, n1, x2, n2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (count1, nobs1, count2, nobs2))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
    z = np.where((n1 > 0) & (n2 > 0) & (se > 0), z, np.nan)
    return z, p_from_z(z, alternative)


def diff_interval(
    count1: float, nobs1: float, count2: float, nobs2: float, alpha: float = 0.05
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of :math:`p_1 - p_2` (statsmodels ``"newcomb"``).

    Notes
    -----
    With Wilson intervals :math:`(l_i, u_i)` of each rate,

    .. math:: \\hat d - \\sqrt{(\\hat p_1 - l_1)^2 + (u_2 - \\hat p_2)^2},\\;
              \\hat d + \\sqrt{(u_1 - \\hat p_1)^2 + (\\hat p_2 - l_2)^2}.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between
    independent proportions: comparison of eleven methods. Statistics in
    Medicine 17, 873-890 (method 10).
    """
    if nobs1 <= 0 or nobs2 <= 0:
        return np.nan, np.nan
    low, high = confint_proportions_2indep(
        count1, nobs1, count2, nobs2, method="newcomb", compare="diff", alpha=alpha
    )
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
