"""B2B onboarding after the close (``onboarding``): kick-off and go-live.

Every B2B subscription (:func:`~analysis.sample.subscriptions.first_won_b2b`: an
account's first won B2B deal) has one onboarding row: ``deal_id`` = the deal,
``customer_id`` = its account. The kick-off is ``close + K`` with ``K`` gamma
(mean ``kickoff_mean_days``, shape ``kickoff_shape``); the go-live is
``kick-off + L`` with ``log L`` normal around ``log(median)``, standard
deviation ``go_live_sigma``. The median is ``go_live_median_days``, times
``large_deal_go_live_factor`` for a large deal: one whose amount (USD) is above
the ``1 - large_deal_share`` quantile of the amounts of all won B2B deals (by
default the top third take twice as long: 60 days against 30).

The export is a snapshot at the cutoff. An onboarding project is opened at the
close, so every subscription has its row, even one won just before the cutoff;
a milestone at or after the cutoff has not happened yet and is left null (a
kick-off not yet held leaves both null; a go-live not yet reached leaves
``go_live_at`` null). So ``go_live_at`` is right-censored at the cutoff, and
time from won to go-live is measured with survival methods
(``truth["after_sale"]["onboarding"]``).

Rows are in the order of the subscriptions: by close time. Draws come from the
after-sale stream (:data:`~analysis.sample.orders.AFTER_SALE_STREAM`) after the
orders' and the subscriptions', one kick-off delay then one normal deviate per
subscription, so adding them changed no other table for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.core import columns as c
from analysis.sample import frames as f
from analysis.sample.after_sale_params import LARGE, STANDARD, AfterSalePlan
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import WON_CODE
from analysis.sample.subscriptions import SubscriptionDraws

BANDS = (STANDARD, LARGE)


@dataclass(frozen=True)
class OnboardingDraws:
    """Per subscription (``deal``, by close) its size band (index into :data:`BANDS`),
    the close, the kick-off and the go-live in float days since the origin (drawn
    whatever the cutoff; ``kickoff_known`` and ``live`` say which are before it)."""

    deal: np.ndarray
    band: np.ndarray
    threshold_usd: float | None
    closed: np.ndarray
    kickoff: np.ndarray
    go_live: np.ndarray
    kickoff_known: np.ndarray
    live: np.ndarray


def large_deal_threshold(
    plan: AfterSalePlan, context: SampleContext, draws: SampleDraws
) -> float | None:
    """USD amount above which a won B2B deal is large (None without won B2B deals)."""
    b2b = list(context.plan.segments).index(c.B2B)
    won = (draws.journeys.outcome == WON_CODE) & (draws.deals.segment == b2b)
    if not won.any():
        return None
    return float(np.quantile(draws.deals.amount[won], 1.0 - plan.large_deal_share))


def draw_onboarding(
    rng: np.random.Generator,
    context: SampleContext,
    draws: SampleDraws,
    subs: SubscriptionDraws,
) -> OnboardingDraws:
    """Draw kick-off and go-live of each subscription (after the subscriptions' draws)."""
    ap, cutoff = context.plan.after_sale, context.timeline.cutoff
    deal = subs.deal
    n = deal.size
    threshold = large_deal_threshold(ap, context, draws)
    band = np.zeros(n, dtype=np.int64)
    if threshold is not None:
        band[draws.deals.amount[deal] > threshold] = BANDS.index(LARGE)
    medians = ap.go_live_medians()
    median = np.array([medians[b] for b in BANDS])[band]
    k = ap.kickoff_shape
    kickoff = subs.start + rng.gamma(k, ap.kickoff_mean_days / k, size=n)
    go_live = kickoff + median * np.exp(ap.go_live_sigma * rng.standard_normal(n))
    return OnboardingDraws(
        deal=deal,
        band=band,
        threshold_usd=threshold,
        closed=subs.start,
        kickoff=kickoff,
        go_live=go_live,
        kickoff_known=kickoff < cutoff,
        live=go_live < cutoff,
    )


def onboarding_table(
    context: SampleContext, onboarding: OnboardingDraws, deals: pd.DataFrame
) -> pd.DataFrame:
    """The canonical ``onboarding`` table, by close (``deals``: the deals table, whose
    ``account_id`` is the customer); milestones not reached by the cutoff are null."""
    account_ids = pa.array(deals[c.ACCOUNT_ID].to_numpy(dtype=object), type=pa.string())
    kickoff = np.where(onboarding.kickoff_known, onboarding.kickoff, np.nan)
    go_live = np.where(onboarding.live, onboarding.go_live, np.nan)
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(context.deal_ids, onboarding.deal),
            c.CUSTOMER_ID: f.take_strings(account_ids, onboarding.deal),
            c.KICKOFF_AT: f.timestamps(context.origin, kickoff),
            c.GO_LIVE_AT: f.timestamps(context.origin, go_live),
        }
    )
