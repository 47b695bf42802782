"""Pipeline coverage: open pipeline against a revenue target or the reps' quotas."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.engine.journey import data_cutoff
from analysis.engine.workspace import Workspace
from analysis.team import columns as c

__all__ = ["MEETS_TARGET", "PIPELINE_GAP", "pipeline_coverage"]

MEETS_TARGET = "meets_target"
PIPELINE_GAP = "pipeline_gap"
NOTE_NO_TARGET = "no_revenue_target"


def pipeline_coverage(
    ws: Workspace,
    target_coverage: float = 3.0,
    revenue_target: float | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Open pipeline against a revenue target: is there enough in flight?

    Parameters
    ----------
    ws : Workspace
    target_coverage : float
        Wanted ratio of open pipeline to the revenue target (3.0: three times).
    revenue_target : float, optional
        Revenue to win next quarter; None uses a quarter of the reps' annual
        quotas (``reps.quota``), split by ``by`` through each rep's deals.
    by : str, optional
        Deal column to group by (e.g. ``segment``); requires ``revenue_target``
        None (quota-based) or applies the same target to every group.

    Returns
    -------
    pandas.DataFrame
        ``<by>, open_pipeline, revenue_target, coverage, meets_target,
        pipeline_gap, note`` where ``coverage = open_pipeline /
        revenue_target`` and ``pipeline_gap = max(0, target_coverage *
        revenue_target - open_pipeline)``.

    Notes
    -----
    Open pipeline is the summed amount of deals open at the data cutoff.
    Without a target (no ``revenue_target`` and no quotas) coverage is NaN
    with note ``no_revenue_target``.
    """
    if target_coverage <= 0:
        raise ValueError(f"target_coverage must be positive, got {target_coverage}.")
    deals = ws.deals
    keys = [by] if by else []
    open_deals = deals.filter(deals[c.OUTCOME] == c.OPEN)
    metrics = {c.OPEN_PIPELINE: open_deals[c.AMOUNT].sum(), c.N_OPEN: open_deals.count()}
    expr = (
        open_deals.group_by(keys).aggregate(**metrics) if keys else open_deals.aggregate(**metrics)
    )
    # The engine returns groups in no fixed order (it varies between runs on several threads).
    table = ws.execute(expr).sort_values(keys, kind="stable").reset_index(drop=True)
    table[c.OPEN_PIPELINE] = table[c.OPEN_PIPELINE].fillna(0.0).astype(float)
    if revenue_target is not None:
        table[c.REVENUE_TARGET] = float(revenue_target)
    else:
        table[c.REVENUE_TARGET] = _quota_target(ws, by, table)
    target = table[c.REVENUE_TARGET].where(table[c.REVENUE_TARGET] > 0)
    table[c.COVERAGE] = table[c.OPEN_PIPELINE] / target
    table[MEETS_TARGET] = (table[c.COVERAGE] >= target_coverage).fillna(False).astype(bool)
    table[PIPELINE_GAP] = (target_coverage * target - table[c.OPEN_PIPELINE]).clip(lower=0)
    table[c.NOTE] = np.where(target.isna(), NOTE_NO_TARGET, "")
    table.attrs["cutoff"] = data_cutoff(ws)
    return table


def _quota_target(ws: Workspace, by: str | None, table: pd.DataFrame) -> pd.Series:
    """A quarter of the annual quotas, per group through the share of each rep's deals."""
    if not ws.has(c.REPS) or c.QUOTA not in ws.reps.columns:
        return pd.Series(np.nan, index=table.index)
    reps = ws.execute(ws.reps.select(c.REP_ID, c.QUOTA)).drop_duplicates(c.REP_ID)
    quarterly = reps.set_index(reps[c.REP_ID].astype(str))[c.QUOTA].astype(float) / 4
    if by is None:
        return pd.Series(quarterly.sum(), index=table.index)
    deals = ws.deals
    mix = ws.execute(deals.group_by([c.OWNER_ID, by]).aggregate(_n=deals.count()))
    mix["_share"] = mix["_n"] / mix.groupby(c.OWNER_ID)["_n"].transform("sum")
    mix["_target"] = mix[c.OWNER_ID].astype(str).map(quarterly) * mix["_share"]
    per_group = mix.groupby(by)["_target"].sum(min_count=1)
    return table[by].map(per_group).astype(float)
