"""Why deals are won and lost: win rates, loss-reason Pareto and head-to-head win rates.

Win rates by count and by amount come from :func:`analysis.pipeline.funnel.win_rates`.
This module adds the loss side: loss reasons as a Pareto by segment and by the
stage where the deal was lost, and the win rate against each competitor.
Row-level work (stage lost, grouped counts) runs in the engine; the tests
(:mod:`analysis.stats.proportions`) run on the counts. Both compared between
two windows live in :mod:`analysis.winloss.compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis.core.types import WindowLike, check_correction
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import aggregate_by, as_keys
from analysis.engine.needs import COMPETITORS, LOSS_REASONS
from analysis.engine.workspace import Workspace
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval
from analysis.winloss import columns as c

__all__ = [
    "HeadToHead",
    "LossReasonPareto",
    "head_to_head",
    "loss_reason_pareto",
    "lost_stage",
    "with_owner_attributes",
]

_PARETO_COLUMNS = (
    c.LOSS_REASON, c.N_DEALS, c.N_LOST, c.N_LOST_WITH_REASON, c.SHARE, c.CI_LOW, c.CI_HIGH,
    c.CUMULATIVE_SHARE, c.RANK, c.NOTE,
)  # fmt: skip
_H2H_COLUMNS = (
    c.COMPETITOR, c.N_CLOSED, c.N_WON, c.WIN_RATE, c.CI_LOW, c.CI_HIGH, c.DIFFERENCE, c.DIFF_CI_LOW,
    c.DIFF_CI_HIGH, c.P_VALUE, c.P_ADJUSTED, c.NOTE,
)  # fmt: skip


def _note_row(columns: Sequence[str], note: str) -> pd.DataFrame:
    """One row of NaN (None for the label) carrying a message code, for empty results."""
    row = {col: np.nan for col in columns}
    row[columns[0]], row[c.NOTE] = None, note
    return pd.DataFrame([row], columns=list(columns))


def with_owner_attributes(
    ws: Workspace, attributes: Sequence[str] = (c.REGION, c.TEAM)
) -> Workspace:
    """Deals with attributes of their owner (rep) joined on as ``owner_<attribute>``.

    Lets every win/loss table group by a rep attribute, e.g. the regional
    office of Maven's ``sales_teams`` (``owner_region``). Attributes the reps
    table lacks are skipped; without a reps table the workspace is returned.
    """
    if not ws.has(c.REPS):
        return ws
    reps = ws.reps
    keep = [a for a in attributes if a in reps.columns and a != c.REP_ID]
    if not keep:
        return ws
    reps = reps.select(
        reps[c.REP_ID].name("_rep"), *[reps[a].name(c.OWNER_PREFIX + a) for a in keep]
    ).distinct(on="_rep")
    deals = ws.deals
    joined = deals.left_join(reps, deals[c.OWNER_ID] == reps["_rep"]).drop("_rep")
    return ws.with_table(c.DEALS, joined)


def lost_stage(ws: Workspace, deals: ibis.Table | None = None) -> ibis.Table:
    """The furthest open stage each lost deal entered, as ``(deal_id, stage_lost)``.

    Computed in the engine from ``stage_events``; lost deals without an
    open-stage event get a null stage.
    """
    deals = deals if deals is not None else ws.deals
    lost = deals.filter(deals[c.OUTCOME] == c.LOST).select(c.DEAL_ID)
    if not ws.has(c.STAGE_EVENTS):
        return lost.mutate(**{c.STAGE_LOST: ibis.null().cast("string")})
    stages = ws.pipeline.stages
    ev = ws.stage_events
    order = ev[c.STAGE].cases(*[(s, i) for i, s in enumerate(stages)], else_=-1)
    furthest = (
        ev.mutate(_order=order)
        .filter(lambda t: t._order >= 0)
        .group_by(c.DEAL_ID)
        .aggregate(_max=lambda t: t._order.max())
    )
    name = furthest._max.cases(*[(i, s) for i, s in enumerate(stages)], else_=ibis.null())
    furthest = furthest.select(furthest[c.DEAL_ID].name("_d"), name.name(c.STAGE_LOST))
    return (
        lost.left_join(furthest, lost[c.DEAL_ID] == furthest["_d"])
        .drop("_d")
        .select(c.DEAL_ID, c.STAGE_LOST)
    )


@dataclass(frozen=True)
class LossReasonPareto:
    """Loss reasons ranked by frequency per group, with Wilson intervals on the shares.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, reason): ``loss_reason, lost, lost_with_reason,
        share, ci_low, ci_high, cumulative_share, rank, note``.
    by : tuple of str
    alpha : float
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The Pareto table as a DataFrame (a copy)."""
        return self.table.copy()


def _lost_with_keys(
    ws: Workspace, keys: list[str], by_stage_lost: bool, deals: ibis.Table
) -> ibis.Table:
    missing = [k for k in keys if k not in deals.columns]
    if missing:
        raise ValueError(
            f"The deals table has no column {missing[0]!r}; it has: {', '.join(deals.columns)}."
        )
    if c.LOSS_REASON not in deals.columns:
        raise ValueError("The deals table has no loss_reason column, so no Pareto can be drawn.")
    lost = deals.filter(deals[c.OUTCOME] == c.LOST)
    if by_stage_lost:
        stage = lost_stage(ws, lost)
        stage = stage.select(stage[c.DEAL_ID].name("_d"), c.STAGE_LOST)
        lost = lost.left_join(stage, lost[c.DEAL_ID] == stage["_d"]).drop("_d")
    return lost


def loss_reason_pareto(
    ws: Workspace,
    by: str | list[str] | None = None,
    *,
    by_stage_lost: bool = False,
    alpha: float = 0.05,
    window: WindowLike | None = None,
) -> LossReasonPareto:
    """Share of lost deals giving each loss reason, largest first, per group.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str, optional
        Deal columns to split by (segment, source, product...).
    by_stage_lost : bool
        Also split by the furthest open stage the deal entered (``stage_lost``).
    alpha : float
        1 - confidence level of the share intervals.
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    LossReasonPareto

    Notes
    -----
    Within a group, ``share = n_reason / lost_with_reason`` where the
    denominator counts lost deals with a recorded reason (``lost`` counts all
    lost deals; the difference is unrecorded). Each share carries a Wilson
    interval (:func:`analysis.stats.rates.rate_with_interval`); the cumulative share
    is the Pareto curve. Groups without lost deals get one row with note
    ``no_lost_deals``.
    """
    LOSS_REASONS.check(ws)
    keys = as_keys(by)
    deals = deals_created_in(ws, window)
    lost = _lost_with_keys(ws, keys, by_stage_lost, deals)
    keys = [*keys, *([c.STAGE_LOST] if by_stage_lost else [])]
    reason = lost[c.LOSS_REASON]
    totals = ws.execute(
        aggregate_by(
            lost,
            keys,
            **{c.N_LOST: lost.count(), c.N_LOST_WITH_REASON: reason.notnull().cast("int64").sum()},
        )
    )
    counts = ws.execute(
        lost.filter(reason.notnull())
        .group_by([*keys, c.LOSS_REASON])
        .aggregate(_n=lambda t: t.count())
    )
    columns = [*keys, c.LOSS_REASON, "_n"]
    if totals.empty or int(totals[c.N_LOST].sum()) == 0:
        return LossReasonPareto(_note_row(_PARETO_COLUMNS, c.NOTE_NO_LOST_DEALS), (), alpha)
    table = (
        counts[columns].merge(totals, on=keys, how="right")
        if keys
        else counts.assign(**totals.iloc[0].to_dict())
    )
    table["_n"] = table["_n"].fillna(0).astype("int64")
    share, low, high = rate_with_interval(table["_n"], table[c.N_LOST_WITH_REASON], alpha=alpha)
    table[c.SHARE], table[c.CI_LOW], table[c.CI_HIGH] = share, low, high
    sort_keys = [*keys, "_n", c.LOSS_REASON]
    table = table.sort_values(sort_keys, ascending=[True] * len(keys) + [False, True])
    grouped = table.groupby(keys, dropna=False, sort=False) if keys else None
    table[c.CUMULATIVE_SHARE] = grouped[c.SHARE].cumsum() if keys else table[c.SHARE].cumsum()
    table[c.RANK] = (grouped.cumcount() if keys else pd.Series(range(len(table)), table.index)) + 1
    table[c.NOTE] = np.where(table[c.N_LOST_WITH_REASON] == 0, c.NOTE_NO_LOST_DEALS, "")
    table = table.rename(columns={"_n": c.N_DEALS})
    order = [
        *keys, c.LOSS_REASON, c.N_DEALS, c.N_LOST, c.N_LOST_WITH_REASON,
        c.SHARE, c.CI_LOW, c.CI_HIGH, c.CUMULATIVE_SHARE, c.RANK, c.NOTE,
    ]  # fmt: skip
    return LossReasonPareto(table[order].reset_index(drop=True), tuple(keys), alpha)


@dataclass(frozen=True)
class HeadToHead:
    """Win rate against each competitor, and its difference from the other competitors.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, competitor): ``closed, won, win_rate, ci_low,
        ci_high, difference, diff_ci_low, diff_ci_high, p_value, p_adjusted, note``.
        ``difference`` compares with the closed deals against every other named
        competitor in the group.
    by : tuple of str
    alpha : float
    correction : str
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    alpha: float
    correction: str

    def to_frame(self) -> pd.DataFrame:
        """The head-to-head table as a DataFrame (a copy)."""
        return self.table.copy()


