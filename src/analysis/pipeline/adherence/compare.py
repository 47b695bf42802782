"""Adherent against non-adherent deals: win rate and cycle time, raw and adjusted, on aggregates.

Input is the grouped table the engine returns (one row per comparison, group,
segment and size third: won, lost, and the count, sum and sum of squares of
log cycle days of won deals); nothing here reads a deal.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import StratifiedTable

from analysis.core import columns as c
from analysis.core.types import Correction
from analysis.stats.multitest import adjust_pvalues, adjusted_levels
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval

# --- result columns ---------------------------------------------------------------------
N_ADHERENT, N_NOT = "deals_adherent", "deals_not_adherent"
CLOSED_ADHERENT, CLOSED_NOT = "closed_adherent", "closed_not_adherent"
WON_ADHERENT, WON_NOT = "won_adherent", "won_not_adherent"
WIN_RATE_ADHERENT, WIN_RATE_NOT = "win_rate_adherent", "win_rate_not_adherent"
WR_ADH_LOW, WR_ADH_HIGH = "win_rate_adherent_ci_low", "win_rate_adherent_ci_high"
WR_NOT_LOW, WR_NOT_HIGH = "win_rate_not_adherent_ci_low", "win_rate_not_adherent_ci_high"
ODDS_RATIO_ADJUSTED = "odds_ratio_adjusted"  # Mantel–Haenszel, adherent over not
OR_CI_LOW, OR_CI_HIGH = "odds_ratio_ci_low", "odds_ratio_ci_high"
OR_P_VALUE, OR_P_ADJUSTED = "odds_ratio_p_value", "odds_ratio_p_adjusted"
N_STRATA = "strata"  # segment x size-third strata with both groups closed
CYCLE_ADHERENT, CYCLE_NOT = "cycle_days_adherent", "cycle_days_not_adherent"  # geometric means
CYCLE_RATIO = "cycle_ratio"  # adherent over not, adjusted for segment and size
CYCLE_CI_LOW, CYCLE_CI_HIGH = "cycle_ratio_ci_low", "cycle_ratio_ci_high"
CYCLE_P_VALUE, CYCLE_P_ADJUSTED = "cycle_p_value", "cycle_p_adjusted"
NOTE_NO_COMMON_STRATA = "no_common_strata"  # no stratum has closed deals in both groups
NOTE_SEPARATION = "separation"  # within strata one group only wins or only loses
NOTE_TOO_FEW_WON = "too_few_won"  # no cycle ratio: too few won deals with times in common strata

COMPARISON_COLUMNS = (
    c.N_UNITS, N_ADHERENT, N_NOT,
    CLOSED_ADHERENT, WON_ADHERENT, WIN_RATE_ADHERENT, WR_ADH_LOW, WR_ADH_HIGH,
    CLOSED_NOT, WON_NOT, WIN_RATE_NOT, WR_NOT_LOW, WR_NOT_HIGH,
    c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH, c.P_VALUE, c.P_ADJUSTED,
    ODDS_RATIO_ADJUSTED, OR_CI_LOW, OR_CI_HIGH, OR_P_VALUE, OR_P_ADJUSTED, N_STRATA,
    CYCLE_ADHERENT, CYCLE_NOT, CYCLE_RATIO, CYCLE_CI_LOW, CYCLE_CI_HIGH,
    CYCLE_P_VALUE, CYCLE_P_ADJUSTED, c.NOTE,
)  # fmt: skip
"""Columns of every comparison row, after the row's own keys."""

STRATUM = ("_segment", "_size")


