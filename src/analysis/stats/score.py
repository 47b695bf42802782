"""The score statistic of a difference of two proportions: one test, and the interval that inverts it.

A test and an interval computed by different methods can disagree: Newcombe's
interval [-0.156, +0.00003] beside a score-test p of 0.0498 for 38/175 against
100/335. Here the interval is the set of differences the same score test does
not reject, so "the interval excludes 0" and "p < alpha" are one statement.
Everything works element-wise on arrays (a bisection per row, vectorised), so a
table of comparisons costs one pass.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

_BISECTION_STEPS = 60  # halves [-1, 1] to below 1e-17: exact to float precision


def _as_arrays(*values) -> list[np.ndarray]:
    return np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values))


def restricted_rates(
    p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood rates of the two groups under :math:`p_1 - p_2 = \\delta`.

    Notes
    -----
    The closed-form root of the likelihood's cubic (Miettinen & Nurminen 1985,
    appendix; Farrington & Manning 1990, eq. 6). With :math:`\\theta = n_2/n_1`:

    .. math:: a = 1 + \\theta,\\quad
              b = -(1 + \\theta + \\hat p_1 + \\theta \\hat p_2 + \\delta(\\theta + 2)),

    .. math:: c = \\delta^2 + \\delta(2\\hat p_1 + \\theta + 1) + \\hat p_1 + \\theta \\hat p_2,
              \\quad d = -\\hat p_1 \\delta (1 + \\delta),

    .. math:: v = \\frac{b^3}{27a^3} - \\frac{bc}{6a^2} + \\frac{d}{2a},\\quad
              u = \\operatorname{sign}(v)\\sqrt{\\frac{b^2}{9a^2} - \\frac{c}{3a}},\\quad
              w = \\frac{\\pi + \\arccos(v/u^3)}{3},

    .. math:: \\tilde p_1 = 2u\\cos w - \\frac{b}{3a},\\qquad \\tilde p_2 = \\tilde p_1 - \\delta.
    """
    theta = n2 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p2 + delta * (theta + 2))
    c = delta**2 + delta * (2 * p1 + theta + 1) + p1 + theta * p2
    d = -p1 * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a**2) + d / (2 * a)
    u = np.sign(v) * np.sqrt(np.maximum(b**2 / (9 * a**2) - c / (3 * a), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(u == 0, 0.0, v / u**3)
    w = (np.pi + np.arccos(np.clip(ratio, -1.0, 1.0))) / 3
    q1 = np.clip(2 * u * np.cos(w) - b / (3 * a), 0.0, 1.0)
    q2 = np.clip(q1 - delta, 0.0, 1.0)
    return q1, q2


def score_statistic(
    x1: np.ndarray,
    n1: np.ndarray,
    x2: np.ndarray,
    n2: np.ndarray,
    delta: np.ndarray | float = 0.0,
    *,
    correction: bool = True,
) -> np.ndarray:
    """Score statistic of :math:`H_0: p_1 - p_2 = \\delta`, element-wise.

    Parameters
    ----------
    x1, n1, x2, n2 : array-like
        Successes and trials of the two groups (each group nonempty).
    delta : array-like
        The difference under the null.
    correction : bool
        Miettinen–Nurminen's variance factor :math:`N/(N-1)` (True), or
        Mee's statistic without it (False), which at :math:`\\delta = 0` is
        the pooled two-proportion z statistic.

    Returns
    -------
    numpy.ndarray
        :math:`z(\\delta)`, decreasing in :math:`\\delta`; 0 where the variance
        is 0 at the observed difference.

    Notes
    -----
    .. math:: z(\\delta) = \\frac{\\hat p_1 - \\hat p_2 - \\delta}
              {\\sqrt{\\big(\\tilde p_1(1-\\tilde p_1)/n_1 + \\tilde p_2(1-\\tilde p_2)/n_2\\big)
              \\, \\kappa}},\\qquad \\kappa = \\frac{n_1 + n_2}{n_1 + n_2 - 1}
              \\text{ (or 1)},

    with :math:`\\tilde p` from :func:`restricted_rates`.

    References
    ----------
    Miettinen, O. & Nurminen, M. (1985). Comparative analysis of two rates.
    Statistics in Medicine 4(2), 213-226. Mee, R. W. (1984). Confidence
    bounds for the difference between two probabilities. Biometrics 40, 1175-1176.
    """
    x1, n1, x2, n2, delta = _as_arrays(x1, n1, x2, n2, delta)
    p1, p2 = x1 / n1, x2 / n2
    q1, q2 = restricted_rates(p1, n1, p2, n2, delta)
    factor = (n1 + n2) / (n1 + n2 - 1) if correction else 1.0
    var = (q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2) * factor
    gap = p1 - p2 - delta
    with np.errstate(divide="ignore", invalid="ignore"):
        z = gap / np.sqrt(var)
    # No variance under the null (delta at -1 or 1): the data are infinitely far unless equal.
    return np.where(var > 0, z, np.where(gap == 0, 0.0, np.copysign(np.inf, gap)))


def score_interval(
    x1, n1, x2, n2, alpha: np.ndarray | float = 0.05, *, correction: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of :math:`p_1 - p_2` that inverts the score test, element-wise.

    Parameters
    ----------
    x1, n1, x2, n2 : array-like
        Successes and trials of the two groups.
    alpha : float or array-like
        1 - confidence level, per row if an array (an interval at the level an
        adjusted p-value implies: see
        :func:`analysis.stats.multitest.adjusted_levels`).
    correction : bool
        As in :func:`score_statistic`: Miettinen–Nurminen (True) or Mee (False).

    Returns
    -------
    ci_low, ci_high : numpy.ndarray
        NaN where a group is empty.

    Notes
    -----
    The interval is :math:`\\{\\delta : |z(\\delta)| < z_{1-\\alpha/2}\\}`; since
    :math:`z(\\delta)` decreases in :math:`\\delta`, each end is found by
    bisection on :math:`[-1, \\hat d]` and :math:`[\\hat d, 1]`. It excludes 0
    exactly when the two-sided score test of :math:`\\delta = 0`
    (:func:`score_test_p`) gives :math:`p < \\alpha`.
    """
    x1, n1, x2, n2, alpha = _as_arrays(x1, n1, x2, n2, alpha)
    ok = (n1 > 0) & (n2 > 0)
    low, high = np.full(x1.shape, np.nan), np.full(x1.shape, np.nan)
    if not ok.any():
        return low, high
    a1, m1, a2, m2 = x1[ok], n1[ok], x2[ok], n2[ok]
    q = stats.norm.isf(alpha[ok] / 2)
    d = a1 / m1 - a2 / m2
    low[ok] = _solve(a1, m1, a2, m2, q, -np.ones_like(d), d, correction)
    high[ok] = _solve(a1, m1, a2, m2, -q, d, np.ones_like(d), correction)
    return low, high


def _solve(x1, n1, x2, n2, target, lo, hi, correction) -> np.ndarray:
    """The delta in [lo, hi] where z(delta) = target (z decreasing); an end where none."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        above = score_statistic(x1, n1, x2, n2, mid, correction=correction) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return (lo + hi) / 2


def score_test_p(x1, n1, x2, n2, *, correction: bool = True) -> np.ndarray:
    """Two-sided p-value of the score test of :math:`p_1 = p_2`, element-wise.

    NaN where a group is empty or the pooled rate is 0 or 1 (no variation).
    """
    x1, n1, x2, n2 = _as_arrays(x1, n1, x2, n2)
    varies = (n1 > 0) & (n2 > 0) & (x1 + x2 > 0) & (x1 + x2 < n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = score_statistic(x1, n1, x2, n2, 0.0, correction=correction)
    return np.where(varies, 2 * stats.norm.sf(np.abs(z)), np.nan)


def _restricted_ratio(x1, n1, x2, n2, ratio) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood rates under :math:`p_1 = R\\,p_2` (Miettinen & Nurminen 1985).

    :math:`\\tilde p_2` is the root in [0, 1] of
    :math:`N R\\,p^2 - (n_1 R + x_1 + n_2 + x_2 R)\\,p + (x_1 + x_2) = 0`, and
    :math:`\\tilde p_1 = R\\,\\tilde p_2`.
    """
    a = (n1 + n2) * ratio
    b = -(n1 * ratio + x1 + n2 + x2 * ratio)
    c = x1 + x2
    disc = np.sqrt(np.maximum(b * b - 4 * a * c, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        q2 = np.where(a > 0, (-b - disc) / (2 * a), c / -b)
    q2 = np.clip(q2, 0.0, 1.0)
    return np.clip(ratio * q2, 0.0, 1.0), q2


def ratio_statistic(x1, n1, x2, n2, ratio, *, correction: bool = True) -> np.ndarray:
    """Miettinen–Nurminen score statistic of :math:`H_0: p_1 / p_2 = R`, element-wise.

    Notes
    -----
    .. math:: z(R) = \\frac{\\hat p_1 - R\\,\\hat p_2}
              {\\sqrt{\\big(\\tilde p_1(1-\\tilde p_1)/n_1
              + R^2\\,\\tilde p_2(1-\\tilde p_2)/n_2\\big)\\,N/(N-1)}},

    decreasing in :math:`R`. At :math:`R = 1` the restricted rates are the
    pooled rate and :math:`z(1)` is :func:`score_statistic` at 0: the ratio
    interval excludes 1 exactly when the difference interval excludes 0.
    ``correction=False`` drops the :math:`N/(N-1)` factor, as in Mee's statistic.
    """
    x1, n1, x2, n2, ratio = _as_arrays(x1, n1, x2, n2, ratio)
    q1, q2 = _restricted_ratio(x1, n1, x2, n2, ratio)
    factor = (n1 + n2) / (n1 + n2 - 1) if correction else 1.0
    var = (q1 * (1 - q1) / n1 + ratio**2 * q2 * (1 - q2) / n2) * factor
    gap = x1 / n1 - ratio * x2 / n2
    with np.errstate(divide="ignore", invalid="ignore"):
        z = gap / np.sqrt(var)
    return np.where(var > 0, z, np.where(gap == 0, 0.0, np.copysign(np.inf, gap)))


_LOG_RATIO_SPAN = 30.0  # ratios from e^-30 to e^30: any pair of rates a CRM can show


def ratio_interval(
    x1, n1, x2, n2, alpha: np.ndarray | float = 0.05, *, correction: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of :math:`p_1 / p_2` that inverts the score test of the ratio, element-wise.

    Returns
    -------
    ci_low, ci_high : numpy.ndarray
        NaN where a group is empty or the second group has no success (the
        ratio is undefined); the lower end is 0 when the first has none.

    Notes
    -----
    :math:`\\{R : |z(R)| < z_{1-\\alpha/2}\\}` with :func:`ratio_statistic`,
    found by bisection on :math:`\\log R`.

    References
    ----------
    Miettinen, O. & Nurminen, M. (1985). Comparative analysis of two rates.
    Statistics in Medicine 4(2), 213-226.
    """
    x1, n1, x2, n2, alpha = _as_arrays(x1, n1, x2, n2, alpha)
    ok = (n1 > 0) & (n2 > 0) & (x2 > 0)
    low, high = np.full(x1.shape, np.nan), np.full(x1.shape, np.nan)
    if not ok.any():
        return low, high
    a1, m1, a2, m2 = x1[ok], n1[ok], x2[ok], n2[ok]
    q = stats.norm.isf(alpha[ok] / 2)
    span = np.full(a1.shape, _LOG_RATIO_SPAN)
    with np.errstate(divide="ignore"):
        centre = np.clip(np.log(a1 / m1) - np.log(a2 / m2), -span, span)  # -span when x1 = 0
    lo = _solve_log(a1, m1, a2, m2, q, -span, centre, correction)
    hi = _solve_log(a1, m1, a2, m2, -q, centre, span, correction)
    low[ok] = np.where(a1 == 0, 0.0, np.exp(lo))
    high[ok] = np.exp(hi)
    return low, high


def _solve_log(x1, n1, x2, n2, target, lo, hi, correction) -> np.ndarray:
    """log R in [lo, hi] where z(R) = target (z decreasing in R)."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        z = ratio_statistic(x1, n1, x2, n2, np.exp(mid), correction=correction)
        above = z > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return (lo + hi) / 2
