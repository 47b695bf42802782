"""Customer acquisition cost (CAC): spend over new customers won, with payback.

CAC divides sales and marketing spend by the new customers won, per calendar
period, channel or segment, blended (all spend over all new customers) and
paid-only (spend on paid channels over the customers they brought). A period
with spend but no new customer is reported with its spend and a message
code, never as an infinite CAC. Row-level work (first win per account,
counts and sums per period) runs in the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import numpy as np
import pandas as pd
from scipy.stats import chi2

from analysis.core.types import Granularity, Window, WindowLike, as_window, to_utc
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import series_to_utc
from analysis.engine.reach import PERIOD_TRUNCATE
from analysis.engine.workspace import Workspace
from analysis.team import columns as c

__all__ = [
    "AcquisitionCost",
    "PAID_CHANNELS",
    "acquisition_cost",
    "cac_interval",
    "payback_months",
    "segment_cac",
]

By = Literal["channel", "segment"]
PAID_CHANNELS = ("paid",)
PAID_SPEND = "paid_spend"
PAID_CUSTOMERS = "paid_new_customers"
PAID_CAC = "paid_cac"
NOTE_UNALLOCATED = "spend_without_deals_to_allocate"
_ALL = "all"


@dataclass(frozen=True)
class AcquisitionCost:
    """CAC per period and group, blended and paid-only, with payback.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (period, group): ``period, <channel|segment>,
        sales_cost, marketing_cost, spend, new_customers, cac, cac_ci_low,
        cac_ci_high, paid_spend, paid_new_customers, paid_cac, avg_won_deal,
        payback_months, note``.
    period : str or None
    by : str or None
    gross_margin : float
    contract_months : float
    alpha : float
    """

    table: pd.DataFrame
    period: str | None
    by: str | None
    gross_margin: float
    contract_months: float
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The CAC table (a copy)."""
        return self.table.copy()


