"""A customer's first year after the close, per segment: still buying, and what it paid.

The one after-the-close measure that B2B and B2C share. B2C customers (from
``orders``) are *still buying* when they ordered again within the year; B2B
accounts (from ``subscriptions``) when they did not churn within it. Value is
what the customer paid in that year (:mod:`.lifetime`'s first-year value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.after_close import columns as c
from analysis.after_close.accounts import account_rows
from analysis.after_close.customers import customer_rows
from analysis.after_close.rows import (
    YEAR_DAYS,
    literal_time,
    plus_days,
    post_sale_cutoff,
    require_post_sale,
)
from analysis.engine.workspace import Workspace
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval

__all__ = ["FirstYear", "first_year", "year_on_rows"]

STILL_BUYING = "still_buying"
STILL_BUYING_RATE = "still_buying_rate"
_TABLE = [c.SEGMENT, c.N_CUSTOMERS, STILL_BUYING, STILL_BUYING_RATE, c.RATE_CI_LOW,
          c.RATE_CI_HIGH, c.VALUE_FIRST_YEAR, c.VALUE_CI_LOW, c.VALUE_CI_HIGH]  # fmt: skip
_COMPARISON = [c.MEASURE, "a", "b", c.VALUE, c.VALUE_REST, c.DIFFERENCE, c.DIFF_CI_LOW,
               c.DIFF_CI_HIGH, c.P_VALUE]  # fmt: skip


@dataclass(frozen=True)
class FirstYear:
    """Per segment: customers a year old, the share still buying, first-year value.

    Attributes
    ----------
    table : pandas.DataFrame
        ``segment, customers, still_buying, still_buying_rate, rate_ci_low,
        rate_ci_high`` (Wilson), ``first_year_value, value_ci_low,
        value_ci_high`` (t interval).
    comparison : pandas.DataFrame
        ``measure`` (``still_buying_rate``, ``first_year_value``), ``a, b``
        (the segments), ``value`` (a's), ``value_rest`` (b's), ``difference,
        diff_ci_low, diff_ci_high, p_value``: empty unless two segments.
    cutoff : pandas.Timestamp
    alpha : float
    """

    table: pd.DataFrame
    comparison: pd.DataFrame
    cutoff: pd.Timestamp
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The per-segment table (a copy)."""
        return self.table.copy()


def year_on_rows(ws: Workspace, cutoff, by: str) -> pd.DataFrame:
    """One row per customer (orders) and account (subscriptions) whose first year has passed.

    Columns ``by`` (a deal column such as segment or channel; missing reads
    ``unknown``), ``_still`` (1: a second order within the year, or the
    account not churned), ``_value`` (the first year's money) and
    ``_complete`` (that value is known: every order converted, the account's
    MRR known). The one definition of "a year on" for :func:`first_year` and
    :func:`analysis.after_close.lifetime.customer_value`.
    """
    parts = []
    cut = literal_time(cutoff)
    if ws.has(c.ORDERS):
        p = customer_rows(ws, cutoff)
        p = p.filter(plus_days(p._first, YEAR_DAYS) <= cut)
        parts.append(ws.execute(p.select(
            by, _still=(p._year_orders >= 2).cast("int64"),
            _value=p._year_money.cast("float64"), _complete=p._money_missing == 0,
        )))  # fmt: skip
    if ws.has(c.SUBSCRIPTIONS):
        a = account_rows(ws, cutoff)
        a = a.filter(a._observed)
        parts.append(ws.execute(a.select(
            by, _still=(~a._churn_h).cast("int64"), _value=a._year_value.cast("float64"),
            _complete=a._year_value.notnull(),
        )))  # fmt: skip
    columns = [by, "_still", "_value", "_complete"]
    rows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    rows[by] = rows[by].fillna(c.UNKNOWN)
    return rows


