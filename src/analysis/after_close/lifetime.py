"""First-year customer value against acquisition cost, per channel.

A customer's value is what it paid in the year after the close: B2C orders
within 365 days of the first, B2B recurring revenue held over the first
year's months. It is the observed part of lifetime value, a floor of the
whole lifetime's. CAC is the workbench's one CAC
(:func:`analysis.team.acquisition.acquisition_cost`, by channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.after_close import columns as c
from analysis.after_close.first_year import year_on_rows
from analysis.after_close.rows import post_sale_cutoff, require_post_sale
from analysis.engine.workspace import Workspace
from analysis.team.acquisition import acquisition_cost

__all__ = ["CustomerValue", "customer_value"]

_COLUMNS = [c.CHANNEL, c.N_CUSTOMERS, c.VALUE_FIRST_YEAR, c.VALUE_CI_LOW, c.VALUE_CI_HIGH,
            c.CAC, c.CAC_CI_LOW, c.CAC_CI_HIGH, c.VALUE_TO_CAC, c.VALUE_TO_CAC_CI_LOW,
            c.VALUE_TO_CAC_CI_HIGH, c.NOTE]  # fmt: skip


@dataclass(frozen=True)
class CustomerValue:
    """First-year value per customer and its ratio to CAC, per channel.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per channel, highest ratio first: ``channel, customers``
        (customers and accounts a year old), ``first_year_value, value_ci_low,
        value_ci_high, cac, cac_ci_low, cac_ci_high, first_year_value_to_cac``
        (gross margin x value / CAC) ``and its ci_low / ci_high, note``.
    gross_margin : float
    cutoff : pandas.Timestamp
    alpha : float
    currency : str or None
    """

    table: pd.DataFrame
    gross_margin: float
    cutoff: pd.Timestamp
    alpha: float
    currency: str | None

    def to_frame(self) -> pd.DataFrame:
        """The per-channel table (a copy)."""
        return self.table.copy()


def customer_value(
    ws: Workspace, *, gross_margin: float = 0.7, as_of: object = None, alpha: float = 0.05
) -> CustomerValue:
    """First-year value per customer against CAC, per acquisition channel.

    Parameters
    ----------
    ws : Workspace
        With ``orders`` and/or ``subscriptions``; ``spend`` for CAC.
    gross_margin : float
        Share of revenue kept after the cost of serving it.
    as_of : timestamp, optional
    alpha : float

    Returns
    -------
    CustomerValue

    Raises
    ------
    MissingInput
        With neither orders nor subscriptions.

    Notes
    -----
    Value :math:`\\bar v` is the mean over customers a year old of their first
    year's revenue (B2C: orders within 365 days of the first, the first
    included; B2B: :math:`\\sum_j MRR_j \\cdot \\Delta t_j` over the first
    year's changes, :math:`\\Delta t` in months of 365/12 days), with the
    t interval. The ratio :math:`m \\bar v / CAC` has a log-scale delta
    interval, :math:`Var(\\log) = (se_v/\\bar v)^2 + (se_{CAC}/CAC)^2`, the
    CAC's log standard error read off its Garwood interval
    (:math:`(\\log high - \\log low) / 2z`). Spend carries no segment, so a
    channel's CAC covers its B2C and B2B customers alike.
    """
    if not 0 < gross_margin <= 1:
        raise ValueError(f"gross_margin must lie in (0, 1], got {gross_margin}.")
    require_post_sale(ws, "Customer value against acquisition cost")
    cutoff = post_sale_cutoff(ws, as_of)
    values = year_on_rows(ws, cutoff, c.CHANNEL)
    values = values[values["_complete"].astype(bool)]
    z = norm.ppf(1 - alpha / 2)
    g = values.groupby(c.CHANNEL)["_value"]
    table = pd.DataFrame({c.N_CUSTOMERS: g.count(), "_mean": g.mean(), "_sd": g.std()})
    table = table.reset_index()
    se = table["_sd"] / np.sqrt(table[c.N_CUSTOMERS])
    table[c.VALUE_FIRST_YEAR] = table["_mean"]
    table[c.VALUE_CI_LOW] = table["_mean"] - z * se
    table[c.VALUE_CI_HIGH] = table["_mean"] + z * se
    table = _with_cac(ws, table, alpha)
    ratio = gross_margin * table[c.VALUE_FIRST_YEAR] / table[c.CAC]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_se_cac = (np.log(table[c.CAC_CI_HIGH]) - np.log(table[c.CAC_CI_LOW])) / (2 * z)
        log_se = np.sqrt((se / table["_mean"]) ** 2 + log_se_cac**2)
    table[c.VALUE_TO_CAC] = ratio
    table[c.VALUE_TO_CAC_CI_LOW] = ratio * np.exp(-z * log_se)
    table[c.VALUE_TO_CAC_CI_HIGH] = ratio * np.exp(z * log_se)
    table = table.sort_values([c.VALUE_TO_CAC, c.CHANNEL], ascending=[False, True])
    return CustomerValue(table[_COLUMNS].reset_index(drop=True), gross_margin, cutoff, alpha,
                         ws.money.currency)  # fmt: skip


def _with_cac(ws: Workspace, table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    if not ws.has(c.SPEND) or not ws.has(c.DEALS):
        table[[c.CAC, c.CAC_CI_LOW, c.CAC_CI_HIGH]] = np.nan
        table[c.NOTE] = c.NOTE_NO_SPEND
        return table
    cac = acquisition_cost(ws, period=None, by="channel", alpha=alpha).to_frame()
    cac = cac[[c.CHANNEL, c.CAC, c.CAC_CI_LOW, c.CAC_CI_HIGH]].astype({c.CHANNEL: str})
    out = table.merge(cac, on=c.CHANNEL, how="left")
    out[c.NOTE] = np.where(out[c.CAC].isna(), c.NOTE_NO_SPEND, "")
    return out