def mantel_haenszel(strata: pd.DataFrame, alpha: float) -> tuple[float, float, float, float, int]:
    """Mantel–Haenszel odds ratio of winning, adherent over not, over strata.

    Parameters
    ----------
    strata : pandas.DataFrame
        One row per stratum: ``won_1, lost_1`` (adherent) and ``won_0, lost_0``.
    alpha : float
        1 - confidence level of the interval.

    Returns
    -------
    odds_ratio, ci_low, ci_high, p_value : float
        NaN when no stratum has closed deals in both groups or the pooled
        ratio is 0 or infinite.
    n_strata : int
        Strata used.

    Notes
    -----
    statsmodels ``StratifiedTable`` on the tables
    :math:`\\begin{pmatrix} a_k & b_k \\\\ c_k & d_k \\end{pmatrix}` (rows adherent
    and not, columns won and lost) of the strata where both rows have closed
    deals: ``oddsratio_pooled``, ``oddsratio_pooled_confint`` (Robins–Breslow–
    Greenland) and ``test_null_odds(correction=False)`` (Cochran–Mantel–Haenszel).
    """
    both = strata[
        (strata["won_1"] + strata["lost_1"] > 0) & (strata["won_0"] + strata["lost_0"] > 0)
    ]
    k = len(both)
    if k == 0:
        return np.nan, np.nan, np.nan, np.nan, 0
    tables = np.stack(
        [both[["won_1", "lost_1"]].to_numpy(float), both[["won_0", "lost_0"]].to_numpy(float)],
        axis=1,
    ).transpose(1, 2, 0)  # 2 x 2 x k
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        st = StratifiedTable(tables)
        ratio = float(st.oddsratio_pooled)
        if not np.isfinite(ratio) or ratio <= 0:
            return np.nan, np.nan, np.nan, np.nan, k
        low, high = st.oddsratio_pooled_confint(alpha=alpha)
        p = float(st.test_null_odds(correction=False).pvalue)
    return ratio, float(low), float(high), p, k


def cycle_ratio(
    strata: pd.DataFrame, alpha: float
) -> tuple[float, float, float, float, float, float]:
    """Cycle time of won deals, adherent over not, adjusted for the strata.

    Parameters
    ----------
    strata : pandas.DataFrame
        One row per stratum: ``t_n, t_sum, t_sumsq`` of log cycle days of won
        deals, suffixed ``_1`` (adherent) and ``_0``.
    alpha : float
        1 - confidence level of the interval.

    Returns
    -------
    geo_mean_1, geo_mean_0, ratio, ci_low, ci_high, p_value : float
        Unadjusted geometric means of each group, and the adjusted ratio with
        its t interval and test; NaN without two strata-matched won deals
        per group or without residual degrees of freedom.

    Notes
    -----
    With :math:`y = \\log` days and, in stratum :math:`k` where both groups
    have won deals, means :math:`\\bar y_{1k}, \\bar y_{0k}` of
    :math:`n_{1k}, n_{0k}` deals, the estimate is the weighted mean difference

    .. math:: \\hat\\delta = \\frac{\\sum_k w_k (\\bar y_{1k} - \\bar y_{0k})}{\\sum_k w_k},
              \\qquad w_k = \\frac{n_{1k} n_{0k}}{n_{1k} + n_{0k}},

    which is the group coefficient of the least-squares fit
    ``y ~ C(stratum) + group`` on those strata; its standard error is
    :math:`\\sqrt{\\hat\\sigma^2 / \\sum_k w_k}` with :math:`\\hat\\sigma^2`
    that fit's residual variance (:math:`N - K - 1` degrees of freedom). The
    ratio of geometric means is :math:`e^{\\hat\\delta}`.
    """
    n1, n0 = strata["t_n_1"].to_numpy(float), strata["t_n_0"].to_numpy(float)
    s1, s0 = strata["t_sum_1"].to_numpy(float), strata["t_sum_0"].to_numpy(float)
    g1 = float(np.exp(s1.sum() / n1.sum())) if n1.sum() > 0 else np.nan
    g0 = float(np.exp(s0.sum() / n0.sum())) if n0.sum() > 0 else np.nan
    both = (n1 > 0) & (n0 > 0)
    if not both.any():
        return g1, g0, np.nan, np.nan, np.nan, np.nan
    n1, n0, s1, s0 = n1[both], n0[both], s1[both], s0[both]
    ss1, ss0 = (strata[col].to_numpy(float)[both] for col in ("t_sumsq_1", "t_sumsq_0"))
    m1, m0 = s1 / n1, s0 / n0
    w = n1 * n0 / (n1 + n0)
    delta = float(np.sum(w * (m1 - m0)) / w.sum())
    within = np.sum(ss1 - n1 * m1**2) + np.sum(ss0 - n0 * m0**2)
    rss = max(float(within + np.sum(w * (m1 - m0 - delta) ** 2)), 0.0)
    df = float(n1.sum() + n0.sum() - both.sum() - 1)
    if df < 1 or rss <= 0:
        return g1, g0, float(np.exp(delta)), np.nan, np.nan, np.nan
    se = np.sqrt(rss / df / w.sum())
    q = stats.t.ppf(1 - alpha / 2, df)
    p = float(2 * stats.t.sf(abs(delta) / se, df))
    return (
        g1,
        g0,
        float(np.exp(delta)),
        float(np.exp(delta - q * se)),
        float(np.exp(delta + q * se)),
        p,
    )


