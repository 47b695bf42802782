"""B2C repeat purchases after the close (``orders``).

Every won B2C deal makes a new customer (``customer_id`` = ``"C-"`` + the deal id)
whose first order is placed at the deal's close (``deal_id`` = the deal, its
amount, currency and product). The customer then never orders again with
probability ``never_return``; otherwise orders arrive as a Poisson process with
the customer's own rate ``lambda ~ Gamma(shape k, mean repeat_rate_per_day) *
repeat_source_factor[source]`` (``source`` = the deal's lead source), so gaps are
exponential. Orders at or after the cutoff are not written (a customer not yet
back is censored). Repeat orders carry no deal; their amount is the first
order's times a lognormal factor and their product is drawn from the B2C mix.

The chance of a second order within ``t`` days of the first is
``(1 - never_return) * (1 - (1 + theta * f * t) ** -k)`` with
``theta = repeat_rate_per_day / k`` and ``f`` the source factor (the Laplace
transform of the gamma distribution), recorded in ``truth["after_sale"]``.

Everything here comes from the after-sale stream
``default_rng([seed, AFTER_SALE_STREAM])``, drawn after and apart from the rest
of the sample, B2C orders first, then B2B subscriptions, then their onboarding
(:mod:`analysis.sample.onboarding`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample import frames as f
from analysis.sample.after_sale_params import AfterSalePlan
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import WON_CODE

AFTER_SALE_STREAM = 0x6166746572  # "after"


@dataclass(frozen=True)
class OrderDraws:
    """Orders in time order (float days since the origin) and each customer's draws.

    ``deal`` is the won B2C deal of the customer who placed the order; ``first``
    marks the order at the close; ``product`` indexes the B2C products.
    """

    deal: np.ndarray
    time: np.ndarray
    first: np.ndarray
    amount: np.ndarray
    product: np.ndarray
    customer_deals: np.ndarray  # the won B2C deals, one customer each
    never: np.ndarray  # per customer
    rate: np.ndarray  # per customer, orders per day when returning


def second_order_chance(plan: AfterSalePlan, source: str, days: float) -> float:
    """Planted chance that a customer of ``source`` orders again within ``days``."""
    k = plan.repeat_rate_shape
    theta = plan.repeat_rate_per_day / k * plan.repeat_source_factor[source]
    return (1.0 - plan.never_return) * (1.0 - (1.0 + theta * days) ** -k)


def b2c_customers(context: SampleContext, draws: SampleDraws) -> np.ndarray:
    """The won B2C deals, in deal order: one customer each."""
    b2c = list(context.plan.segments).index(c.B2C)
    won = draws.journeys.outcome == WON_CODE
    return np.flatnonzero(won & (draws.deals.segment == b2c))


def draw_orders(rng: np.random.Generator, context: SampleContext, draws: SampleDraws) -> OrderDraws:
    """Draw the B2C orders (the first draws of the after-sale stream)."""
    plan, ap = context.plan, context.plan.after_sale
    deals, cutoff = draws.deals, context.timeline.cutoff
    customers = b2c_customers(context, draws)
    n = customers.size
    factor = np.array([ap.repeat_source_factor[s] for s in plan.source_odds])
    never = rng.random(n) < ap.never_return
    k = ap.repeat_rate_shape
    rate = rng.gamma(k, ap.repeat_rate_per_day / k, size=n) * factor[deals.source[customers]]
    start = draws.journeys.closed[customers]

    who, when = [np.arange(n)], [start]
    active = np.flatnonzero(~never)
    t = start.copy()
    while active.size:
        t[active] = t[active] + rng.exponential(1.0, size=active.size) / rate[active]
        active = active[t[active] < cutoff]
        who.append(active)
        when.append(t[active])
    who_all, time = np.concatenate(who), np.concatenate(when)
    first = np.zeros(time.size, dtype=bool)
    first[:n] = True

    order = np.lexsort((who_all, time))  # by time, ties by customer
    who_all, time, first = who_all[order], time[order], first[order]
    b2c = plan.segments[c.B2C]
    repeat = ~first
    multiplier = np.exp(
        rng.normal(ap.repeat_amount_log_mean, ap.repeat_amount_log_sd, size=int(repeat.sum()))
    )
    original = deals.amount_original[customers[who_all]]
    amount = original.copy()
    amount[repeat] = np.round(original[repeat] * multiplier, 2)
    product = deals.product[customers[who_all]].copy()
    product[repeat] = f.categorical_draw(rng, b2c.products, int(repeat.sum()))
    return OrderDraws(
        deal=customers[who_all],
        time=time,
        first=first,
        amount=amount,
        product=product,
        customer_deals=customers,
        never=never,
        rate=rate,
    )


def customer_ids(context: SampleContext, deal: np.ndarray) -> pd.Series:
    """Customer ids ``C-<deal id>`` of the customers won by ``deal``."""
    ids = f.take_strings(context.deal_ids, deal)
    return "C-" + ids


def orders_table(context: SampleContext, draws: SampleDraws, orders: OrderDraws) -> pd.DataFrame:
    """The canonical ``orders`` table, in time order (ids ``O000001`` ...)."""
    plan = context.plan
    n = orders.time.size
    products = list(plan.segments[c.B2C].products)
    return pd.DataFrame(
        {
            c.ORDER_ID: pd.Series(f.prefixed_ids("O", n), dtype="str"),
            c.CUSTOMER_ID: customer_ids(context, orders.deal),
            c.DEAL_ID: f.take_strings(context.deal_ids, orders.deal, missing=~orders.first),
            c.ORDERED_AT: f.timestamps(context.origin, orders.time),
            c.AMOUNT: f.floats(orders.amount),
            c.CURRENCY: f.codes(list(plan.rates_to_usd), draws.deals.currency[orders.deal]),
            c.PRODUCT: f.codes(products, orders.product),
        }
    )
