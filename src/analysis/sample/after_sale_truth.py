"""Truth of what happens after the close (``truth["after_sale"]``: repeat purchases,
revenue retention, onboarding).

Planted values come from :class:`~analysis.sample.after_sale_params.AfterSalePlan`
(``expected_*``: what the plan implies); realised values are counted from the
drawn rows, with times floored to the second as the tables show them, by the
definitions in ``truth["after_sale"]["definitions"]``, so an analysis of the
tables finds them exactly.
"""

from __future__ import annotations

import dataclasses
from math import comb

import numpy as np
from scipy import integrate, optimize, stats

from analysis.sample.after_sale_params import AfterSalePlan
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.frames import seconds
from analysis.sample.onboarding import BANDS, OnboardingDraws
from analysis.sample.orders import AFTER_SALE_STREAM, OrderDraws, second_order_chance
from analysis.sample.subscriptions import CHURN, SubscriptionDraws, churn_hazard

YEAR_DAYS = 365.0

DEFINITIONS = {
    "repeat_within_window": (
        "customers whose first order is at least window_days before the cutoff "
        "(observed); rate = those with a second order at most window_days after the "
        "first / observed"
    ),
    "retention_12_months": (
        "subscriptions that started at least 365 days before the cutoff (observed); "
        "mrr_12 = mrr_after of the account's last row at most 365 days after its 'new' "
        "row; grr = sum(min(mrr_12, mrr_start)) / sum(mrr_start), nrr = sum(mrr_12) / "
        "sum(mrr_start), each MRR in USD (times the deal's amount / amount_original)"
    ),
    "churn_12_months": (
        "observed subscriptions with a 'churn' row at most 365 days after the start / "
        "observed, by the discount on the 'new' row"
    ),
    "onboarding_time": (
        "per onboarding row, days from its deal's closed_at to go_live_at (an event) or, "
        "while go_live_at is null, to the cutoff (censored), in whole seconds / 86400; "
        "realised median = the Kaplan-Meier median: the smallest event time t with "
        "S(t) <= 0.5 (None if S stays above 0.5); kick-off to go-live likewise from "
        "kickoff_at, among rows with a kick-off; band 'large' = deals.amount above the "
        "(1 - large_deal_share) quantile (numpy linear) of the won B2B deals' amounts"
    ),
}


def expected_retention(plan: AfterSalePlan, hazard: float, expansion: float) -> dict:
    """Planted 12-month logo churn, GRR and NRR of one subscription (ratios of MRR).

    Notes
    -----
    The first year has ``renewal_months - 1`` ordinary months and the renewal
    month (churn only). With churn ``h``, expansion ``e``, contraction ``k``, the
    counts ``(E, C)`` of expansions and contractions of a survivor are multinomial
    over the 11 ordinary months, so ``E[min(1, MRR_12 / MRR_0)]`` is a finite sum.
    """
    m = plan.renewal_months - 1
    h, e, k = hazard, expansion, plan.contraction_per_month
    grow, shrink = 1.0 + plan.expansion_step, 1.0 - plan.contraction_step
    grr = 0.0
    for n_e in range(m + 1):
        for n_c in range(m + 1 - n_e):
            p = (
                comb(m, n_e)
                * comb(m - n_e, n_c)
                * e**n_e
                * k**n_c
                * (1 - h - e - k) ** (m - n_e - n_c)
            )
            grr += p * min(1.0, grow**n_e * shrink**n_c)
    survive = 1.0 - h
    return {
        "churn": 1.0 - survive**plan.renewal_months,
        "grr": survive * grr,
        "nrr": survive * (survive + e * plan.expansion_step - k * plan.contraction_step) ** m,
    }


