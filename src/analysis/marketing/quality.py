"""Source quality to revenue: leads -> deals -> won revenue per source or campaign, and CAC.

The engine joins each MQL to the deal it became and returns, per group, the
counts of leads and deals by outcome and the sums that the per-lead revenue
mean and its standard error need (:math:`n, \\sum y, \\sum y^2`). The win
rate's interval, the revenue-per-lead interval and the CAC per channel
(:func:`analysis.team.acquisition.acquisition_cost`, the workbench's one
CAC) are computed here on those aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from analysis.engine.workspace import Workspace
from analysis.marketing import columns as c
from analysis.marketing.lifecycle import check_leads, lead_keys, lead_rows
from analysis.stats.means import positive_mean_interval
from analysis.stats.rates import rate_with_interval
from analysis.team.acquisition import acquisition_cost

__all__ = ["SourceQuality", "revenue_per_lead_interval", "source_quality"]

_COLUMNS = (
    c.N_MQL, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN, c.WIN_RATE, c.WIN_CI_LOW, c.WIN_CI_HIGH,
    c.PIPELINE_AMOUNT, c.WON_AMOUNT, c.REVENUE_PER_LEAD, c.REVENUE_CI_LOW, c.REVENUE_CI_HIGH,
    c.NOTE, c.SPEND_TOTAL, c.NEW_CUSTOMERS, c.CAC, c.CAC_CI_LOW, c.CAC_CI_HIGH, c.CAC_NOTE,
)  # fmt: skip


@dataclass(frozen=True)
class SourceQuality:
    """Per source or campaign: leads, deals, win rate, won revenue per lead, CAC.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group, highest revenue per lead first: ``<by>, leads``
        (MQLs), ``deals`` (created from them), ``won, lost, open, win_rate,
        win_ci_low, win_ci_high, pipeline_amount`` (amount of every deal
        created), ``won_amount, revenue_per_lead, revenue_ci_low,
        revenue_ci_high, note, spend, new_customers, cac, cac_ci_low,
        cac_ci_high, cac_note``.
    by : str
    alpha : float
    """

    table: pd.DataFrame
    by: str
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The source-quality table (a copy)."""
        return self.table.copy()


