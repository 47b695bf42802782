"""B2B recurring revenue after the close (``subscriptions``).

An account's subscription starts at the close of its first won B2B deal: a
"new" row (``deal_id`` = the deal, ``mrr_before`` 0, ``mrr_after`` = the deal's
amount / 12 in its own currency, ``discount`` = the deal's discount, drawn
from ``discount_levels``). Later won deals of the same account add no rows.

Then month ``m = 1, 2, ...`` of the subscription draws one uniform ``u``:
churn when ``u < h`` (``h = churn_per_month``, times
``deep_discount_churn_factor`` when the discount is at least
``deep_discount``; MRR to 0 and no further rows); otherwise, in a renewal month
(every ``renewal_months``) a "renewal" row with MRR unchanged; otherwise an
expansion when ``u < h + e`` (``e = expansion_per_month[region]``, MRR times
``1 + expansion_step``), a contraction when ``u < h + e + contraction_per_month``
(MRR times ``1 - contraction_step``), else no row. Renewals take effect at
exactly ``m`` months after the start, the other changes at a uniform moment
inside month ``m`` (kept away from its ends), so every change of the first
year is at most 365 days after the start. Rows at or after the cutoff are not
written. MRR is rounded to cents and each row's ``mrr_before`` is the previous
row's ``mrr_after`` of the account.

Draws come after the B2C orders from the after-sale stream
(:data:`~analysis.sample.orders.AFTER_SALE_STREAM`); the onboarding's come after
these (:mod:`analysis.sample.onboarding`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.core import columns as c
from analysis.sample import frames as f
from analysis.sample.after_sale_params import MONTH_DAYS, AfterSalePlan
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import WON_CODE

NONE, NEW, EXPANSION, CONTRACTION, CHURN, RENEWAL = -1, 0, 1, 2, 3, 4
CHANGE_CODES = {
    NEW: c.CHANGE_NEW,
    EXPANSION: c.CHANGE_EXPANSION,
    CONTRACTION: c.CHANGE_CONTRACTION,
    CHURN: c.CHANGE_CHURN,
    RENEWAL: c.CHANGE_RENEWAL,
}


@dataclass(frozen=True)
class SubscriptionDraws:
    """Per subscription (``deal``: the account's first won B2B deal, by close) its
    start, discount and monthly churn hazard, and the change rows in time order
    (``row_sub`` indexes the subscriptions; ``row_month`` is 0 for "new")."""

    deal: np.ndarray
    start: np.ndarray
    mrr0: np.ndarray
    discount: np.ndarray
    hazard: np.ndarray
    expansion: np.ndarray
    row_sub: np.ndarray
    row_month: np.ndarray
    row_time: np.ndarray
    row_change: np.ndarray
    row_mrr_before: np.ndarray
    row_mrr_after: np.ndarray


def churn_hazard(plan: AfterSalePlan, discount: np.ndarray | float) -> np.ndarray:
    """Planted monthly churn chance at each discount."""
    deep = np.asarray(discount) >= plan.deep_discount - 1e-12
    return plan.churn_per_month * np.where(deep, plan.deep_discount_churn_factor, 1.0)


def expansion_by_region(context: SampleContext) -> np.ndarray:
    """Planted monthly expansion chance of each region of ``plan.region_mix``."""
    ap, regions = context.plan.after_sale, list(context.plan.region_mix)
    missing = [r for r in regions if r not in ap.expansion_per_month]
    if missing:
        raise ValueError(
            f"AfterSalePlan.expansion_per_month has no value for regions {missing}; "
            "give one for every region of Plan.region_mix."
        )
    return np.array([ap.expansion_per_month[r] for r in regions])


def first_won_b2b(context: SampleContext, draws: SampleDraws) -> np.ndarray:
    """Each account's first won B2B deal (by close time, then deal order), by close."""
    b2b = list(context.plan.segments).index(c.B2B)
    won = np.flatnonzero((draws.journeys.outcome == WON_CODE) & (draws.deals.segment == b2b))
    won = won[np.argsort(draws.journeys.closed[won], kind="stable")]
    _, first = np.unique(draws.deals.account[won], return_index=True)
    return won[np.sort(first)]


def draw_subscriptions(
    rng: np.random.Generator, context: SampleContext, draws: SampleDraws
) -> SubscriptionDraws:
    """Draw the B2B subscriptions and their monthly changes up to the cutoff."""
    ap, cutoff = context.plan.after_sale, context.timeline.cutoff
    deal = first_won_b2b(context, draws)
    n = deal.size
    levels = np.array(list(ap.discount_levels), dtype=float)
    discount = levels[f.categorical_draw(rng, ap.discount_levels, n)]
    start = draws.journeys.closed[deal]
    mrr0 = np.round(draws.deals.amount_original[deal] / 12.0, 2)
    hazard = churn_hazard(ap, discount)
    expansion = expansion_by_region(context)[draws.deals.region[deal]]

    months = np.ceil(np.maximum(cutoff - start, 0.0) / MONTH_DAYS).astype(np.int64)
    sub = np.repeat(np.arange(n), months)
    offsets = np.cumsum(months) - months
    month = np.arange(sub.size) - offsets[sub] + 1
    u = rng.random(sub.size)
    inside = 0.02 + 0.96 * rng.random(sub.size)

    renewal_month = month % ap.renewal_months == 0
    h, e = hazard[sub], expansion[sub]
    change = np.full(sub.size, NONE)
    grow = ~renewal_month & (u >= h) & (u < h + e)
    shrink = ~renewal_month & (u >= h + e) & (u < h + e + ap.contraction_per_month)
    change[grow] = EXPANSION
    change[shrink] = CONTRACTION
    change[renewal_month & (u >= h)] = RENEWAL
    churn = u < h
    change[churn] = CHURN
    # Months after the churn month are not lived: churns before this month, per subscription.
    churned = np.cumsum(churn) - churn
    churned_before = churned - churned[offsets[sub]] if sub.size else churned
    lived = churned_before == 0
    step = np.where(grow, np.log1p(ap.expansion_step), 0.0)
    step = np.where(shrink, np.log1p(-ap.contraction_step), step)
    level = np.cumsum(step)
    level = level - (level[offsets[sub]] - step[offsets[sub]]) if sub.size else level
    mrr = np.where(churn, 0.0, np.round(mrr0[sub] * np.exp(level), 2))
    time = start[sub] + np.where(renewal_month, month, month - 1 + inside) * MONTH_DAYS

    keep = lived & (change != NONE) & (time < cutoff)
    rows_sub = np.concatenate([np.arange(n), sub[keep]])
    rows_month = np.concatenate([np.zeros(n, dtype=np.int64), month[keep]])
    rows_time = np.concatenate([start, time[keep]])
    rows_change = np.concatenate([np.full(n, NEW), change[keep]])
    rows_after = np.concatenate([mrr0, mrr[keep]])
    by_sub = np.lexsort((rows_month, rows_sub))
    before = np.zeros(by_sub.size)
    same = rows_sub[by_sub][1:] == rows_sub[by_sub][:-1]
    before[1:] = np.where(same, rows_after[by_sub][:-1], 0.0)
    rows_before = np.empty_like(before)
    rows_before[by_sub] = before
    order = np.lexsort((rows_month, rows_sub, rows_time))  # by time, then account
    return SubscriptionDraws(
        deal=deal,
        start=start,
        mrr0=mrr0,
        discount=discount,
        hazard=hazard,
        expansion=expansion,
        row_sub=rows_sub[order],
        row_month=rows_month[order],
        row_time=rows_time[order],
        row_change=rows_change[order],
        row_mrr_before=rows_before[order],
        row_mrr_after=rows_after[order],
    )


def subscriptions_table(
    context: SampleContext, draws: SampleDraws, subs: SubscriptionDraws, deals: pd.DataFrame
) -> pd.DataFrame:
    """The canonical ``subscriptions`` table, in time order (``deals``: the deals table,
    whose ``account_id`` is the customer)."""
    deal = subs.deal[subs.row_sub]
    new = subs.row_change == NEW
    account_ids = pa.array(deals[c.ACCOUNT_ID].to_numpy(dtype=object), type=pa.string())
    return pd.DataFrame(
        {
            c.CUSTOMER_ID: f.take_strings(account_ids, deal),
            c.DEAL_ID: f.take_strings(context.deal_ids, deal, missing=~new),
            c.EFFECTIVE_AT: f.timestamps(context.origin, subs.row_time),
            c.MRR_BEFORE: f.floats(subs.row_mrr_before),
            c.MRR_AFTER: f.floats(subs.row_mrr_after),
            c.CHANGE_TYPE: f.codes([CHANGE_CODES[k] for k in range(5)], subs.row_change),
            c.DISCOUNT: f.floats(subs.discount[subs.row_sub], missing=~new),
            c.CURRENCY: f.codes(list(context.plan.rates_to_usd), draws.deals.currency[deal]),
        }
    )
