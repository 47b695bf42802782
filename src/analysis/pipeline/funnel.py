"""The pipeline funnel: stage conversion and win rates that never count open deals as lost.

Row-level work (reach per deal and stage, grouped counts, amount sums) runs in
the engine through :mod:`analysis.engine.reach`; the rates and their
intervals are computed here on the small grouped table.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.core import columns as c
from analysis.core.types import Granularity, WindowLike
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import aggregate_by
from analysis.engine.needs import CREATED_DATES
from analysis.engine.reach import (
    PERIOD_TRUNCATE,
    Cohort,
    Reach,
    StageAccounting,
    check_options,
    deal_stage_reach,
    group_keys,
    grouped_counts,
    needs_entry_times,
    reach_rows,
    stage_accounting,
)
from analysis.engine.shape import Shape
from analysis.engine.workspace import Workspace
from analysis.overview.summary import outcome_summary
from analysis.stats.rates import rate_with_interval

__all__ = [
    "StageAccounting",
    "StageConversion",
    "WinRates",
    "cumulative_conversion",
    "deal_stage_reach",
    "stage_accounting",
    "stage_conversion",
    "win_rates",
]

# open = regressed + still open, counted in one flag: conversion needs no current stage or
# backward moves, so the reach rows skip the LEAD window over every stage event.
_CONVERSION_COUNTS = (c.N_ENTERED, c.N_ADVANCED, c.N_LOST_HERE, c.N_OPEN)


@dataclass(frozen=True)
class StageConversion:
    """Stage-to-next-stage conversion with intervals, per group, period and stage.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, period, stage): ``stage, entered, advanced, lost,
        open, open_share, conversion, ci_low, ci_high, cumulative_conversion,
        cumulative_ci_low, cumulative_ci_high, mature, note``.
    by : tuple of str
    period : str or None
    cohort, reach : str
    alpha : float
        1 - confidence level of the intervals.
    max_open_share : float
        Rows whose open share exceeds it are marked ``mature=False``.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    period: str | None
    cohort: str
    reach: str
    alpha: float
    max_open_share: float

    def to_frame(self) -> pd.DataFrame:
        """The conversion table as a DataFrame (a copy)."""
        return self.table.copy()


def cumulative_conversion(conv: pd.Series, decided: pd.Series, z: float) -> pd.DataFrame:
    """Product of the conversions of this and every later stage, with a log-delta interval.

    ``conv`` and ``decided`` hold one group's stages in pipeline order; ``z`` is
    the normal quantile of the interval. Returns ``cumulative_conversion,
    cumulative_ci_low, cumulative_ci_high`` on ``conv``'s index (formula in
    :func:`stage_conversion`).
    """
    p = conv.to_numpy(dtype=float)
    n = decided.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(p > 0, (1 - p) / (n * p), np.nan)
    # Reverse cumulative over the stages of one group (rows in pipeline order).
    point = np.cumprod(p[::-1])[::-1]
    var = np.cumsum(term[::-1])[::-1]
    se = np.sqrt(var)
    low = np.clip(point * np.exp(-z * se), 0, 1)
    high = np.clip(point * np.exp(z * se), 0, 1)
    zero = point == 0
    low[zero], high[zero] = 0.0, np.nan
    return pd.DataFrame(
        {c.CUMULATIVE_CONVERSION: point, c.CUMULATIVE_CI_LOW: low, c.CUMULATIVE_CI_HIGH: high},
        index=conv.index,
    )


