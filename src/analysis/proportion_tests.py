"""Differences of two proportions and multiple-testing adjustment for the win/loss tables.

Head-to-head win rates (:mod:`analysis.winloss`), period comparisons
(:mod:`analysis.winloss_compare`) and driver terms (:mod:`analysis.drivers`)
share these: a Newcombe interval and a score test per row, and p-values
adjusted across rows by ``statsmodels.stats.multitest.multipletests``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

__all__ = ["CORRECTIONS", "adjust_p", "check_correction", "two_proportions"]

CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")


def check_correction(correction: str) -> None:
    """Raise ``ValueError`` for a multiple-testing method this package does not offer."""
    if correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}, not {correction!r}.")


def adjust_p(p_values: Sequence[float], correction: str, alpha: float = 0.05) -> np.ndarray:
    """P-values adjusted by ``statsmodels.stats.multitest.multipletests``; NaN stays NaN."""
    check_correction(correction)
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = p[ok] if correction == "none" else multipletests(p[ok], alpha, correction)[1]
    return out


def two_proportions(
    x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Difference ``x1/n1 - x0/n0`` with Newcombe interval and score-test p-value, rowwise."""
    k = len(x1)
    diff, low, high, p = (np.full(k, np.nan) for _ in range(4))
    for i in range(k):
        if n1[i] > 0 and n0[i] > 0:
            diff[i] = x1[i] / n1[i] - x0[i] / n0[i]
            low[i], high[i] = confint_proportions_2indep(
                x1[i], n1[i], x0[i], n0[i], method="newcomb", compare="diff", alpha=alpha
            )
            if 0 < x1[i] + x0[i] < n1[i] + n0[i]:
                p[i] = test_proportions_2indep(
                    x1[i], n1[i], x0[i], n0[i], method="score", compare="diff"
                ).pvalue
            else:
                p[i] = 1.0
    return diff, low, high, p
