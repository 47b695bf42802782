"""Loss reasons and head-to-head win rates compared between two windows of close dates.

:func:`compare_loss_reasons` tests whether the mix of loss reasons moved
(per reason and as a whole); :func:`compare_head_to_head` whether the win rate
against each competitor did. Counts per category come from the engine; the
tests (:mod:`analysis.stats.proportions`, ``scipy.stats.chi2_contingency``)
run on the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from analysis.core.types import WindowLike, as_window, check_correction
from analysis.engine.needs import CLOSE_DATES, COMPETITORS, LOSS_REASONS
from analysis.engine.workspace import Workspace
from analysis.stats.proportions import two_proportions
from analysis.winloss import columns as c

__all__ = ["ShareChange", "compare_head_to_head", "compare_loss_reasons"]


@dataclass(frozen=True)
class ShareChange:
    """Loss-reason shares or head-to-head win rates in two windows, compared.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per category (reason or competitor): ``n_baseline,
        share_baseline, n_current, share_current, difference, diff_ci_low,
        diff_ci_high, p_value, p_adjusted, note``.
    category : str
        ``loss_reason`` or ``competitor``.
    chi2_p_value : float
        Chi-square test that the whole distribution is the same in both
        windows (loss reasons only; NaN otherwise).
    warnings : tuple of str
    """

    table: pd.DataFrame
    category: str
    chi2_p_value: float
    alpha: float
    correction: str
    warnings: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The comparison table as a DataFrame (a copy)."""
        return self.table.copy()


# Columns of a ShareChange table shown as percentages.
CHANGE_PERCENT = (c.SHARE_BASELINE, c.SHARE_CURRENT, c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH)


def _closed_in(ws: Workspace, window: WindowLike | None) -> ibis.Table:
    """Deals closed in ``[start, end)`` of the window (all deals for None)."""
    deals = ws.deals
    if window is None:
        return deals
    start, end = as_window(window, bounded=True).as_tuple()
    closed = deals[c.CLOSED_AT]
    return deals.filter((closed >= start) & (closed < end))


def _category_counts(ws: Workspace, window: WindowLike, category: str) -> pd.DataFrame:
    deals = _closed_in(ws, window)
    if category == c.LOSS_REASON:
        rows = deals.filter((deals[c.OUTCOME] == c.LOST) & deals[c.LOSS_REASON].notnull())
        success = (rows[c.OUTCOME] == c.LOST).cast("int64")
    else:
        rows = deals.filter(deals[c.OUTCOME].isin([c.WON, c.LOST]) & deals[c.COMPETITOR].notnull())
        success = (rows[c.OUTCOME] == c.WON).cast("int64")
    expr = rows.group_by(category).aggregate(_n=lambda t: t.count(), _x=success.sum())
    return ws.execute(expr).set_index(category)


def _compare(
    ws: Workspace,
    current: WindowLike,
    baseline: WindowLike,
    category: str,
    alpha: float,
    correction: str,
) -> ShareChange:
    check_correction(correction)
    (LOSS_REASONS if category == c.LOSS_REASON else COMPETITORS).check(ws)
    CLOSE_DATES.check(ws)
    now = _category_counts(ws, current, category)
    base = _category_counts(ws, baseline, category)
    cats = sorted(set(now.index) | set(base.index))
    now, base = now.reindex(cats, fill_value=0), base.reindex(cats, fill_value=0)
    if category == c.LOSS_REASON:  # share of lost deals (with a reason) giving this reason
        x1, n1 = now["_n"].to_numpy(float), np.full(len(cats), float(now["_n"].sum()))
        x0, n0 = base["_n"].to_numpy(float), np.full(len(cats), float(base["_n"].sum()))
    else:  # win rate against this competitor
        x1, n1 = now["_x"].to_numpy(float), now["_n"].to_numpy(float)
        x0, n0 = base["_x"].to_numpy(float), base["_n"].to_numpy(float)
    warnings = []
    chi2_p = np.nan
    if category == c.LOSS_REASON and len(cats) >= 2 and x1.sum() > 0 and x0.sum() > 0:
        observed = np.vstack([x0, x1])
        observed = observed[:, observed.sum(axis=0) > 0]
        if observed.shape[1] >= 2:
            chi2_p = float(chi2_contingency(observed, correction=False).pvalue)
    if not len(cats) or n1.sum() == 0 or n0.sum() == 0:
        warnings.append("One of the windows has no deals to compare; nothing was tested.")
    with np.errstate(divide="ignore", invalid="ignore"):
        share0, share1 = np.where(n0 > 0, x0 / n0, np.nan), np.where(n1 > 0, x1 / n1, np.nan)
    diff, low, high, p, p_adj = two_proportions(x1, n1, x0, n0, alpha, correction=correction)
    table = pd.DataFrame(
        {
            category: cats,
            c.N_BASELINE: (n0 if category != c.LOSS_REASON else x0).astype("int64"),
            c.SHARE_BASELINE: share0,
            c.N_CURRENT: (n1 if category != c.LOSS_REASON else x1).astype("int64"),
            c.SHARE_CURRENT: share1,
            c.DIFFERENCE: diff,
            c.DIFF_CI_LOW: low,
            c.DIFF_CI_HIGH: high,
            c.P_VALUE: p,
            c.P_ADJUSTED: p_adj,
            c.NOTE: np.where((n0 == 0) | (n1 == 0), c.NOTE_NO_CLOSED_DEALS, ""),
        }
    )
    return ShareChange(table, category, chi2_p, alpha, correction, tuple(warnings))


def compare_loss_reasons(
    ws: Workspace,
    current: WindowLike,
    baseline: WindowLike,
    *,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> ShareChange:
    """Loss-reason shares of deals lost in ``current`` vs ``baseline`` (by ``closed_at``).

    Notes
    -----
    Per reason, ``share = n_reason / lost_with_reason`` in each window; the
    difference carries Newcombe's interval and a score test, p-values are
    adjusted across reasons (``correction``), and a Pearson chi-square test of
    the 2 x k table says whether the mix as a whole moved
    (``scipy.stats.chi2_contingency``). The shares of one window are not
    independent of each other, so read the per-reason tests as a guide to where
    the change is, and the chi-square as whether there is one.
    """
    return _compare(ws, current, baseline, c.LOSS_REASON, alpha, correction)


def compare_head_to_head(
    ws: Workspace,
    current: WindowLike,
    baseline: WindowLike,
    *,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> ShareChange:
    """Win rate against each competitor for deals closed in ``current`` vs ``baseline``.

    Notes
    -----
    ``share`` columns hold the win rate won / closed against the competitor in
    each window; the difference has Newcombe's interval and a score test, with
    p-values adjusted across competitors.
    """
    return _compare(ws, current, baseline, c.COMPETITOR, alpha, correction)
