"""Monthly sales and marketing spend by channel (the lead sources).

Spend follows deal volume: each month and channel costs the number of deals
created there times a planted cost per deal (by segment), times lognormal
noise. Paid and events leads are expensive to acquire, referrals cheap,
outbound mostly sales time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample.context import SampleContext
from analysis.sample.deals import DealDraws

# Cost per created deal (USD) by segment and channel.
MARKETING_PER_DEAL = {
    c.B2B: {"inbound": 150.0, "outbound": 40.0, "referral": 60.0, "paid": 400.0, "events": 600.0},
    c.B2C: {"inbound": 8.0, "outbound": 5.0, "referral": 4.0, "paid": 25.0, "events": 30.0},
}
SALES_PER_DEAL = {
    c.B2B: {"inbound": 300.0, "outbound": 700.0, "referral": 200.0, "paid": 300.0, "events": 400.0},
    c.B2C: {"inbound": 15.0, "outbound": 40.0, "referral": 10.0, "paid": 15.0, "events": 20.0},
}
NOISE_SIGMA = 0.08


def monthly_spend(
    rng: np.random.Generator, context: SampleContext, deals: DealDraws
) -> pd.DataFrame:
    """The spend table: one row per month start (``context.month_starts``) and channel.

    Notes
    -----
    ``cost[m, ch] = sum_seg n_deals[m, ch, seg] * cost_per_deal[seg, ch] * exp(e)``,
    ``e ~ N(0, NOISE_SIGMA^2)`` independently for sales and marketing, rounded to cents.
    """
    plan, months = context.plan, context.month_starts
    created_month = context.history_month_index[np.floor(deals.created).astype(np.int64)]
    channels = list(plan.source_odds)
    n_m, n_ch = months.size, len(channels)
    marketing = np.zeros((n_m, n_ch))
    sales = np.zeros((n_m, n_ch))
    for s, seg in enumerate(plan.segments):
        m = deals.segment == s
        counts = np.zeros((n_m, n_ch))
        np.add.at(counts, (created_month[m], deals.source[m]), 1.0)
        marketing += counts * np.array([MARKETING_PER_DEAL[seg][ch] for ch in channels])
        sales += counts * np.array([SALES_PER_DEAL[seg][ch] for ch in channels])
    marketing *= np.exp(rng.normal(0.0, NOISE_SIGMA, size=marketing.shape))
    sales *= np.exp(rng.normal(0.0, NOISE_SIGMA, size=sales.shape))
    period = np.repeat(months.to_numpy(), n_ch)
    return pd.DataFrame(
        {
            c.PERIOD: pd.Series(period).astype(pd.DatetimeTZDtype(unit="us", tz="UTC")),
            c.CHANNEL: pd.Series(np.tile(np.array(channels, dtype=object), n_m), dtype="str"),
            c.SALES_COST: np.round(sales.ravel(), 2),
            c.MARKETING_COST: np.round(marketing.ravel(), 2),
        }
    )


def spend_truth() -> dict:
    """The planted cost parameters (JSON-ready)."""
    return {
        "marketing_cost_per_deal": MARKETING_PER_DEAL,
        "sales_cost_per_deal": SALES_PER_DEAL,
        "noise": f"lognormal multiplier, sigma {NOISE_SIGMA}, per month, channel and cost type",
        "formula": "cost[month, channel] = sum over segments of deals created * cost per deal",
    }