def cac_interval(
    spend: np.ndarray | pd.Series, customers: np.ndarray | pd.Series, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CAC and its interval from an exact Poisson interval on the number of customers.

    Parameters
    ----------
    spend, customers : array-like
    alpha : float

    Returns
    -------
    cac, ci_low, ci_high : numpy.ndarray
        NaN where there are no customers.

    Notes
    -----
    :math:`CAC = S / k`. Treating spend as fixed and the customer count as
    Poisson, the Garwood interval :math:`[\\chi^2_{\\alpha/2}(2k)/2,\\;
    \\chi^2_{1-\\alpha/2}(2k+2)/2]` for the expected count gives
    :math:`[S / k_{high}, S / k_{low}]` for CAC.

    References
    ----------
    Garwood, F. (1936). Fiducial limits for the Poisson distribution.
    Biometrika 28, 437-442.
    """
    s = np.asarray(spend, dtype=float)
    k = np.asarray(customers, dtype=float)
    ok = k > 0
    safe_k = np.where(ok, k, 1.0)
    k_low = chi2.ppf(alpha / 2, 2 * safe_k) / 2
    k_high = chi2.ppf(1 - alpha / 2, 2 * safe_k + 2) / 2
    cac = np.where(ok, s / safe_k, np.nan)
    return cac, np.where(ok, s / k_high, np.nan), np.where(ok, s / k_low, np.nan)


def payback_months(
    cac: float | np.ndarray,
    revenue_per_customer: float | np.ndarray,
    gross_margin: float = 0.7,
    contract_months: float = 12.0,
) -> np.ndarray:
    """Months of gross margin from a new customer needed to earn back its CAC.

    Parameters
    ----------
    cac : float or array
    revenue_per_customer : float or array
        Revenue of a new customer's deal (the average won amount).
    gross_margin : float
        Share of revenue kept after cost of goods, in (0, 1].
    contract_months : float
        Months the won amount covers (12: the amount is an annual contract).

    Returns
    -------
    numpy.ndarray
        NaN where CAC or revenue is missing or revenue is not positive.

    Notes
    -----
    .. math:: payback = \\frac{CAC}{gross\\_margin \\times revenue / contract\\_months}
    """
    if not 0 < gross_margin <= 1:
        raise ValueError(f"gross_margin must lie in (0, 1], got {gross_margin}.")
    if contract_months <= 0:
        raise ValueError(f"contract_months must be positive, got {contract_months}.")
    cac_arr = np.asarray(cac, dtype=float)
    rev = np.asarray(revenue_per_customer, dtype=float)
    monthly = gross_margin * rev / contract_months
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(monthly > 0, cac_arr / monthly, np.nan)


def _new_customers(ws: Workspace) -> ibis.Table:
    """Won deals that made a new customer: each account's first win (or the deal itself)."""
    deals = ws.deals
    won = deals.filter((deals[c.OUTCOME] == c.WON) & deals[c.CLOSED_AT].notnull())
    if c.ACCOUNT_ID not in won.columns:
        return won
    key = won[c.ACCOUNT_ID].cast("string").fill_null(won[c.DEAL_ID].cast("string"))
    rank = ibis.row_number().over(group_by=key, order_by=[won[c.CLOSED_AT], won[c.DEAL_ID]])
    return won.mutate(_rank=rank).filter(lambda t: t["_rank"] == 0).drop("_rank")


def _period_of(value: ibis.Value, period: Granularity | None) -> ibis.Value:
    if period is None:
        return ibis.literal(_ALL)
    return value.truncate(PERIOD_TRUNCATE[period]).cast("string")


def _customers(ws: Workspace, period, start, end) -> pd.DataFrame:
    won = _new_customers(ws)
    if start is not None:
        won = won.filter(won[c.CLOSED_AT] >= to_utc(start))
    if end is not None:
        won = won.filter(won[c.CLOSED_AT] < to_utc(end))
    won = won.mutate(**{c.PERIOD: _period_of(won[c.CLOSED_AT], period)})
    if c.SOURCE not in won.columns:  # no lead channel recorded: one unknown channel
        won = won.mutate(**{c.SOURCE: ibis.null().cast("string")})
    keys = [c.PERIOD, c.SOURCE, c.SEGMENT]
    expr = won.group_by(keys).aggregate(
        **{c.NEW_CUSTOMERS: won.count(), c.WON_AMOUNT: won[c.AMOUNT].sum()}
    )
    return ws.execute(expr)


def _spend(ws: Workspace, period, start, end) -> pd.DataFrame:
    if not ws.has(c.SPEND):
        return pd.DataFrame(columns=[c.PERIOD, c.CHANNEL, c.SALES_COST, c.MARKETING_COST])
    spend = ws.spend
    if start is not None:
        spend = spend.filter(spend[c.PERIOD] >= to_utc(start))
    if end is not None:
        spend = spend.filter(spend[c.PERIOD] < to_utc(end))
    spend = spend.mutate(**{c.PERIOD: _period_of(spend[c.PERIOD], period)})
    expr = spend.group_by([c.PERIOD, c.CHANNEL]).aggregate(
        **{
            c.SALES_COST: spend[c.SALES_COST].fill_null(0).sum(),
            c.MARKETING_COST: spend[c.MARKETING_COST].fill_null(0).sum(),
        }
    )
    return ws.execute(expr)


def _allocate_to_segments(
    ws: Workspace, spend: pd.DataFrame, period, window: Window | None
) -> pd.DataFrame:
    """Split each (period, channel) spend over segments by their share of deals created there."""
    if spend.empty or c.SOURCE not in ws.deals.columns:
        out = spend.copy()
        out[c.SEGMENT] = NOTE_UNALLOCATED  # nothing to split, or no channel on the deals
        return out
    deals = deals_created_in(ws, window)
    deals = deals.mutate(
        **{c.PERIOD: _period_of(deals[c.CREATED_AT], period), c.CHANNEL: deals[c.SOURCE]}
    )
    created = ws.execute(
        deals.group_by([c.PERIOD, c.CHANNEL, c.SEGMENT]).aggregate(_n=deals.count())
    )
    created["_share"] = created["_n"] / created.groupby([c.PERIOD, c.CHANNEL])["_n"].transform(
        "sum"
    )
    merged = spend.merge(created, on=[c.PERIOD, c.CHANNEL], how="left")
    merged["_unallocated"] = merged["_share"].isna()
    merged[c.SEGMENT] = merged[c.SEGMENT].fillna(NOTE_UNALLOCATED)
    merged["_share"] = merged["_share"].fillna(1.0)
    for col in (c.SALES_COST, c.MARKETING_COST):
        merged[col] = merged[col] * merged["_share"]
    return merged.drop(columns=["_n", "_share", "_unallocated"])


def acquisition_cost(
    ws: Workspace,
    period: Granularity | None = "quarter",
    by: By | None = None,
    *,
    window: WindowLike | None = None,
    paid_channels: Sequence[str] = PAID_CHANNELS,
    gross_margin: float = 0.7,
    contract_months: float = 12.0,
    alpha: float = 0.05,
) -> AcquisitionCost:
    """Customer acquisition cost per period and channel or segment, blended and paid-only.

    Parameters
    ----------
    ws : Workspace
        Needs ``spend`` (period, channel, sales_cost, marketing_cost) and deals
        with ``closed_at`` and ``source`` (the channel).
    period : {"month", "quarter"} or None
        Calendar period of spend and of the first win; None: one total.
    by : {"channel", "segment"}, optional
        ``channel``: spend of the channel over customers whose lead source is
        it; ``segment``: spend allocated to segments (see Notes).
    window : Window or (start, end), optional
        Window ``[start, end)`` of spend periods and wins.
    paid_channels : sequence of str
        Channels whose spend is paid acquisition (``paid_cac``).
    gross_margin, contract_months : float
        For :func:`payback_months`.
    alpha : float
        1 - confidence level of the CAC interval (:func:`cac_interval`).

    Returns
    -------
    AcquisitionCost

    Notes
    -----
    ``spend = sales_cost + marketing_cost``; ``cac = spend / new_customers``;
    ``paid_cac = paid_spend / paid_new_customers`` over ``paid_channels``.
    A new customer is the first won deal of an account (a won deal without
    ``account_id`` is a customer of its own), counted in the period of its
    ``closed_at``. Spend carries no segment, so for ``by="segment"`` each
    (period, channel) spend is split over segments in proportion to the
    deals created there in that period (rows with spend but no deals are
    ``spend_without_deals_to_allocate``). ``payback_months`` uses the average
    amount of the new customers' won deals.

    Note codes: ``spend_but_no_new_customers`` (CAC NaN, spend shown),
    ``no_spend_rows`` (customers but no spend recorded — or no spend table at
    all: CAC NaN, not 0).
    """
    if period not in (None, "month", "quarter"):
        raise ValueError(f"period must be 'month', 'quarter' or None, not {period!r}.")
    if by not in (None, "channel", "segment"):
        raise ValueError(f"by must be 'channel', 'segment' or None, not {by!r}.")
    payback_months(1.0, 1.0, gross_margin, contract_months)  # validates both parameters
    window = as_window(window)
    start, end = window.as_tuple() if window else (None, None)
    spend = _spend(ws, period, start, end)
    paid = list(paid_channels)
    spend[c.CHANNEL] = spend[c.CHANNEL].astype(str)
    spend["_paid"] = spend[c.CHANNEL].isin(paid)
    group = {None: None, "channel": c.CHANNEL, "segment": c.SEGMENT}[by]
    customers = _customers(ws, period, start, end)
    customers = customers.rename(columns={c.SOURCE: c.CHANNEL})
    customers["_paid"] = customers[c.CHANNEL].isin(paid)
    if by == "segment":
        spend = _allocate_to_segments(ws, spend, period, window)
    keys = [c.PERIOD, *([group] if group else [])]
    spend[PAID_SPEND] = spend[c.SALES_COST].where(spend["_paid"], 0.0) + spend[
        c.MARKETING_COST
    ].where(spend["_paid"], 0.0)
    s = spend.groupby(keys, dropna=False)[[c.SALES_COST, c.MARKETING_COST, PAID_SPEND]].sum()
    s["_spend_rows"] = True
    customers[PAID_CUSTOMERS] = customers[c.NEW_CUSTOMERS].where(customers["_paid"], 0)
    k = customers.groupby(keys, dropna=False)[[c.NEW_CUSTOMERS, PAID_CUSTOMERS, c.WON_AMOUNT]].sum()
    table = s.join(k, how="outer").reset_index()
    table["_spend_rows"] = table["_spend_rows"].astype("boolean").fillna(False).astype(bool)
    for col in (c.SALES_COST, c.MARKETING_COST, PAID_SPEND, c.WON_AMOUNT):
        table[col] = table[col].fillna(0.0).astype(float)
    for col in (c.NEW_CUSTOMERS, PAID_CUSTOMERS):
        table[col] = table[col].fillna(0).astype("int64")
    table[c.SPEND_TOTAL] = table[c.SALES_COST] + table[c.MARKETING_COST]
    cac, low, high = cac_interval(table[c.SPEND_TOTAL], table[c.NEW_CUSTOMERS], alpha)
    no_spend = ~table["_spend_rows"]
    table[c.CAC] = np.where(no_spend, np.nan, cac)
    table[c.CAC_CI_LOW] = np.where(no_spend, np.nan, low)
    table[c.CAC_CI_HIGH] = np.where(no_spend, np.nan, high)
    paid_cac, _, _ = cac_interval(table[PAID_SPEND], table[PAID_CUSTOMERS], alpha)
    table[PAID_CAC] = np.where(no_spend | (table[PAID_SPEND] == 0), np.nan, paid_cac)
    n = table[c.NEW_CUSTOMERS]
    table[c.AVG_WON_DEAL] = table[c.WON_AMOUNT] / n.where(n > 0)
    table[c.PAYBACK_MONTHS] = payback_months(
        table[c.CAC], table[c.AVG_WON_DEAL], gross_margin, contract_months
    )
    table[c.NOTE] = np.select(
        [no_spend, n == 0], [c.NOTE_NO_SPEND, c.NOTE_NO_NEW_CUSTOMERS], default=""
    )
    if group == c.SEGMENT:
        table[c.NOTE] = np.where(
            table[c.SEGMENT] == NOTE_UNALLOCATED, NOTE_UNALLOCATED, table[c.NOTE]
        )
    if period is not None and len(table):
        table[c.PERIOD] = series_to_utc(table[c.PERIOD])
    else:
        table = table.drop(columns=[c.PERIOD])
    order = [col for col in keys if col in table.columns] + [
        c.SALES_COST, c.MARKETING_COST, c.SPEND_TOTAL, c.NEW_CUSTOMERS, c.CAC, c.CAC_CI_LOW,
        c.CAC_CI_HIGH, PAID_SPEND, PAID_CUSTOMERS, PAID_CAC, c.AVG_WON_DEAL, c.PAYBACK_MONTHS,
        c.NOTE,
    ]  # fmt: skip
    table = table[order].sort_values([k for k in keys if k in table.columns])
    return AcquisitionCost(
        table.reset_index(drop=True), period, by, gross_margin, contract_months, alpha
    )


def segment_cac(
    ws: Workspace, segments: Sequence[str] | None, period: Granularity | None = "quarter", **kwargs
) -> pd.DataFrame:
    """CAC of the whole business, or of the given segments only (spend split by segment).

    ``segments=None`` (or empty) is :func:`acquisition_cost` with ``by=None``;
    otherwise ``by="segment"`` restricted to those segments, one row per
    period and segment. ``ws`` must hold every deal (not a segment-filtered
    view): spend is split by each segment's share of the deals created.
    Keyword arguments go to :func:`acquisition_cost`.
    """
    if not segments:
        return acquisition_cost(ws, period, None, **kwargs).to_frame()
    table = acquisition_cost(ws, period, "segment", **kwargs).to_frame()
    return table[table[c.SEGMENT].isin(list(segments))].reset_index(drop=True)
