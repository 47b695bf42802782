"""Comparing a stage transition between two windows: difference, interval, test, adjustment.

Works on the small per-(groups, stage) table of counts with one column per
window (suffixes ``_current`` and ``_baseline``): the score test of the
difference, adjusted across the rows, and the interval that agrees with it
come from :func:`analysis.stats.proportions.two_proportions`.
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
    P_ADJUSTED,
    P_VALUE,
)
from analysis.core.types import Correction
from analysis.stats.proportions import two_proportions


def windowed(name: str, window: str) -> str:
    """Column ``name`` of one window: ``windowed("conversion", "current") == "conversion_current"``."""
    return f"{name}_{window}"


def compare_windows(table: pd.DataFrame, alpha: float, correction: Correction) -> pd.DataFrame:
    """Difference current - baseline, its score test adjusted over the rows, and its interval.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``advanced_<window>`` and ``decided_<window>`` for both windows.
    alpha : float
        Significance level of the family of rows.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the p-values across the rows.

    Returns
    -------
    pandas.DataFrame
        ``difference, diff_ci_low, diff_ci_high, p_value, p_adjusted`` on
        ``table``'s index; NaN where a window has no decided deals, and NaN
        p-values where the pooled rate is 0 or 1 (no variation: nothing to test).

    Notes
    -----
    :func:`analysis.stats.proportions.two_proportions`: the Miettinen–Nurminen
    score test and the interval that inverts it at the level that agrees with
    the adjusted p-value, so an interval that excludes 0 always sits beside an
    adjusted p-value below ``alpha``, and the other way round.
    """
    a1, n1 = table[windowed(c.N_ADVANCED, CURRENT)], table[windowed(DECIDED, CURRENT)]
    a0, n0 = table[windowed(c.N_ADVANCED, BASELINE)], table[windowed(DECIDED, BASELINE)]
    counts = [s.to_numpy(float, na_value=np.nan) for s in (a1, n1, a0, n0)]
    diff, low, high, p, p_adj = two_proportions(
        *counts, alpha, correction=correction, no_variation_p=np.nan
    )
    return pd.DataFrame(
        {DIFFERENCE: diff, DIFF_CI_LOW: low, DIFF_CI_HIGH: high, P_VALUE: p, P_ADJUSTED: p_adj},
        index=table.index,
    )
