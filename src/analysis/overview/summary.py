"""What is in the data: volumes, deal mix, outcomes, data quality.

The first questions an analyst asks of a new export, answered from a
:class:`~analysis.engine.workspace.Workspace`. Row-level work (filters, current stage,
grouped counts) runs in the engine; only the grouped counts come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import COUNT
from analysis.core.types import WindowLike
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import aggregate_by, as_keys, series_to_utc
from analysis.engine.workspace import Workspace
from analysis.stats.rates import rate_with_interval

TABLE, ROWS, N_COLUMNS = "table", "rows", "columns"


def current_stage(ws: Workspace, deals: ibis.Table | None = None) -> ibis.Table:
    """Each deal's current stage as ``(deal_id, stage)``.

    Parameters
    ----------
    ws : Workspace
    deals : ibis.Table, optional
        The deals to report on (default all deals of the workspace).

    Returns
    -------
    ibis.Table
        The deals' own ``stage`` column when the source has one; otherwise the
        stage of the latest stage event per deal, computed in the engine.
        Events entered at the same time (or with no time) are ordered by the
        pipeline, so the later stage wins and the answer is deterministic.
        Deals with neither get a null stage.
    """
    deals = deals if deals is not None else ws.deals
    if c.STAGE in deals.columns:
        return deals.select(c.DEAL_ID, c.STAGE)
    if not ws.has(c.STAGE_EVENTS):
        return deals.select(c.DEAL_ID, ibis.null().cast("string").name(c.STAGE))
    ev = ws.stage_events
    pipeline = ws.pipeline
    position = ev[c.STAGE].cases(
        *[(stage, pipeline.order(stage)) for stage in pipeline.all_stages], else_=-1
    )
    ranked = ev.mutate(
        _rank=ibis.row_number().over(
            group_by=ev[c.DEAL_ID],
            order_by=[ibis.desc(ev[c.ENTERED_AT], nulls_first=False), ibis.desc(position)],
        )
    )
    latest = ranked.filter(ranked._rank == 0).select(c.DEAL_ID, c.STAGE)
    return deals.select(c.DEAL_ID).left_join(latest, c.DEAL_ID).select(c.DEAL_ID, c.STAGE)


def table_volumes(ws: Workspace) -> pd.DataFrame:
    """Rows and columns of every table in the workspace, in data-model order.

    Returns
    -------
    pandas.DataFrame
        Columns ``table, rows, columns``.
    """
    rows = [
        {
            TABLE: name,
            ROWS: int(ws.execute(ws.tables[name].count())),
            N_COLUMNS: len(ws.tables[name].columns),
        }
        for name in c.TABLES
        if ws.has(name)
    ]
    return pd.DataFrame(rows, columns=[TABLE, ROWS, N_COLUMNS])


def deal_mix(ws: Workspace, window: WindowLike | None = None) -> pd.DataFrame:
    """Deals and amount by segment x current stage x outcome.

    Parameters
    ----------
    ws : Workspace
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``segment, stage, outcome, deals, amount_total``; stages in
        pipeline order (unknown stages last).
    """
    deals = deals_created_in(ws, window)
    joined = deals
    if c.STAGE not in deals.columns:
        joined = deals.left_join(current_stage(ws, deals), c.DEAL_ID)
    expr = joined.group_by([c.SEGMENT, c.STAGE, c.OUTCOME]).aggregate(
        **{c.N_DEALS: joined.count(), c.AMOUNT_TOTAL: joined[c.AMOUNT].sum()}
    )
    mix = ws.execute(expr)
    order = {s: i for i, s in enumerate(ws.pipeline.all_stages)}
    rank = mix[c.STAGE].map(order).fillna(len(order))
    mix = mix.assign(_order=rank).sort_values([c.SEGMENT, "_order", c.OUTCOME])
    return mix.drop(columns="_order").reset_index(drop=True)


@dataclass(frozen=True)
class OutcomeSummary:
    """Outcome counts and the win rate of closed deals, per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``deals, won, lost, open, won_amount, open_share,
        win_rate, ci_low, ci_high, note``. ``note`` is ``"no_closed_deals"`` where the
        win rate is NaN because the group has no closed deals, else empty.
    by : tuple of str
        Grouping columns.
    alpha : float
        1 - confidence level of the intervals.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The summary as a DataFrame (a copy)."""
        return self.table.copy()


def outcome_summary(
    ws: Workspace,
    by: str | list[str] | None = c.SEGMENT,
    *,
    window: WindowLike | None = None,
    alpha: float = 0.05,
) -> OutcomeSummary:
    """Won, lost and open deals per group, with the win rate of closed deals.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str or None
        Deal columns to group by; None for one overall row.
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.
    alpha : float
        1 - confidence level of the Wilson interval.

    Returns
    -------
    OutcomeSummary

    Notes
    -----
    Win rate is :math:`won / (won + lost)`: open deals are neither wins nor
    losses. Dividing by all deals (open included) understates the rate while
    deals are still in flight; it is the most common error in CRM reports.
    The interval is Wilson's (:func:`analysis.stats.rates.rate_with_interval`).
    """
    keys = as_keys(by)
    deals = deals_created_in(ws, window)
    outcome = deals[c.OUTCOME]
    metrics = {
        c.N_DEALS: deals.count(),
        c.N_WON: (outcome == c.WON).sum(),
        c.N_LOST: (outcome == c.LOST).sum(),
        c.N_OPEN: (outcome == c.OPEN).sum(),
        c.WON_AMOUNT: deals[c.AMOUNT].sum(where=outcome == c.WON),
    }
    expr = aggregate_by(deals, keys, **metrics)
    table = ws.execute(expr)
    if keys:
        table = table.sort_values(keys).reset_index(drop=True)
    for col in (c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN):
        table[col] = table[col].fillna(0).astype("int64")
    won_amount = table[c.WON_AMOUNT].astype("float64")
    # No won deal is 0 revenue; amounts set aside (several currencies, no rates) are unknown.
    table[c.WON_AMOUNT] = won_amount.fillna(0.0) if ws.money.comparable else won_amount
    table[c.OPEN_SHARE] = table[c.N_OPEN] / table[c.N_DEALS].where(table[c.N_DEALS] > 0)
    closed = table[c.N_WON] + table[c.N_LOST]
    rate, low, high = rate_with_interval(table[c.N_WON], closed, alpha=alpha)
    table[c.WIN_RATE], table[c.CI_LOW], table[c.CI_HIGH] = rate, low, high
    table[c.NOTE] = np.where(closed > 0, "", c.NOTE_NO_CLOSED_DEALS)
    return OutcomeSummary(table=table, by=tuple(keys), alpha=alpha)


@dataclass(frozen=True)
class MoneyByCurrency:
    """Deal money in each deal's own currency.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per currency: ``currency, deals, won, won_amount,
        open_amount, note``, amounts in that currency (``amount_original``,
        else ``amount``). ``note`` is ``"mixed_currency"`` on every row when
        the amounts were not converted into one currency, so no total across
        rows may be taken.
    converted : bool
        Whether ``deals.amount`` holds one reporting currency.
    """

    table: pd.DataFrame
    converted: bool

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame (a copy)."""
        return self.table.copy()