def stage_conversion(
    ws: Workspace,
    by: str | list[str] | None = None,
    period: Granularity | None = None,
    cohort: Cohort = "created",
    reach: Reach = "implied",
    alpha: float = 0.05,
    *,
    max_open_share: float = 0.2,
    window: WindowLike | None = None,
) -> StageConversion:
    """Conversion from each open stage to the next, among deals whose fate there is decided.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str, optional
        Deal columns to group by (segment, source, owner_id, region, product...).
    period : {"month", "quarter"}, optional
        Split by calendar period (UTC) of the cohort date.
    cohort : {"created", "stage_entry"}
        ``"created"``: deals created in the period; ``"stage_entry"``: deals
        entering the stage in the period.
    reach : {"implied", "observed"}
        Reach rule (:func:`analysis.engine.reach.deal_stage_reach`).
    alpha : float
        1 - confidence level of the intervals.
    max_open_share : float
        Rows where more than this share of the entered deals is still open at
        the stage are marked immature (``mature=False``, note ``"immature"``).
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    StageConversion

    Notes
    -----
    With the counts of :func:`analysis.engine.reach.stage_accounting`,
    ``lost = lost_here`` and ``open = regressed + still_open`` (fate at the
    stage not yet decided), so ``entered = advanced + lost + open`` and

    .. math:: \\hat p_s = \\frac{advanced_s}{advanced_s + lost_s}

    with a Wilson interval (:func:`analysis.stats.rates.rate_with_interval`). Open
    deals are never counted as drop-outs; ``open_share = open / entered``
    shows how much of the cohort is still undecided. The cumulative
    conversion to won is :math:`P_s = \\prod_{j \\ge s} \\hat p_j`; its interval
    comes from the delta method on the log scale, treating the stage
    estimates as independent (they are, asymptotically, for the sequential
    binomial likelihood): :math:`\\mathrm{Var}(\\log P_s) \\approx \\sum_{j \\ge s}
    (1-\\hat p_j)/(n_j \\hat p_j)`, :math:`n_j = advanced_j + lost_j`, interval
    :math:`P_s e^{\\pm z\\,se}` clipped to [0, 1]. Where some :math:`\\hat p_j = 0`
    the point is 0 and only the lower bound (0) is given; where a later stage
    has no decided deals in the group, the cumulative figures are NaN.

    Notes codes: ``no_entries`` (nobody reached the stage), ``no_decided_deals``
    (deals entered but none is decided yet), ``immature`` (see ``max_open_share``).

    References
    ----------
    Fienberg, S. E. (1980). The Analysis of Cross-Classified Categorical Data,
    ch. 6 (continuation-ratio logits).
    """
    check_options(reach, period, cohort)
    if not 0 <= max_open_share <= 1:
        raise ValueError(f"max_open_share must lie in [0, 1], got {max_open_share}.")
    keys = group_keys(by)
    # Without periods skipped stages are not needed; with them they still set which
    # periods the table lists (as in the accounting), so the rows match it one to one.
    rows = reach_rows(
        ws, reach, keys, window, needs_entry_times(period, cohort), moves=False,
        skips=period is not None,
    )  # fmt: skip
    counts = grouped_counts(ws, rows, keys, period, cohort, _CONVERSION_COUNTS)
    entered, advanced = counts[c.N_ENTERED], counts[c.N_ADVANCED]
    lost = counts[c.N_LOST_HERE]
    table = counts[[*keys, *([c.PERIOD] if period else []), c.STAGE]].copy()
    table[c.N_ENTERED], table[c.N_ADVANCED], table[c.N_LOST] = entered, advanced, lost
    table[c.N_OPEN] = counts[c.N_OPEN]
    table[c.OPEN_SHARE] = table[c.N_OPEN] / entered.where(entered > 0)
    decided = advanced + lost
    rate, low, high = rate_with_interval(advanced, decided, alpha=alpha)
    table[c.CONVERSION], table[c.CI_LOW], table[c.CI_HIGH] = rate, low, high
    group_cols = [*keys, *([c.PERIOD] if period else [])]
    z = norm.ppf(1 - alpha / 2)
    if group_cols and len(table):
        parts = [
            cumulative_conversion(g[c.CONVERSION], decided.loc[g.index], z)
            for _, g in table.groupby(group_cols, sort=False, dropna=False)
        ]
        cumulative = pd.concat(parts).loc[table.index]
    else:
        cumulative = cumulative_conversion(table[c.CONVERSION], decided, z)
    table = pd.concat([table, cumulative], axis=1)
    table[c.MATURE] = (table[c.OPEN_SHARE] <= max_open_share).fillna(False).astype(bool)
    table[c.NOTE] = np.select(
        [entered == 0, decided == 0, ~table[c.MATURE]],
        [c.NOTE_NO_ENTRIES, c.NOTE_NO_DECIDED, c.NOTE_IMMATURE],
        default="",
    )
    return StageConversion(table, tuple(keys), period, cohort, reach, alpha, max_open_share)


@dataclass(frozen=True)
class WinRates:
    """Win rate of closed deals by count and by amount, per group (and period).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``deals, won, lost, open, closed, open_share,
        win_rate, ci_low, ci_high, won_amount, lost_amount, closed_with_amount,
        amount_win_rate, amount_ci_low, amount_ci_high, note``.
    by : tuple of str
    period : str or None
    alpha : float
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    period: str | None
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The win-rate table as a DataFrame (a copy)."""
        return self.table.copy()


def _amount_sums(ws: Workspace, deals: ibis.Table, keys: list[str]) -> pd.DataFrame:
    """Lost amount, sums of squared amounts and closed deals with an amount, per group."""
    outcome, amount = deals[c.OUTCOME], deals[c.AMOUNT]
    won, lost = outcome == c.WON, outcome == c.LOST
    closed = (won | lost) & amount.notnull()
    metrics = {
        c.LOST_AMOUNT: amount.sum(where=lost),
        "_won_sq": (amount * amount).sum(where=won),
        "_lost_sq": (amount * amount).sum(where=lost),
        c.N_CLOSED_WITH_AMOUNT: closed.cast("int64").sum(),
    }
    expr = aggregate_by(deals, keys, **metrics)
    return ws.execute(expr)


