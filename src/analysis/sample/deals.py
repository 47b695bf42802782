"""Deal attributes known at creation: when, who, how big, how well qualified.

All arrays are indexed by deal in creation order (deal ids increase with
``created_at``, as in a CRM). Times are float days since the start of the
history.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.core import columns as c
from analysis.sample.context import SampleContext
from analysis.sample.frames import categorical_draw
from analysis.sample.params import Plan
from analysis.sample.reps import RepRoster, assign_owners

QUAL_FLAGS = (c.QUAL_BUDGET, c.QUAL_AUTHORITY, c.QUAL_NEED, c.QUAL_TIMELINE)


@dataclass(frozen=True)
class DealDraws:
    """Per-deal draws (numpy arrays, one entry per deal).

    ``segment``, ``source``, ``region``, ``product``, ``competitor`` and
    ``currency`` are indices into the plan's keys (competitor -1 = none);
    ``qual`` is a (deals, 4) boolean matrix in :data:`QUAL_FLAGS` order.
    """

    created: np.ndarray
    segment: np.ndarray
    source: np.ndarray
    region: np.ndarray
    owner: np.ndarray
    n_dm: np.ndarray
    qual: np.ndarray
    fit: np.ndarray
    lead_score: np.ndarray
    competitor: np.ndarray
    product: np.ndarray
    account: np.ndarray
    currency: np.ndarray
    amount_original: np.ndarray
    amount: np.ndarray
    email_variant_b: np.ndarray
    dm_reference: np.ndarray


def _creation_days(
    rng: np.random.Generator, plan: Plan, weekday: np.ndarray, month: np.ndarray, is_b2b: np.ndarray
) -> np.ndarray:
    """Creation times: linear growth, weekly pattern and a December dip, business hours.

    Parameters
    ----------
    weekday, month : numpy arrays of int
        Weekday (Monday = 0) and calendar month of each day of the history.

    Notes
    -----
    Day ``d`` of the history has intensity
    ``(1 + growth * d / D) * w(weekday) * (0.75 if December else 1)`` where
    ``w`` is 1 on weekdays and the segment's ``weekend_factor`` on weekends.
    B2B times of day are normal around 15:00 UTC (sd 2.5 h), B2C uniform.
    """
    days = np.arange(plan.history_days)
    base = (1.0 + plan.growth * days / plan.history_days) * np.where(month == 12, 0.75, 1.0)
    out = np.empty(is_b2b.shape, dtype=float)
    for seg, mask in ((c.B2B, is_b2b), (c.B2C, ~is_b2b)):
        seg_plan = plan.segments[seg]
        w = base * np.where(weekday >= 5, seg_plan.weekend_factor, 1.0)
        n = int(mask.sum())
        day = rng.choice(plan.history_days, size=n, p=w / w.sum())
        if seg == c.B2B:
            hour = np.clip(rng.normal(15.0, 2.5, size=n), 0.0, 23.99) / 24.0
        else:
            hour = rng.random(n)
        out[mask] = day + hour
    return out


def draw_deals(rng: np.random.Generator, context: SampleContext, roster: RepRoster) -> DealDraws:
    """Draw every per-deal attribute, in creation order (see :func:`_creation_days`)."""
    plan, n_deals = context.plan, context.n_deals
    seg_keys = list(plan.segments)
    b2b_index = seg_keys.index(c.B2B)
    segment = np.where(rng.random(n_deals) < plan.segments[c.B2B].share, b2b_index, 1 - b2b_index)
    created = _creation_days(
        rng, plan, context.history_weekday, context.history_month, segment == b2b_index
    )
    order = np.argsort(created, kind="stable")
    created, segment = created[order], segment[order]

    sources = list(plan.source_odds)
    source = np.empty(n_deals, dtype=np.int64)
    n_dm = np.empty(n_deals, dtype=np.int64)
    dm_ref = np.empty(n_deals, dtype=np.int64)
    qual = np.empty((n_deals, len(QUAL_FLAGS)), dtype=bool)
    has_competitor = np.empty(n_deals, dtype=bool)
    product = np.empty(n_deals, dtype=np.int64)
    log_amount = np.empty(n_deals, dtype=float)
    for s, seg in enumerate(seg_keys):
        seg_plan = plan.segments[seg]
        m = segment == s
        k = int(m.sum())
        mix = np.array([seg_plan.source_mix[name] for name in sources])
        source[m] = categorical_draw(rng, mix, k)
        n_dm[m] = seg_plan.dm_min + rng.binomial(
            seg_plan.dm_extra_trials, seg_plan.dm_extra_p, size=k
        )
        dm_ref[m] = seg_plan.dm_reference
        for flag_index, flag in enumerate(QUAL_FLAGS):
            qual[m, flag_index] = rng.random(k) < seg_plan.qual_prevalence[flag]
        has_competitor[m] = rng.random(k) < seg_plan.competitor_share
        product[m] = categorical_draw(rng, seg_plan.products, k)
        log_amount[m] = (
            np.log(seg_plan.amount_median)
            + seg_plan.amount_sigma * rng.standard_normal(k)
            + plan.dm_log_amount * (n_dm[m] - seg_plan.dm_reference)
        )

    region = categorical_draw(rng, plan.region_mix, n_deals)
    owner = assign_owners(
        rng, roster, np.array(seg_keys)[segment], np.array(list(plan.region_mix))[region], created
    )
    fit = rng.standard_normal(n_deals)
    offsets = np.array([plan.lead_score_source_offset[name] for name in sources])
    score = (
        plan.lead_score_center
        + plan.lead_score_per_sd * fit
        + offsets[source]
        + rng.normal(0.0, plan.lead_score_noise_sd, size=n_deals)
    )
    lead_score = np.clip(np.round(score), 0.0, 100.0)
    competitor_pick = categorical_draw(rng, plan.competitors, n_deals)
    competitor = np.where(has_competitor, competitor_pick, -1)

    # B2B deals share accounts (several deals per company); B2C accounts are households.
    is_b2b = segment == b2b_index
    n_accounts = max(1, int(np.ceil(is_b2b.sum() / plan.deals_per_b2b_account)))
    account = np.where(is_b2b, rng.integers(0, n_accounts, size=n_deals), -1)

    currencies = list(plan.rates_to_usd)
    emea = np.array(list(plan.region_mix))[region] == "EMEA"
    emea_mix = np.array([plan.currency_mix_emea.get(cur, 0.0) for cur in currencies])
    currency = np.where(emea, categorical_draw(rng, emea_mix, n_deals), currencies.index("USD"))
    rates = np.array([plan.rates_to_usd[cur] for cur in currencies])
    amount_original = np.round(np.exp(log_amount) / rates[currency], 2)
    amount = np.round(amount_original * rates[currency], 2)
    email_variant_b = rng.random(n_deals) < 0.5
    return DealDraws(
        created=created,
        segment=segment,
        source=source,
        region=region,
        owner=owner,
        n_dm=n_dm,
        qual=qual,
        fit=fit,
        lead_score=lead_score,
        competitor=competitor,
        product=product,
        account=account,
        currency=currency,
        amount_original=amount_original,
        amount=amount,
        email_variant_b=email_variant_b,
        dm_reference=dm_ref,
    )