def _repeat_truth(context: SampleContext, draws: SampleDraws, orders: OrderDraws) -> dict:
    plan, ap = context.plan, context.plan.after_sale
    window = int(round(ap.window_days * 86_400))
    cutoff = int(seconds(np.array([context.timeline.cutoff]))[0])
    customers = orders.customer_deals
    first = seconds(draws.journeys.closed[customers])
    # The second order of each customer (orders are in time order; the first is at the close).
    pos = np.searchsorted(customers, orders.deal)
    n_orders = np.bincount(pos, minlength=customers.size)
    second = np.full(customers.size, np.iinfo(np.int64).max)
    repeat = np.flatnonzero(~orders.first)
    rep_pos, rep_time = pos[repeat], seconds(orders.time[repeat])
    order = np.lexsort((rep_time, rep_pos))
    rep_pos, rep_time = rep_pos[order], rep_time[order]
    firsts = np.unique(rep_pos, return_index=True)[1]
    second[rep_pos[firsts]] = rep_time[firsts]
    observed = first <= cutoff - window
    back = second - first <= window
    source = draws.deals.source[customers]
    by_source = {}
    for j, src in enumerate(plan.source_odds):
        m = source == j
        n_obs, n_back = int((m & observed).sum()), int((m & observed & back).sum())
        by_source[src] = {
            "customers": int(m.sum()),
            "orders": int(n_orders[m].sum()),
            "never_return_drawn": int((orders.never & m).sum()),
            "planted_rate_factor": ap.repeat_source_factor[src],
            "expected_second_within_window": second_order_chance(ap, src, ap.window_days),
            "observed": n_obs,
            "second_within_window": n_back,
            "realised_second_within_window": n_back / n_obs if n_obs else None,
        }
    low = min(ap.repeat_source_factor, key=ap.repeat_source_factor.get)
    return {
        "customers": int(customers.size),
        "orders": int(orders.time.size),
        "repeat_orders": int(repeat.size),
        "window_days": ap.window_days,
        "low_repeat_channel": low,
        "by_source": by_source,
    }


def _retention_truth(context: SampleContext, draws: SampleDraws, subs: SubscriptionDraws) -> dict:
    plan, ap = context.plan, context.plan.after_sale
    year = int(round(YEAR_DAYS * 86_400))
    cutoff = int(seconds(np.array([context.timeline.cutoff]))[0])
    start = seconds(subs.start)
    observed = start <= cutoff - year
    to_usd = draws.deals.amount[subs.deal] / draws.deals.amount_original[subs.deal]
    # MRR 12 months on: the last row of each subscription within 365 days of its start.
    within = seconds(subs.row_time) - start[subs.row_sub] <= year
    rows = np.flatnonzero(within)
    rows = rows[np.lexsort((subs.row_month[rows], subs.row_sub[rows]))]
    is_last = np.ones(rows.size, dtype=bool)
    is_last[:-1] = subs.row_sub[rows][1:] != subs.row_sub[rows][:-1]
    last = rows[is_last]
    mrr12 = np.zeros(subs.deal.size)
    mrr12[subs.row_sub[last]] = subs.row_mrr_after[last]
    churned = np.zeros(subs.deal.size, dtype=bool)
    churned[subs.row_sub[rows][subs.row_change[rows] == CHURN]] = True
    start_usd, end_usd = subs.mrr0 * to_usd, mrr12 * to_usd

    def realised(m: np.ndarray) -> dict:
        m = m & observed
        base = float(start_usd[m].sum())
        return {
            "observed": int(m.sum()),
            "churned_12_months": int(churned[m].sum()),
            "mrr_start_usd": base,
            "mrr_12_months_usd": float(end_usd[m].sum()),
            "realised_grr": float(np.minimum(end_usd, start_usd)[m].sum() / base) if base else None,
            "realised_nrr": float(end_usd[m].sum() / base) if base else None,
        }

    levels = np.array(list(ap.discount_levels), dtype=float)
    weights = np.array(list(ap.discount_levels.values()), dtype=float)
    weights = weights / weights.sum()
    regions = list(plan.region_mix)
    region = draws.deals.region[subs.deal]
    by_region = {}
    for r, name in enumerate(regions):
        e = ap.expansion_per_month[name]
        cells = [expected_retention(ap, float(churn_hazard(ap, d)), e) for d in levels]
        by_region[name] = {
            "subscriptions": int((region == r).sum()),
            "planted_expansion_per_month": e,
            "expected_grr": float(sum(w * x["grr"] for w, x in zip(weights, cells, strict=True))),
            "expected_nrr": float(sum(w * x["nrr"] for w, x in zip(weights, cells, strict=True))),
            **realised(region == r),
        }
    by_discount = {}
    for d in levels:
        m = np.isclose(subs.discount, d)
        h = float(churn_hazard(ap, d))
        n_obs = int((m & observed).sum())
        by_discount[f"{d:g}"] = {
            "subscriptions": int(m.sum()),
            "planted_churn_per_month": h,
            "expected_churn_12_months": 1.0 - (1.0 - h) ** ap.renewal_months,
            **realised(m),
            "realised_churn_12_months": int(churned[m & observed].sum()) / n_obs if n_obs else None,
        }
    fast = max(ap.expansion_per_month, key=ap.expansion_per_month.get)
    return {
        "subscriptions": int(subs.deal.size),
        "rows": int(subs.row_time.size),
        "faster_expansion_region": fast,
        "grouping": "region of the account's first won B2B deal (deals.region)",
        "deep_discount": ap.deep_discount,
        "by_region": by_region,
        "by_discount": by_discount,
        "all": realised(np.ones(subs.deal.size, dtype=bool)),
    }