def win_rates(
    ws: Workspace,
    by: str | list[str] | None = None,
    period: Granularity | None = None,
    alpha: float = 0.05,
    *,
    window: WindowLike | None = None,
) -> WinRates:
    """Won / (won + lost) by count and by amount, with intervals.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str, optional
        Deal columns to group by; None for one overall row.
    period : {"month", "quarter"}, optional
        Split by calendar period (UTC) of deal creation.
    alpha : float
        1 - confidence level.
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    WinRates

    Notes
    -----
    The count rate and its Wilson interval come from
    :func:`analysis.overview.summary.outcome_summary` (open deals are neither wins nor
    losses). The amount rate is the ratio estimator

    .. math:: R = \\frac{\\sum_{won} a_i}{\\sum_{closed} a_i}

    over the ``n`` closed deals with an amount. Its linearised variance, from
    :math:`d_i = a_i(\\mathbb 1[won_i] - R)`, is

    .. math:: \\widehat{\\mathrm{Var}}(R) = \\frac{n}{n-1}\\,
       \\frac{(1-R)^2 \\sum_{won} a_i^2 + R^2 \\sum_{lost} a_i^2}{(\\sum_{closed} a_i)^2}

    computed from per-group sums of ``a`` and ``a**2`` aggregated in the
    engine; the interval is :math:`R \\pm z\\,se`, clipped to [0, 1]. It needs
    at least two closed deals with an amount (note ``too_few_closed_amounts``).

    References
    ----------
    Cochran, W. G. (1977). Sampling Techniques, 3rd ed., section 6.4 (ratio estimator).
    """
    check_options(c.REACH_IMPLIED, period, c.COHORT_CREATED)
    if period is not None:
        CREATED_DATES.check(ws)
    Shape("Win rates", needs={c.DEALS: tuple(group_keys(by))}).check(ws)
    keys = group_keys(by)
    work, all_keys = ws, list(keys)
    if period is not None:
        deals = ws.deals.mutate(
            **{c.PERIOD: ws.deals[c.CREATED_AT].truncate(PERIOD_TRUNCATE[period])}
        )
        work = ws.with_table(c.DEALS, deals)
        all_keys.append(c.PERIOD)
    summary = outcome_summary(work, all_keys or None, window=window, alpha=alpha)
    table = summary.to_frame()
    sums = _amount_sums(work, deals_created_in(work, window), all_keys)
    table = (
        table.merge(sums, on=all_keys, how="left") if all_keys else pd.concat([table, sums], axis=1)
    )
    if period is not None and len(table):
        periods = pd.to_datetime(table[c.PERIOD])
        if getattr(periods.dt, "tz", None) is None:
            periods = periods.dt.tz_localize("UTC")
        table[c.PERIOD] = periods
    table[c.N_CLOSED] = table[c.N_WON] + table[c.N_LOST]
    won_amt = table[c.WON_AMOUNT].fillna(0.0).astype(float)
    lost_amt = table[c.LOST_AMOUNT].fillna(0.0).astype(float)
    table[c.LOST_AMOUNT] = lost_amt
    won_sq = table.pop("_won_sq").fillna(0.0).astype(float)
    lost_sq = table.pop("_lost_sq").fillna(0.0).astype(float)
    n = table[c.N_CLOSED_WITH_AMOUNT].fillna(0).astype("int64")
    table[c.N_CLOSED_WITH_AMOUNT] = n
    total = (won_amt + lost_amt).where(lambda s: s > 0)
    ratio = won_amt / total
    with np.errstate(divide="ignore", invalid="ignore"):
        var = n / (n - 1) * ((1 - ratio) ** 2 * won_sq + ratio**2 * lost_sq) / total**2
    se = np.sqrt(var.where(n >= 2))
    z = norm.ppf(1 - alpha / 2)
    table[c.AMOUNT_WIN_RATE] = ratio
    table[c.AMOUNT_CI_LOW] = (ratio - z * se).clip(0, 1)
    table[c.AMOUNT_CI_HIGH] = (ratio + z * se).clip(0, 1)
    few = (table[c.N_CLOSED] > 0) & (n < 2)
    table[c.NOTE] = np.where(
        table[c.N_CLOSED] == 0, c.NOTE_NO_CLOSED_DEALS, np.where(few, c.NOTE_TOO_FEW_AMOUNTS, "")
    )
    if not len(table):
        empty = {col: [np.nan] for col in table.columns}
        empty[c.NOTE] = [c.NOTE_NO_CLOSED_DEALS]
        table = pd.DataFrame(empty)
    order = [
        *all_keys,
        c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN, c.N_CLOSED, c.OPEN_SHARE,
        c.WIN_RATE, c.CI_LOW, c.CI_HIGH,
        c.WON_AMOUNT, c.LOST_AMOUNT, c.N_CLOSED_WITH_AMOUNT,
        c.AMOUNT_WIN_RATE, c.AMOUNT_CI_LOW, c.AMOUNT_CI_HIGH, c.NOTE,
    ]  # fmt: skip
    return WinRates(table[order].reset_index(drop=True), tuple(keys), period, alpha)