def first_year(
    ws: Workspace,
    a: str | None = None,
    b: str | None = None,
    *,
    as_of: object = None,
    alpha: float = 0.05,
) -> FirstYear:
    """Per segment: the share of customers still buying a year after the close, and their value.

    Parameters
    ----------
    ws : Workspace
        With ``orders`` and/or ``subscriptions``; the deals give the segment.
    a, b : str, optional
        The segments compared (``a - b``); default the two with most customers.
    as_of : timestamp, optional
    alpha : float

    Returns
    -------
    FirstYear

    Raises
    ------
    MissingInput
        With neither orders nor subscriptions.

    Notes
    -----
    Over customers whose first order (B2C) or subscription start (B2B) is
    at least 365 days before the cut-off. Segments ``a`` and ``b`` are
    compared: the share still buying by the score test and interval
    (:func:`analysis.stats.proportions.two_proportions`), the mean value by
    Welch's t-test and interval. Money figures leave out customers whose
    amounts could not be put in one currency.
    """
    require_post_sale(ws, "The first year after the close")
    cutoff = post_sale_cutoff(ws, as_of)
    rows = year_on_rows(ws, cutoff, c.SEGMENT)
    out = []
    for segment, part in rows.groupby(c.SEGMENT, sort=True):
        values = part.loc[part["_complete"], "_value"].astype(float)
        n, k = len(part), int(part["_still"].sum())
        rate, low, high = (float(v[0]) for v in rate_with_interval(k, n, alpha=alpha))
        mean, sd, m = values.mean(), values.std(), len(values)
        t = stats.t.ppf(1 - alpha / 2, m - 1) if m > 1 else np.nan
        half = t * sd / np.sqrt(m) if m > 1 else np.nan
        out.append({c.SEGMENT: segment, c.N_CUSTOMERS: n, STILL_BUYING: k,
                    STILL_BUYING_RATE: rate, c.RATE_CI_LOW: low, c.RATE_CI_HIGH: high,
                    c.VALUE_FIRST_YEAR: mean, c.VALUE_CI_LOW: mean - half,
                    c.VALUE_CI_HIGH: mean + half, "_sd": sd, "_m": m})  # fmt: skip
    table = pd.DataFrame(out)
    comparison = _compare(table, a, b, alpha)
    table = table.sort_values(c.N_CUSTOMERS, ascending=False) if len(table) else table
    return FirstYear(table.reindex(columns=_TABLE).reset_index(drop=True), comparison, cutoff,
                     alpha)  # fmt: skip


def _compare(table: pd.DataFrame, a: str | None, b: str | None, alpha: float) -> pd.DataFrame:
    if len(table) < 2:
        return pd.DataFrame(columns=_COMPARISON)
    by_name = table.set_index(c.SEGMENT, drop=False)
    if a in by_name.index and b in by_name.index and a != b:
        one, two = by_name.loc[a], by_name.loc[b]
    else:
        top = table.sort_values(c.N_CUSTOMERS, ascending=False).head(2)
        one, two = top.iloc[0], top.iloc[1]
    diff, low, high, p, _ = (np.atleast_1d(v) for v in two_proportions(
        one[STILL_BUYING], one[c.N_CUSTOMERS], two[STILL_BUYING], two[c.N_CUSTOMERS], alpha
    ))  # fmt: skip
    rows = [{c.MEASURE: STILL_BUYING_RATE, "a": one[c.SEGMENT], "b": two[c.SEGMENT],
             c.VALUE: one[STILL_BUYING_RATE], c.VALUE_REST: two[STILL_BUYING_RATE],
             c.DIFFERENCE: float(diff[0]), c.DIFF_CI_LOW: float(low[0]),
             c.DIFF_CI_HIGH: float(high[0]), c.P_VALUE: float(p[0])}]  # fmt: skip
    va, vb = one["_sd"] ** 2 / one["_m"], two["_sd"] ** 2 / two["_m"]
    se = np.sqrt(va + vb)
    welch_df = (va + vb) ** 2 / (va**2 / (one["_m"] - 1) + vb**2 / (two["_m"] - 1))
    d = one[c.VALUE_FIRST_YEAR] - two[c.VALUE_FIRST_YEAR]
    t = stats.t.ppf(1 - alpha / 2, welch_df)
    rows.append({c.MEASURE: c.VALUE_FIRST_YEAR, "a": one[c.SEGMENT], "b": two[c.SEGMENT],
                 c.VALUE: one[c.VALUE_FIRST_YEAR], c.VALUE_REST: two[c.VALUE_FIRST_YEAR],
                 c.DIFFERENCE: d, c.DIFF_CI_LOW: d - t * se, c.DIFF_CI_HIGH: d + t * se,
                 c.P_VALUE: float(2 * stats.t.sf(abs(d) / se, welch_df))})  # fmt: skip
    return pd.DataFrame(rows)[_COMPARISON]
