"""Comparing a stage transition between two windows: difference, interval, test, adjustment.

Works on the small per-(groups, stage) table of counts with one column per
window (suffixes ``_current`` and ``_baseline``): statsmodels computes the
Newcombe interval of the difference, the pooled two-proportion z-test and the
multiple-testing adjustment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from analysis import columns as c

CURRENT, BASELINE = "current", "baseline"
DECIDED = "decided"
DIFFERENCE = "difference"
DIFF_CI_LOW, DIFF_CI_HIGH = "diff_ci_low", "diff_ci_high"
P_VALUE, P_ADJUSTED = "p_value", "p_adjusted"
CORRECTIONS = ("holm", "fdr_bh")


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
    ``confint_proportions_2indep(method="newcomb", compare="diff")`` and
    ``proportions_ztest(alternative="two-sided")`` (pooled variance).
    """
    a1, n1 = table[windowed(c.N_ADVANCED, CURRENT)], table[windowed(DECIDED, CURRENT)]
    a0, n0 = table[windowed(c.N_ADVANCED, BASELINE)], table[windowed(DECIDED, BASELINE)]
    out = pd.DataFrame(index=table.index, columns=[DIFFERENCE, DIFF_CI_LOW, DIFF_CI_HIGH, P_VALUE])
    out = out.astype(float)
    ok = (n1 > 0) & (n0 > 0)
    if ok.any():
        low, high = confint_proportions_2indep(
            a1[ok].to_numpy(float), n1[ok].to_numpy(float),
            a0[ok].to_numpy(float), n0[ok].to_numpy(float),
            method="newcomb", compare="diff", alpha=alpha,
        )  # fmt: skip
        out.loc[ok, DIFFERENCE] = (a1[ok] / n1[ok] - a0[ok] / n0[ok]).to_numpy()
        out.loc[ok, DIFF_CI_LOW], out.loc[ok, DIFF_CI_HIGH] = low, high
    pooled = (a1 + a0) / (n1 + n0).where(ok)
    testable = ok & (pooled > 0) & (pooled < 1)
    for i in out.index[testable]:
        _, p = proportions_ztest([a1[i], a0[i]], [n1[i], n0[i]], alternative="two-sided")
        out.loc[i, P_VALUE] = p
    return out


def adjust_p_values(p: pd.Series, correction: str) -> pd.Series:
    """p-values adjusted across every testable row (NaN rows are left out).

    ``correction`` is a ``statsmodels.stats.multitest.multipletests`` method
    (``"holm"`` or ``"fdr_bh"``).
    """
    adjusted = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if ok.any():
        adjusted[ok] = multipletests(p[ok].to_numpy(), method=correction)[1]
    return adjusted
