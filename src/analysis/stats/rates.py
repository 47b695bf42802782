"""Confidence intervals for rates computed from counts.

A thin, vectorised wrapper over statsmodels so every module reports rates the
same way and a zero denominator gives NaN instead of an exception.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

IntervalMethod = Literal["wilson", "beta", "agresti_coull", "jeffreys"]


def rate_with_interval(
    count: pd.Series | np.ndarray | float,
    nobs: pd.Series | np.ndarray | float,
    *,
    alpha: float = 0.05,
    method: IntervalMethod = "wilson",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the rate ``count / nobs`` with its two-sided confidence interval.

    Parameters
    ----------
    count, nobs : array-like
        Successes and trials; ``nobs == 0`` gives NaN rate and bounds.
    alpha : float
        1 - confidence level.
    method : {"wilson", "beta", "agresti_coull", "jeffreys"}
        Interval method passed to ``statsmodels.stats.proportion.proportion_confint``.

    Returns
    -------
    rate, ci_low, ci_high : numpy.ndarray of float

    Notes
    -----
    The Wilson score interval is

    .. math:: \\frac{\\hat p + z^2/2n \\pm z\\sqrt{\\hat p(1-\\hat p)/n + z^2/4n^2}}{1 + z^2/n}

    with :math:`z = \\Phi^{-1}(1-\\alpha/2)`; it keeps good coverage for small
    ``n`` and rates near 0 or 1, where the Wald interval fails.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. JASA 22(158), 209-212.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    count_arr = np.atleast_1d(np.asarray(count, dtype=float))
    nobs_arr = np.atleast_1d(np.asarray(nobs, dtype=float))
    count_arr, nobs_arr = np.broadcast_arrays(count_arr, nobs_arr)
    rate = np.full(count_arr.shape, np.nan)
    low = np.full(count_arr.shape, np.nan)
    high = np.full(count_arr.shape, np.nan)
    ok = nobs_arr > 0
    if ok.any():
        rate[ok] = count_arr[ok] / nobs_arr[ok]
        lo, hi = proportion_confint(count_arr[ok], nobs_arr[ok], alpha=alpha, method=method)
        low[ok], high[ok] = lo, hi
    return rate, low, high
