"""Lead-source quality: which channels bring real buyers, and at what cost.

Per lead source: win rate with its interval, Kaplan–Meier median cycle,
revenue per deal created and, when spend is recorded, CAC per channel from
:mod:`analysis.team.acquisition.cac`.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.types import WindowLike
from analysis.engine.filters import deals_created_in
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle import (
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    time_to_close,
)
from analysis.pipeline.funnel import win_rates
from analysis.team import columns as c
from analysis.team.acquisition.cac import acquisition_cost

__all__ = ["REVENUE_PER_DEAL", "source_quality"]

REVENUE_PER_DEAL = "revenue_per_deal_created"
NOTE_NO_SOURCE = "no_lead_source_column"


def source_quality(
    ws: Workspace,
    window: WindowLike | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Conversion, cycle, revenue and cost per lead source: which channels bring real buyers.

    Parameters
    ----------
    ws : Workspace
    window : Window or (start, end), optional
        Creation-date window of the deals (and spend window for CAC).
    alpha : float

    Returns
    -------
    pandas.DataFrame
        One row per source: ``source, deals, won, lost, open, win_rate,
        ci_low, ci_high, won_amount, revenue_per_deal_created, avg_won_deal,
        median_cycle_days, median_cycle_ci_low, median_cycle_ci_high, spend,
        new_customers, cac, note``; without a ``source`` column on the deals,
        one row with note ``no_lead_source_column``.

    Notes
    -----
    Win rate by count from :func:`analysis.pipeline.funnel.win_rates` (won / closed,
    Wilson interval), cycle the Kaplan–Meier median of
    :func:`analysis.pipeline.cycle.time_to_close`, ``revenue_per_deal_created =
    won_amount / deals``: what a lead from the source is worth on average.
    CAC per channel from :func:`acquisition_cost` over the same window when a
    spend table is present.
    """
    if c.SOURCE not in ws.deals.columns:
        return pd.DataFrame({c.SOURCE: [None], c.NOTE: [NOTE_NO_SOURCE]})
    rates = win_rates(ws, by=c.SOURCE, window=window, alpha=alpha).to_frame()
    table = rates[
        [c.SOURCE, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN, c.WIN_RATE, c.CI_LOW, c.CI_HIGH,
         c.WON_AMOUNT, c.NOTE]
    ].copy()  # fmt: skip
    table[c.WON_AMOUNT] = table[c.WON_AMOUNT].fillna(0.0).astype(float)
    table[REVENUE_PER_DEAL] = table[c.WON_AMOUNT] / table[c.N_DEALS]
    table[c.AVG_WON_DEAL] = table[c.WON_AMOUNT] / table[c.N_WON].where(table[c.N_WON] > 0)
    scoped = ws.with_table(c.DEALS, deals_created_in(ws, window))
    cycle = time_to_close(scoped, c.SOURCE, alpha=alpha).to_frame()
    if len(cycle) and KM_MEDIAN_DAYS in cycle.columns:
        cycle = cycle[[c.SOURCE, KM_MEDIAN_DAYS, KM_MEDIAN_CI_LOW, KM_MEDIAN_CI_HIGH]].rename(
            columns={KM_MEDIAN_DAYS: c.MEDIAN_CYCLE_DAYS, KM_MEDIAN_CI_LOW: c.MEDIAN_CYCLE_CI_LOW,
                     KM_MEDIAN_CI_HIGH: c.MEDIAN_CYCLE_CI_HIGH}
        )  # fmt: skip
        table = table.merge(cycle, on=c.SOURCE, how="left")
    if ws.has(c.SPEND):
        cac = acquisition_cost(ws, None, "channel", window=window, alpha=alpha).to_frame()
        cac = cac[[c.CHANNEL, c.SPEND_TOTAL, c.NEW_CUSTOMERS, c.CAC]].rename(
            columns={c.CHANNEL: c.SOURCE}
        )
        table = table.merge(cac, on=c.SOURCE, how="left")
    note = table.pop(c.NOTE)
    table[c.NOTE] = note
    return table.sort_values(REVENUE_PER_DEAL, ascending=False).reset_index(drop=True)