def money_by_currency(ws: Workspace, window: WindowLike | None = None) -> MoneyByCurrency:
    """Won and open amounts per currency, each in its own currency.

    Summing amounts in different currencies gives a number in no currency;
    without exchange rates this table is the only honest money total.

    Parameters
    ----------
    ws : Workspace
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    MoneyByCurrency
        Empty when the deals carry no currency.

    Notes
    -----
    Per currency :math:`k`: won amount :math:`\\sum_{i: cur_i = k, won} a_i`
    and open amount likewise, with :math:`a_i` the deal's own amount.
    """
    deals = deals_created_in(ws, window)
    columns = [c.CURRENCY, c.N_DEALS, c.N_WON, c.WON_AMOUNT, c.OPEN_AMOUNT, c.NOTE]
    if c.CURRENCY not in deals.columns:
        return MoneyByCurrency(pd.DataFrame(columns=columns), ws.money.comparable)
    own = c.AMOUNT_ORIGINAL if c.AMOUNT_ORIGINAL in deals.columns else c.AMOUNT
    deals = deals.filter(deals[c.CURRENCY].notnull())
    outcome = deals[c.OUTCOME]
    expr = deals.group_by(c.CURRENCY).aggregate(
        **{
            c.N_DEALS: deals.count(),
            c.N_WON: (outcome == c.WON).sum(),
            c.WON_AMOUNT: deals[own].sum(where=outcome == c.WON),
            c.OPEN_AMOUNT: deals[own].sum(where=outcome == c.OPEN),
        }
    )
    table = ws.execute(expr).sort_values(c.CURRENCY).reset_index(drop=True)
    for col in (c.WON_AMOUNT, c.OPEN_AMOUNT):
        table[col] = table[col].fillna(0.0).astype("float64")
    mixed = not ws.money.comparable and len(table) > 1
    table[c.NOTE] = c.NOTE_MIXED_CURRENCY if mixed else ""
    return MoneyByCurrency(table[columns], converted=ws.money.comparable)


def monthly_created(
    ws: Workspace, window: WindowLike | None = None, by: str = c.SEGMENT
) -> pd.DataFrame:
    """Deals created per calendar month (UTC) and group.

    Parameters
    ----------
    ws : Workspace
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.
    by : str
        Deal column to split by.

    Returns
    -------
    pandas.DataFrame
        Columns ``month, <by>, deals``; ``month`` is the UTC month start.
    """
    deals = deals_created_in(ws, window)
    deals = deals.filter(deals[c.CREATED_AT].notnull())
    month = deals[c.CREATED_AT].truncate("M").name(c.MONTH)
    expr = deals.group_by([month, deals[by]]).aggregate(**{c.N_DEALS: deals.count()})
    out = ws.execute(expr).sort_values([c.MONTH, by]).reset_index(drop=True)
    out[c.MONTH] = series_to_utc(out[c.MONTH])  # the truncated month is a UTC month
    return out


def quarantine_summary(manifest: dict | None) -> pd.DataFrame:
    """Rows in, clean and quarantined per table, with reason counts, from a manifest.

    Parameters
    ----------
    manifest : dict or None
        An ingest manifest (``Workspace.manifest``).

    Returns
    -------
    pandas.DataFrame
        One row per (table, reason): ``table, rows_in, rows_clean,
        rows_quarantined, reason, count``; ``reason`` is empty for tables with
        nothing quarantined. An empty frame when there is no manifest.
    """
    counts = (c.ROWS_IN, c.ROWS_CLEAN, c.ROWS_QUARANTINED)
    cols = [TABLE, *counts, c.REASON, COUNT]
    if not manifest:
        return pd.DataFrame(columns=cols)
    rows = []
    for table, info in manifest.get("tables", {}).items():
        base = {k: info.get(k, 0) for k in counts}
        reasons = info.get(c.QUARANTINE_REASONS) or {}
        if not reasons:
            rows.append({TABLE: table, **base, c.REASON: "", COUNT: 0})
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
            rows.append({TABLE: table, **base, c.REASON: reason, COUNT: count})
    return pd.DataFrame(rows, columns=cols)