def km_median(durations: np.ndarray, events: np.ndarray) -> float | None:
    """Kaplan-Meier median of right-censored durations: the smallest event time ``t``
    with ``S(t) <= 0.5``; None when the curve stays above one half."""
    durations = np.asarray(durations)
    events = np.asarray(events, dtype=bool)
    times, deaths = np.unique(durations[events], return_counts=True)
    at_risk = durations.size - np.searchsorted(np.sort(durations), times, side="left")
    survival = np.cumprod(1.0 - deaths / at_risk)
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if below.size else None


def expected_won_to_go_live_median(plan: AfterSalePlan, go_live_median: float) -> float:
    """Planted median days from the close to the go-live: of ``K + L``, the gamma
    kick-off delay plus the lognormal kick-off-to-go-live time (numerical convolution)."""
    k = plan.kickoff_shape
    kick = stats.gamma(k, scale=plan.kickoff_mean_days / k)
    live = stats.lognorm(plan.go_live_sigma, scale=go_live_median)

    def cdf(t: float) -> float:
        return integrate.quad(lambda g: kick.pdf(g) * live.cdf(t - g), 0.0, t, limit=200)[0]

    high = kick.ppf(0.999) + live.ppf(0.999)
    return float(optimize.brentq(lambda t: cdf(t) - 0.5, 0.0, high, xtol=1e-9))


def _onboarding_truth(context: SampleContext, onboarding: OnboardingDraws) -> dict:
    ap = context.plan.after_sale
    day = 86_400.0
    cutoff = int(seconds(np.array([context.timeline.cutoff]))[0])
    close, kick = seconds(onboarding.closed), seconds(onboarding.kickoff)
    live = seconds(onboarding.go_live)
    event = onboarding.live
    end = np.where(event, live, cutoff)
    medians = ap.go_live_medians()

    def realised(m: np.ndarray) -> dict:
        kicked = m & onboarding.kickoff_known
        won_km = km_median((end - close)[m] / day, event[m])
        kick_km = km_median((end - kick)[kicked] / day, event[kicked])
        return {
            "rows": int(m.sum()),
            "kicked_off": int(kicked.sum()),
            "live_by_cutoff": int((m & event).sum()),
            "not_yet_live": int((m & ~event).sum()),
            "realised_km_median_days_won_to_go_live": won_km,
            "realised_km_median_days_kickoff_to_go_live": kick_km,
        }

    by_band = {
        name: {
            "planted_median_days_kickoff_to_go_live": medians[name],
            "expected_median_days_won_to_go_live": expected_won_to_go_live_median(
                ap, medians[name]
            ),
            **realised(onboarding.band == b),
        }
        for b, name in enumerate(BANDS)
    }
    return {
        "large_deal_share": ap.large_deal_share,
        "large_deal_threshold_usd": onboarding.threshold_usd,
        "grouping": (
            "deal size: 'large' when deals.amount (USD) is above the threshold, the "
            "(1 - large_deal_share) quantile of the won B2B deals' amounts"
        ),
        "planted_kickoff_mean_days": ap.kickoff_mean_days,
        **realised(np.ones(onboarding.deal.size, dtype=bool)),
        "by_band": by_band,
    }


def after_sale_truth(
    context: SampleContext,
    draws: SampleDraws,
    orders: OrderDraws,
    subs: SubscriptionDraws,
    onboarding: OnboardingDraws,
) -> dict:
    """``truth["after_sale"]``: the planted plan and what it realised."""
    return {
        "after_sale": {
            "stream": [AFTER_SALE_STREAM],
            "planted": {
                **dataclasses.asdict(context.plan.after_sale),
                "discount_levels": {
                    f"{k:g}": v for k, v in context.plan.after_sale.discount_levels.items()
                },
            },
            "definitions": DEFINITIONS,
            "repeat_purchase": _repeat_truth(context, draws, orders),
            "revenue_retention": _retention_truth(context, draws, subs),
            "onboarding": _onboarding_truth(context, onboarding),
        }
    }
