"""What is in the data: volumes, deal mix, outcomes, data quality.

The first questions an analyst asks of a new export, answered from a
:class:`~analysis.engine.Workspace`. Row-level work (filters, current stage,
grouped counts) runs in the engine; only the grouped counts come back.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from analysis import columns as c
from analysis.engine import Workspace
from analysis.rates import rate_with_interval

DEALS_COUNT = "deals"
AMOUNT_TOTAL = "amount_total"
WIN_RATE = "win_rate"
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
OPEN_SHARE = "open_share"
MONTH = "month"


def deals_in_period(
    ws: Workspace, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
) -> ibis.Table:
    """Deals created in ``[start, end)``; either bound may be None (open).

    Deals with no recorded ``created_at`` (allowed for some current-stage-only
    sources) are kept only when no bound is given.
    """
    deals = ws.deals
    if start is not None:
        deals = deals.filter(deals[c.CREATED_AT] >= _utc(start))
    if end is not None:
        deals = deals.filter(deals[c.CREATED_AT] < _utc(end))
    return deals


def _utc(value: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def current_stage(ws: Workspace, deals: ibis.Table | None = None) -> ibis.Table:
    """Each deal's current stage as ``(deal_id, stage)``.

    Uses the deals' own ``stage`` column when the source has one; otherwise
    the stage of the latest stage event per deal (computed in the engine).
    Deals with neither get a null stage.
    """
    deals = deals if deals is not None else ws.deals
    if c.STAGE in deals.columns:
        return deals.select(c.DEAL_ID, c.STAGE)
    if not ws.has(c.STAGE_EVENTS):
        return deals.select(c.DEAL_ID, ibis.null().cast("string").name(c.STAGE))
    ev = ws.stage_events
    ranked = ev.mutate(
        _rank=ibis.row_number().over(group_by=ev[c.DEAL_ID], order_by=ibis.desc(ev[c.ENTERED_AT]))
    )
    latest = ranked.filter(ranked._rank == 0).select(c.DEAL_ID, c.STAGE)
    return deals.select(c.DEAL_ID).left_join(latest, c.DEAL_ID).select(c.DEAL_ID, c.STAGE)


def table_volumes(ws: Workspace) -> pd.DataFrame:
    """Rows and columns of every table in the workspace, in data-model order."""
    rows = [
        {
            "table": name,
            "rows": int(ws.execute(ws.tables[name].count())),
            "columns": len(ws.tables[name].columns),
        }
        for name in c.TABLES
        if ws.has(name)
    ]
    return pd.DataFrame(rows, columns=["table", "rows", "columns"])


def deal_mix(ws: Workspace, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """Deals and amount by segment x current stage x outcome.

    Returns
    -------
    pandas.DataFrame
        Columns ``segment, stage, outcome, deals, amount_total``; stages in
        pipeline order (unknown stages last).
    """
    deals = deals_in_period(ws, start, end)
    joined = deals
    if c.STAGE not in deals.columns:
        joined = deals.left_join(current_stage(ws, deals), c.DEAL_ID)
    expr = joined.group_by([c.SEGMENT, c.STAGE, c.OUTCOME]).aggregate(
        **{DEALS_COUNT: joined.count(), AMOUNT_TOTAL: joined[c.AMOUNT].sum()}
    )
    mix = ws.execute(expr)
    order = {s: i for i, s in enumerate(ws.pipeline.all_stages)}
    mix["_order"] = mix[c.STAGE].map(order).fillna(len(order))
    mix = mix.sort_values([c.SEGMENT, "_order", c.OUTCOME]).drop(columns="_order")
    return mix.reset_index(drop=True)


@dataclass(frozen=True)
class OutcomeSummary:
    """Outcome counts and the win rate of closed deals, per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``deals, won, lost, open, open_share, win_rate,
        ci_low, ci_high``.
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
    start: str | None = None,
    end: str | None = None,
    alpha: float = 0.05,
) -> OutcomeSummary:
    """Won, lost and open deals per group, with the win rate of closed deals.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str or None
        Deal columns to group by; None for one overall row.
    start, end : str, optional
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
    """
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    deals = deals_in_period(ws, start, end)
    outcome = deals[c.OUTCOME]
    metrics = {
        "deals": deals.count(),
        "won": (outcome == c.WON).sum(),
        "lost": (outcome == c.LOST).sum(),
        "open": (outcome == c.OPEN).sum(),
    }
    expr = deals.group_by(keys).aggregate(**metrics) if keys else deals.aggregate(**metrics)
    table = ws.execute(expr)
    if keys:
        table = table.sort_values(keys).reset_index(drop=True)
    for col in ("deals", "won", "lost", "open"):
        table[col] = table[col].fillna(0).astype("int64")
    table[OPEN_SHARE] = table["open"] / table["deals"].where(table["deals"] > 0)
    rate, low, high = rate_with_interval(table["won"], table["won"] + table["lost"], alpha=alpha)
    table[WIN_RATE], table[CI_LOW], table[CI_HIGH] = rate, low, high
    return OutcomeSummary(table=table, by=tuple(keys), alpha=alpha)


def monthly_created(
    ws: Workspace, start: str | None = None, end: str | None = None, by: str = c.SEGMENT
) -> pd.DataFrame:
    """Deals created per calendar month (UTC) and group: ``month, <by>, deals``."""
    deals = deals_in_period(ws, start, end)
    deals = deals.filter(deals[c.CREATED_AT].notnull())
    month = deals[c.CREATED_AT].truncate("M").name(MONTH)
    expr = deals.group_by([month, deals[by]]).aggregate(**{DEALS_COUNT: deals.count()})
    out = ws.execute(expr).sort_values([MONTH, by]).reset_index(drop=True)
    # Backends return the truncated month without its zone; it is a UTC month.
    if getattr(out[MONTH].dt, "tz", None) is None:
        out[MONTH] = out[MONTH].dt.tz_localize("UTC")
    return out


def quarantine_summary(manifest: dict | None) -> pd.DataFrame:
    """Rows in, clean and quarantined per table, with reason counts, from a manifest.

    Returns
    -------
    pandas.DataFrame
        One row per (table, reason): ``table, rows_in, rows_clean,
        rows_quarantined, reason, count``; ``reason`` is empty for tables with
        nothing quarantined. An empty frame when there is no manifest.
    """
    cols = ["table", "rows_in", "rows_clean", "rows_quarantined", "reason", "count"]
    if not manifest:
        return pd.DataFrame(columns=cols)
    rows = []
    for table, info in manifest.get("tables", {}).items():
        base = {k: info.get(k, 0) for k in ("rows_in", "rows_clean", "rows_quarantined")}
        reasons = info.get("quarantine_reasons") or {}
        if not reasons:
            rows.append({"table": table, **base, "reason": "", "count": 0})
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
            rows.append({"table": table, **base, "reason": reason, "count": count})
    return pd.DataFrame(rows, columns=cols)