def _sides(counts: pd.DataFrame) -> pd.DataFrame:
    """Per stratum: the adherent (``_1``) and non-adherent (``_0``) sums side by side."""
    value_cols = [col for col in counts.columns if col not in (*STRATUM, "_group")]
    wide = counts.pivot_table(
        index=list(STRATUM), columns="_group", values=value_cols, aggfunc="sum", fill_value=0
    )
    out = pd.DataFrame(index=wide.index)
    for col in value_cols:
        for flag, suffix in ((True, "_1"), (False, "_0")):
            out[col + suffix] = wide[(col, flag)] if (col, flag) in wide.columns else 0
    return out.reset_index()


def comparison_rows(
    rows: pd.DataFrame,
    counts: pd.DataFrame,
    key: str,
    alpha: float,
    correction: Correction,
    *,
    primary: int | None = None,
) -> pd.DataFrame:
    """One comparison per row of ``rows``, from the grouped counts keyed by ``key``.

    Parameters
    ----------
    rows : pandas.DataFrame
        The rows' labels; row ``i`` reads the counts whose ``key`` is the
        row's own ``key`` value, or ``i`` when ``rows`` has no ``key`` column.
    counts : pandas.DataFrame
        Engine output: ``key, _group`` (True adherent), ``_segment, _size``,
        ``n, won, lost`` and, when cycle times exist, ``t_n, t_sum, t_sumsq``.
    key : str
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjusts every row but ``primary`` as one family.
    primary : int, optional
        Position of the row tested on its own (the overall comparison).

    Returns
    -------
    pandas.DataFrame
        ``rows`` with :data:`COMPARISON_COLUMNS`.
    """
    counts = counts.copy()
    counts["_group"] = counts["_group"].fillna(False).astype(bool)
    keys = rows[key] if key in rows.columns else pd.Series(range(len(rows)))
    out = []
    for value in keys:
        sub = counts[counts[key] == value].drop(columns=[key])
        out.append(_one_row(_sides(sub) if len(sub) else pd.DataFrame(), alpha))
    res = pd.DataFrame(out, index=rows.index)
    family = np.ones(len(rows), dtype=bool)
    if primary is not None and len(rows):
        family[primary] = False
    _adjust(res, family, alpha, correction)
    return pd.concat([rows, res[list(COMPARISON_COLUMNS)]], axis=1)


