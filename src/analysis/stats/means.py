"""Intervals for positive means (money, days) that stay positive.

A t interval ``mean ± t·se`` on skewed amounts from a few deals can start
below zero ("a mean won amount of $12k [−44.7k–68.7k]"), which no amount can
be. The interval here is built for ``log(mean)`` and mapped back, so it is
asymmetric and never leaves the positive half-line; for many deals it agrees
with the t interval.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def positive_mean_interval(
    mean: ArrayLike, se: ArrayLike, quantile: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of a positive mean on the log scale (delta method).

    Parameters
    ----------
    mean : array_like
        Estimated means (positive; others get NaN bounds).
    se : array_like
        Their standard errors.
    quantile : array_like
        The normal or t quantile of the wanted level (1.96 for 95%).

    Returns
    -------
    (low, high) : numpy.ndarray

    Notes
    -----
    With :math:`\\operatorname{se}(\\log \\bar x) \\approx \\operatorname{se}(\\bar x)/\\bar x`,

    .. math:: [\\bar x\\, e^{-q\\,\\mathrm{se}/\\bar x},\\; \\bar x\\, e^{q\\,\\mathrm{se}/\\bar x}].

    References
    ----------
    Casella, G. and Berger, R. L. (2002). Statistical Inference, 2nd ed.,
    section 5.5.4 (the delta method).
    """
    m = np.asarray(mean, dtype=float)
    s = np.asarray(se, dtype=float)
    q = np.asarray(quantile, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        spread = np.exp(q * s / m)
        ok = (m > 0) & np.isfinite(spread)
        return np.where(ok, m / spread, np.nan), np.where(ok, m * spread, np.nan)
