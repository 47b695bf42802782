"""Multiple-testing adjustment of p-values: Holm, Benjamini–Hochberg, Bonferroni.

Every table of the workbench that runs one test per row (stage, rep, segment,
competitor, variant, driver term) adjusts its p-values here. The adjustments
are computed directly with numpy: ``statsmodels.stats.multitest.multipletests``
gives the same numbers but runs ``gc.collect()`` on every call (about 0.4 s
in this project), which dominates reports and simulations that adjust many
small families.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.core.types import Correction, check_correction

__all__ = ["adjust_pvalues", "adjusted_levels"]


def adjust_pvalues(
    p_values: Sequence[float] | np.ndarray, method: Correction = "holm"
) -> np.ndarray:
    """Adjusted p-values of one family of tests, in input order; NaN stays NaN.

    Parameters
    ----------
    p_values : array-like of float
        Raw p-values. Non-finite entries (untested rows) are left out of the
        family and come back as NaN.
    method : {"holm", "fdr_bh", "bonferroni", "none"}
        ``holm`` and ``bonferroni`` control the family-wise error rate,
        ``fdr_bh`` the false discovery rate; ``none`` returns the p-values.

    Returns
    -------
    numpy.ndarray of float
        Same shape as ``p_values``; reject where the adjusted value is at
        most ``alpha``.

    Notes
    -----
    With the :math:`m` finite p-values sorted, :math:`p_{(1)} \\le \\dots \\le
    p_{(m)}`:

    - Bonferroni: :math:`\\tilde p_i = \\min(1, m p_i)`.
    - Holm (step-down): :math:`\\tilde p_{(i)} = \\min\\left(1, \\max_{j \\le i}
      (m - j + 1)\\, p_{(j)}\\right)`.
    - Benjamini–Hochberg (step-up): :math:`\\tilde p_{(i)} = \\min\\left(1,
      \\min_{j \\ge i} p_{(j)} / (j / m)\\right)`.

    These are the values of ``statsmodels.stats.multitest.multipletests(p,
    method=...)[1]`` (``"holm"``, ``"fdr_bh"``, ``"bonferroni"``), computed
    with the same floating-point operations.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery
    rate: a practical and powerful approach to multiple testing. JRSS B
    57(1), 289-300.
    """
    check_correction(method)
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    finite = p[ok]
    if method == "none":
        out[ok] = finite
        return out
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, finite * float(m))
        return out
    order = np.argsort(finite, kind="stable")
    ranked = finite[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:  # fdr_bh
        adjusted = np.minimum.accumulate((ranked / (np.arange(1, m + 1) / m))[::-1])[::-1]
    back = np.empty(m)
    back[order] = np.minimum(1.0, adjusted)
    out[ok] = back
    return out


def adjusted_levels(
    p_values: Sequence[float] | np.ndarray,
    p_adjusted: Sequence[float] | np.ndarray,
    alpha: float,
) -> np.ndarray:
    """Per-row 1 - confidence level of intervals that agree with the adjusted p-values.

    Parameters
    ----------
    p_values, p_adjusted : array-like of float
        Raw and adjusted p-values of one family (:func:`adjust_pvalues`).
    alpha : float
        The family's significance level.

    Returns
    -------
    numpy.ndarray of float
        :math:`\\alpha_i = \\alpha\\, p_i / \\tilde p_i`; ``alpha`` where a row
        was not tested, and :math:`\\alpha / m` where both p-values are 0.

    Notes
    -----
    An interval that inverts a row's test excludes the null value exactly when
    :math:`p_i < \\alpha_i`, i.e. when :math:`\\tilde p_i < \\alpha`: the
    interval and the adjusted p-value beside it never disagree. For
    Bonferroni :math:`\\alpha_i = \\alpha/m` (the usual simultaneous
    intervals); for Holm and Benjamini–Hochberg it is the level each step of
    the procedure tests at (for BH, the false-coverage-rate intervals of
    Benjamini & Yekutieli 2005 at the rows it selects).

    References
    ----------
    Benjamini, Y. and Yekutieli, D. (2005). False discovery rate-adjusted
    multiple confidence intervals for selected parameters. JASA 100, 71-81.
    """
    p = np.asarray(p_values, dtype=float)
    adj = np.asarray(p_adjusted, dtype=float)
    m = max(int(np.isfinite(p).sum()), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = alpha * p / adj
    level = np.where(adj > 0, level, alpha / m)
    return np.where(np.isfinite(p) & np.isfinite(adj), np.minimum(level, alpha), alpha)