def _one_row(s: pd.DataFrame, alpha: float) -> dict:
    """Totals, win rates and the unadjusted figures of one comparison."""
    total = {col: float(s[col].sum()) if col in s.columns else 0.0 for col in (
        "n_1", "n_0", "won_1", "lost_1", "won_0", "lost_0",
        "t_n_1", "t_sum_1", "t_sumsq_1", "t_n_0", "t_sum_0", "t_sumsq_0",
    )}  # fmt: skip
    x1, n1 = total["won_1"], total["won_1"] + total["lost_1"]
    x0, n0 = total["won_0"], total["won_0"] + total["lost_0"]
    r1, l1, h1 = (v[0] for v in rate_with_interval(x1, n1, alpha=alpha))
    r0, l0, h0 = (v[0] for v in rate_with_interval(x0, n0, alpha=alpha))
    note = ""
    if n1 == 0 or n0 == 0:
        note = c.NOTE_NO_CLOSED_DEALS
    elif x1 + x0 in (0, n1 + n0):
        note = c.NOTE_NO_VARIATION
    mh = mantel_haenszel(s, alpha) if len(s) else (np.nan,) * 4 + (0,)
    if not note and mh[4] == 0:
        note = NOTE_NO_COMMON_STRATA
    elif not note and not np.isfinite(mh[0]):
        note = NOTE_SEPARATION
    cyc = cycle_ratio(s, alpha) if "t_n_1" in s.columns else (np.nan,) * 6
    if not note and not np.isfinite(cyc[2]):
        note = NOTE_TOO_FEW_WON
    return {
        c.N_UNITS: int(total["n_1"] + total["n_0"]),
        N_ADHERENT: int(total["n_1"]), N_NOT: int(total["n_0"]),
        CLOSED_ADHERENT: int(n1), WON_ADHERENT: int(x1),
        WIN_RATE_ADHERENT: r1, WR_ADH_LOW: l1, WR_ADH_HIGH: h1,
        CLOSED_NOT: int(n0), WON_NOT: int(x0),
        WIN_RATE_NOT: r0, WR_NOT_LOW: l0, WR_NOT_HIGH: h0,
        "_mh_strata": s, ODDS_RATIO_ADJUSTED: mh[0], OR_CI_LOW: mh[1], OR_CI_HIGH: mh[2],
        OR_P_VALUE: mh[3], N_STRATA: mh[4],
        CYCLE_ADHERENT: cyc[0], CYCLE_NOT: cyc[1], CYCLE_RATIO: cyc[2],
        CYCLE_CI_LOW: cyc[3], CYCLE_CI_HIGH: cyc[4], CYCLE_P_VALUE: cyc[5],
        c.NOTE: note,
    }  # fmt: skip


def _adjust(res: pd.DataFrame, family: np.ndarray, alpha: float, correction: Correction) -> None:
    """Difference, odds-ratio and cycle tests: adjust the family; intervals at matching levels."""
    x1, n1 = res[WON_ADHERENT].to_numpy(float), res[CLOSED_ADHERENT].to_numpy(float)
    x0, n0 = res[WON_NOT].to_numpy(float), res[CLOSED_NOT].to_numpy(float)
    diff = np.full(len(res), np.nan)
    low, high, p, p_adj = diff.copy(), diff.copy(), diff.copy(), diff.copy()
    for mask, corr in ((family, correction), (~family, None)):
        if mask.any():
            d, lo, hi, pv, pa = two_proportions(
                x1[mask], n1[mask], x0[mask], n0[mask], alpha, correction=corr
            )
            diff[mask], low[mask], high[mask], p[mask], p_adj[mask] = d, lo, hi, pv, pa
    res[c.DIFFERENCE], res[c.DIFF_CI_LOW], res[c.DIFF_CI_HIGH] = diff, low, high
    res[c.P_VALUE], res[c.P_ADJUSTED] = p, p_adj
    for p_col, adj_col, recompute in (
        (OR_P_VALUE, OR_P_ADJUSTED, _or_interval),
        (CYCLE_P_VALUE, CYCLE_P_ADJUSTED, _cycle_interval),
    ):
        raw = res[p_col].to_numpy(float)
        adj = raw.copy()
        if family.any():
            adj[family] = adjust_pvalues(raw[family], correction)
            levels = adjusted_levels(raw[family], adj[family], alpha)
            for idx, level in zip(np.flatnonzero(family), levels, strict=True):
                if np.isfinite(raw[idx]) and level != alpha:
                    recompute(res, res.index[idx], level)
        res[adj_col] = adj


def _or_interval(res: pd.DataFrame, idx: object, level: float) -> None:
    _, lo, hi, _, _ = mantel_haenszel(res.at[idx, "_mh_strata"], level)
    res.at[idx, OR_CI_LOW], res.at[idx, OR_CI_HIGH] = lo, hi


def _cycle_interval(res: pd.DataFrame, idx: object, level: float) -> None:
    cyc = cycle_ratio(res.at[idx, "_mh_strata"], level)
    res.at[idx, CYCLE_CI_LOW], res.at[idx, CYCLE_CI_HIGH] = cyc[3], cyc[4]