def revenue_per_lead_interval(
    n: np.ndarray, total: np.ndarray, total_squares: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean revenue per lead with a log-scale delta-method interval, from sufficient statistics.

    Parameters
    ----------
    n, total, total_squares : array-like
        Per group: leads, :math:`\\sum y_i` and :math:`\\sum y_i^2` of the
        revenue :math:`y_i` each lead brought (0 unless its deal was won).
    alpha : float

    Returns
    -------
    mean, ci_low, ci_high : numpy.ndarray
        NaN bounds where fewer than two leads or no revenue (mean 0).

    Notes
    -----
    :math:`\\bar y = \\sum y / n`,
    :math:`s^2 = (\\sum y^2 - n \\bar y^2)/(n - 1)`,
    :math:`\\mathrm{se} = s/\\sqrt n`, and the interval
    :math:`\\bar y\\, e^{\\pm t_{n-1,1-\\alpha/2}\\, \\mathrm{se}/\\bar y}`
    (:func:`analysis.stats.means.positive_mean_interval`): the delta method on
    :math:`\\log \\bar y`, so it stays positive for the very skewed per-lead
    revenue (most leads bring nothing). Revenue per lead is the ratio
    estimator won revenue / leads with the leads as the sampling units.
    """
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    squares = np.asarray(total_squares, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.maximum(squares - n * mean**2, 0.0) / (n - 1)
        se = np.sqrt(var / n)
    q = stats.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1))
    low, high = positive_mean_interval(mean, se, q)
    ok = n >= 2
    return mean, np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def _per_group(ws: Workspace, keys: list[str]) -> pd.DataFrame:
    rows = lead_rows(ws, keys)
    rows = rows.filter(rows._r_mql)
    if ws.has(c.DEALS):
        d = ws.deals
        amount = d[c.AMOUNT].cast("float64") if c.AMOUNT in d.columns else ibis.null("float64")
        deals = d.select(_key=d[c.DEAL_ID].cast("string"), _outcome=d[c.OUTCOME], _amount=amount)
        rows = rows.left_join(deals, rows._deal == deals._key)
        has_deal = rows._key.notnull()
        outcome, amount = rows._outcome, rows._amount
    else:
        has_deal = ibis.literal(False)
        outcome, amount = ibis.null("string"), ibis.null("float64")
    won = (outcome == c.WON).fill_null(False)
    y = ibis.ifelse(won, amount.fill_null(0.0), 0.0)

    def count(flag: ibis.Value) -> ibis.Value:
        return flag.cast("int64").sum()

    expr = rows.group_by(keys).aggregate(
        **{
            c.N_MQL: rows.count(),
            c.N_DEALS: count(has_deal),
            c.N_WON: count(won),
            c.N_LOST: count((outcome == c.LOST).fill_null(False)),
            c.N_OPEN: count((outcome == c.OPEN).fill_null(False)),
            c.PIPELINE_AMOUNT: ibis.ifelse(has_deal, amount, ibis.null("float64")).sum(),
            c.WON_AMOUNT: y.sum(),
            "_y2": (y * y).sum(),
            "_won_no_amount": count(won & amount.isnull()),
        }
    )
    return ws.execute(expr)


def _cac(ws: Workspace, table: pd.DataFrame, key: str, alpha: float) -> pd.DataFrame:
    """CAC per channel from the acquisition code, on the rows whose group is a channel."""
    nan = {col: np.nan for col in (c.SPEND_TOTAL, c.NEW_CUSTOMERS, c.CAC, c.CAC_CI_LOW,
                                   c.CAC_CI_HIGH)}  # fmt: skip
    if not ws.has(c.SPEND):
        return table.assign(**nan, **{c.CAC_NOTE: c.NOTE_NO_SPEND_TABLE})
    if key != c.SOURCE or not ws.has(c.DEALS):
        return table.assign(**nan, **{c.CAC_NOTE: c.NOTE_CAC_NEEDS_SOURCE})
    cac = acquisition_cost(ws, None, "channel", alpha=alpha).to_frame()
    cac = cac[[c.CHANNEL, c.SPEND_TOTAL, c.NEW_CUSTOMERS, c.CAC, c.CAC_CI_LOW, c.CAC_CI_HIGH,
               c.NOTE]].rename(columns={c.CHANNEL: key, c.NOTE: c.CAC_NOTE})  # fmt: skip
    cac[key] = cac[key].astype(str)
    out = table.merge(cac, on=key, how="left")
    out[c.CAC_NOTE] = out[c.CAC_NOTE].fillna(c.NOTE_NO_SPEND)
    return out


def source_quality(ws: Workspace, by: str = c.SOURCE, alpha: float = 0.05) -> SourceQuality:
    """Leads, pipeline, won revenue and revenue per lead per source or campaign, with CAC.

    Parameters
    ----------
    ws : Workspace
        With a ``leads`` table; reads ``converted_deal_id`` and the deals'
        ``outcome`` and ``amount``, and ``spend`` for CAC when present.
    by : str
        The lead column to group by: ``source`` (default), ``campaign``,
        ``segment`` or ``owner_id``. Blank labels form the group ``unknown``.
    alpha : float
        1 - the confidence level of every interval.

    Returns
    -------
    SourceQuality

    Raises
    ------
    MissingInput
        Without a ``leads`` table.
    ValueError
        For a ``by`` column the leads lack or a bad ``alpha``.

    Notes
    -----
    The leads of a group are its MQLs (leads that reached MQL or any later
    step); ``deals`` are those converted into a deal present in the deals
    table; ``pipeline_amount`` the sum of those deals' amounts.

    Win rate: won / (won + lost) of those deals (open deals are not
    decided) with the Wilson interval
    (:func:`analysis.stats.rates.rate_with_interval`).

    Revenue per lead: each MQL :math:`i` brings :math:`y_i` = the amount of
    its deal when won, else 0 (open deals bring nothing yet, so recent leads
    pull the figure down for every group alike); revenue per lead is
    :math:`\\bar y = \\sum y_i / n` with a delta-method interval on
    :math:`\\log \\bar y` from the engine's :math:`n, \\sum y, \\sum y^2`
    (:func:`revenue_per_lead_interval`; analytic, nothing random). A won
    deal without amount counts 0 (note ``won_without_amount``); when the
    amounts are in several currencies without rates, money figures are NaN
    (note ``mixed_currency``).

    CAC: :func:`analysis.team.acquisition.acquisition_cost` with
    ``by="channel"`` over all periods (spend of the channel / new customers
    whose deal's ``source`` is the channel, Garwood interval), merged on the
    lead source. Spend carries a channel, not a campaign, so grouped by
    anything but ``source`` the CAC columns are NaN (``cac_by_source_only``);
    without a spend table they are NaN with ``no_spend_table``.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    check_leads(ws)
    if not isinstance(by, str):
        raise ValueError(f"by must name one lead column (source, campaign...), not {by!r}.")
    (key,) = lead_keys(ws, by)
    table = _per_group(ws, [key])
    counts = (c.N_MQL, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN, "_won_no_amount")
    for col in counts:
        table[col] = table[col].fillna(0).astype("int64")
    rate, low, high = rate_with_interval(
        table[c.N_WON], table[c.N_WON] + table[c.N_LOST], alpha=alpha
    )
    table[c.WIN_RATE], table[c.WIN_CI_LOW], table[c.WIN_CI_HIGH] = rate, low, high
    mean, low, high = revenue_per_lead_interval(
        table[c.N_MQL], table[c.WON_AMOUNT], table["_y2"], alpha
    )
    table[c.REVENUE_PER_LEAD], table[c.REVENUE_CI_LOW], table[c.REVENUE_CI_HIGH] = mean, low, high
    table[c.PIPELINE_AMOUNT] = table[c.PIPELINE_AMOUNT].astype(float)
    table[c.NOTE] = np.select(
        [table[c.N_MQL] == 0, table["_won_no_amount"] > 0],
        [c.NOTE_NO_MQLS, c.NOTE_WON_WITHOUT_AMOUNT],
        "",
    )
    if not ws.money.comparable:
        money = [c.PIPELINE_AMOUNT, c.WON_AMOUNT, c.REVENUE_PER_LEAD, c.REVENUE_CI_LOW,
                 c.REVENUE_CI_HIGH]  # fmt: skip
        table[money] = np.nan
        table[c.NOTE] = c.NOTE_MIXED_CURRENCY
    if not ws.has(c.DEALS):
        table[c.NOTE] = c.NOTE_NO_DEALS_TABLE
    table = _cac(ws, table, key, alpha)
    table = table.sort_values([c.REVENUE_PER_LEAD, key], ascending=[False, True])
    return SourceQuality(table[[key, *_COLUMNS]].reset_index(drop=True), key, alpha)