def head_to_head(
    ws: Workspace,
    by: str | list[str] | None = None,
    *,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    window: WindowLike | None = None,
) -> HeadToHead:
    """Win rate of closed deals against each named competitor.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str, optional
        Deal columns to split by.
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the p-values across competitors and groups.
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    HeadToHead

    Notes
    -----
    Only closed deals with a competitor recorded are compared (a CRM records a
    competitor once it is known, usually mid-pipeline, so deals without one are
    not a fair baseline). For competitor ``k``: :math:`\\hat p_k = won_k /
    closed_k` (Wilson interval); ``difference`` is :math:`\\hat p_k - \\hat p_{-k}`
    against all other competitors pooled, with the Miettinen–Nurminen score
    test and the interval that inverts it, at the level that agrees with the
    adjusted p-value (:func:`analysis.stats.proportions.two_proportions`).

    References
    ----------
    Miettinen, O. & Nurminen, M. (1985). Comparative analysis of two rates.
    Statistics in Medicine 4(2), 213-226.
    """
    COMPETITORS.check(ws)
    check_correction(correction)
    keys = as_keys(by)
    deals = deals_created_in(ws, window)
    if c.COMPETITOR not in deals.columns:
        raise ValueError("The deals table has no competitor column; head-to-head needs one.")
    closed = deals.filter(deals[c.OUTCOME].isin([c.WON, c.LOST]) & deals[c.COMPETITOR].notnull())
    counts = ws.execute(
        aggregate_by(
            closed,
            [*keys, c.COMPETITOR],
            **{
                c.N_CLOSED: closed.count(),
                c.N_WON: (closed[c.OUTCOME] == c.WON).cast("int64").sum(),
            },
        )
    )
    if counts.empty:
        empty = _note_row(_H2H_COLUMNS, c.NOTE_NO_CLOSED_DEALS)
        return HeadToHead(empty, (), alpha, correction)
    if keys:
        sums = counts.groupby(keys, dropna=False)[[c.N_CLOSED, c.N_WON]].transform("sum")
    else:
        sums = pd.DataFrame(
            {col: counts[col].sum() for col in (c.N_CLOSED, c.N_WON)}, index=counts.index
        )
    table = counts.sort_values([*keys, c.N_CLOSED], ascending=[True] * len(keys) + [False])
    sums = sums.loc[table.index]
    n1, x1 = table[c.N_CLOSED].to_numpy(float), table[c.N_WON].to_numpy(float)
    n0, x0 = sums[c.N_CLOSED].to_numpy(float) - n1, sums[c.N_WON].to_numpy(float) - x1
    rate, low, high = rate_with_interval(x1, n1, alpha=alpha)
    table[c.WIN_RATE], table[c.CI_LOW], table[c.CI_HIGH] = rate, low, high
    diff, dlow, dhigh, p, p_adj = two_proportions(x1, n1, x0, n0, alpha, correction=correction)
    table[c.DIFFERENCE], table[c.DIFF_CI_LOW], table[c.DIFF_CI_HIGH] = diff, dlow, dhigh
    table[c.P_VALUE], table[c.P_ADJUSTED] = p, p_adj
    table[c.NOTE] = np.where(n0 == 0, "no_other_competitor", "")
    return HeadToHead(table.reset_index(drop=True), tuple(keys), alpha, correction)
