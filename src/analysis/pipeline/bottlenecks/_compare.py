"""Comparing a stage transition between two windows: difference, interval, test, adjustment.

Works on the small per-(groups, stage) table of counts with one column per
window (suffixes ``_current`` and ``_baseline``): the Newcombe interval of the
difference and the pooled two-proportion z-test come from
:mod:`analysis.stats.proportions`, the multiple-testing adjustment from
:mod:`analysis.stats.multitest`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import (
    BASELINE,
    CURRENT,
    DECIDED,
    DIFF_CI_HIGH,
    DIFF_CI_LOW,
    DIFFERENCE,
    P_VALUE,
)
from analysis.stats.proportions import newcombe_interval, two_proportion_ztest


def windowed(name: str, window: str) -> str:
    """Column ``name`` of one window: ``windowed("conversion", "current") == "conversion_current"``."""
    return f"{name}_{window}"


def compare_windows(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Difference current - baseline, its Newcombe interval and the pooled z-test p-value.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``advanced_<window>`` and ``decided_<window>`` for both windows.
    alpha : float
        1 - confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        ``difference, diff_ci_low, diff_ci_high, p_value`` on ``table``'s index;
        NaN where a window has no decided deals, and a NaN p-value where the
        pooled rate is 0 or 1 (the z-test is undefined).

    Notes
    -----
    :func:`analysis.stats.proportions.newcombe_interval` and the two-sided
    :func:`analysis.stats.proportions.two_proportion_ztest` (pooled variance).
    """
    a1, n1 = table[windowed(c.N_ADVANCED, CURRENT)], table[windowed(DECIDED, CURRENT)]
    a0, n0 = table[windowed(c.N_ADVANCED, BASELINE)], table[windowed(DECIDED, BASELINE)]
    out = pd.DataFrame(index=table.index, columns=[DIFFERENCE, DIFF_CI_LOW, DIFF_CI_HIGH, P_VALUE])
    out = out.astype(float)
    ok = (n1 > 0) & (n0 > 0)
    if ok.any():
        out.loc[ok, DIFFERENCE] = (a1[ok] / n1[ok] - a0[ok] / n0[ok]).to_numpy()
    counts = [s.to_numpy(float, na_value=np.nan) for s in (a1, n1, a0, n0)]
    out[DIFF_CI_LOW], out[DIFF_CI_HIGH] = newcombe_interval(*counts, alpha=alpha)
    out[P_VALUE] = two_proportion_ztest(*counts, alternative="two-sided")[1]
    return out
