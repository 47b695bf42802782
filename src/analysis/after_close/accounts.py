"""One row per subscribing account, in the engine: start, MRR then and a horizon later, changes.

Shared by :mod:`.retention` (GRR, NRR, churn, expansion, renewal) and
:mod:`.value` / :mod:`.lifetime` (value a year after the close).
"""

from __future__ import annotations

import ibis

from analysis.after_close import columns as c
from analysis.after_close.rows import (
    DEAL_KEYS,
    MONTH_DAYS,
    YEAR_DAYS,
    as_timestamp,
    deal_facts,
    literal_time,
    money_rate,
    plus_days,
)
from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.durations import seconds_between
from analysis.engine.workspace import Workspace

# Groups an account can be cut by: its start's period, the discount it was sold at,
# and the attributes of the deal that started it.
ACCOUNT_KEYS = (c.COHORT, c.DISCOUNT, *DEAL_KEYS)


def subscription_rows(ws: Workspace, cutoff) -> ibis.Table:
    """Subscription changes up to the cut-off, MRR in the reporting currency.

    Columns ``_customer, _at, _type, _before, _after`` (null where not
    comparable), ``_deal, _discount``.
    """
    s = ws.subscriptions
    deal = s[c.DEAL_ID].cast("string") if c.DEAL_ID in s.columns else ibis.null("string")
    rows = s.select(
        _customer=s[c.CUSTOMER_ID].cast("string"),
        _at=as_timestamp(s, c.EFFECTIVE_AT),
        _type=s[c.CHANGE_TYPE].cast("string"),
        _before=s[c.MRR_BEFORE].cast("float64") if c.MRR_BEFORE in s.columns
        else ibis.null("float64"),
        _after=s[c.MRR_AFTER].cast("float64"),
        _deal=deal,
        _discount=s[c.DISCOUNT].cast("float64") if c.DISCOUNT in s.columns
        else ibis.null("float64"),
        **({c.CURRENCY: s[c.CURRENCY]} if c.CURRENCY in s.columns else {}),
    )  # fmt: skip
    rows = rows.filter(rows._customer.notnull() & rows._at.notnull())
    rows = rows.filter(rows._at <= literal_time(cutoff))
    deals = deal_facts(ws)
    converted = c.MRR_AFTER_ORIGINAL in s.columns
    currency = [c.CURRENCY] if c.CURRENCY in rows.columns else []
    if deals is None or converted:
        rate = money_rate(ws, rows, converted, ibis.null("float64"))
    else:
        rates = _account_rates(ws, rows, deals)
        rows = rows.left_join(rates, "_customer").drop("_customer_right")
        rate = money_rate(ws, rows, False, rows._cust_rate)
    rows = rows.mutate(_before=rows._before * rate, _after=rows._after * rate)
    return rows.drop(*currency, *(["_cust_rate"] if "_cust_rate" in rows.columns else []))


def _account_rates(ws: Workspace, rows: ibis.Table, deals: ibis.Table) -> ibis.Table:
    """Per account the rate of the deal its earliest deal-naming change names."""
    named = rows.filter(rows._deal.notnull()).join(deals.select("_deal", "_rate"), "_deal")
    return named.group_by("_customer").aggregate(_cust_rate=named._rate.argmin(named._at))


def account_deals(ws: Workspace, starts: ibis.Table) -> ibis.Table:
    """The deal behind each account: the one its "new" change names, else its first won deal.

    ``starts`` has ``_customer, _deal``; the result adds the deal's
    ``channel, owner_id, segment, region, product, _deal_amount, _created,
    _closed``.
    """
    deals = deal_facts(ws)
    if deals is None:
        return starts.mutate(
            **{key: ibis.null("string") for key in DEAL_KEYS},
            _deal_amount=ibis.null("float64"),
            _created=ibis.null().cast("timestamp('UTC')"),
            _closed=ibis.null().cast("timestamp('UTC')"),
        )
    d = ws.deals
    if c.ACCOUNT_ID in d.columns:
        won = d.filter(d[c.OUTCOME] == c.WON)
        first = won.group_by(_acct=won[c.ACCOUNT_ID].cast("string")).aggregate(
            _first_won=won[c.DEAL_ID].cast("string").argmin(won[c.CLOSED_AT])
            if c.CLOSED_AT in won.columns
            else won[c.DEAL_ID].cast("string").min()
        )
        starts = starts.left_join(first, starts._customer == first._acct).drop("_acct")
        starts = starts.mutate(_deal=starts._deal.coalesce(starts._first_won)).drop("_first_won")
    facts = deals.select("_deal", *DEAL_KEYS, _deal_amount=deals._amount,
                         _created=deals._created, _closed=deals._closed)  # fmt: skip
    return starts.left_join(facts, "_deal").drop("_deal_right")


def account_rows(ws: Workspace, cutoff, horizon_days: float = YEAR_DAYS) -> ibis.Table:
    """One row per account whose subscription starts ("new") in the data.

    Columns ``_customer, _start, _mrr0`` (MRR after the "new" change),
    ``_mrr_h`` (after the last change at most ``horizon_days`` after the
    start), ``_churn_h`` (a churn within the horizon), ``_observed`` (the
    horizon has passed by the cut-off), ``_churn_at`` (first churn, any
    time), ``_months`` (months lived up to churn or cut-off, a month being
    365/12 days), ``_expansions, _contractions, _churns`` (changes of each
    type up to the cut-off), ``_due, _renewed`` (anniversaries passed with the
    account live a month before, and of those live at the anniversary),
    ``_year_value`` (MRR summed over the months of the first year, each change
    weighted by how long it held), ``_discount``, and the deal's attributes
    (:func:`account_deals`).
    """
    rows = subscription_rows(ws, cutoff)
    is_new = rows._type == c.CHANGE_NEW
    starts = rows.group_by("_customer").aggregate(
        _start=rows._at.min(where=is_new),
        _mrr0=rows._after.argmin(ibis.ifelse(is_new, rows._at, None)),
        _deal=rows._deal.argmin(ibis.ifelse(is_new, rows._at, None)),
        _discount=rows._discount.argmin(ibis.ifelse(is_new, rows._at, None)),
    )
    starts = starts.filter(starts._start.notnull())
    joined = rows.join(starts.select("_customer", "_start"), "_customer")
    joined = joined.filter(joined._at >= joined._start)
    in_horizon = joined._at <= plus_days(joined._start, horizon_days)
    in_year = joined._at <= plus_days(joined._start, YEAR_DAYS)
    churn = joined._type == c.CHANGE_CHURN
    per = joined.group_by("_customer").aggregate(
        _mrr_h=joined._after.argmax(ibis.ifelse(in_horizon, joined._at, None)),
        _churn_h=(churn & in_horizon).any(),
        _churn_at=joined._at.min(where=churn),
        _expansions=(joined._type == c.CHANGE_EXPANSION).cast("int64").sum(),
        _contractions=(joined._type == c.CHANGE_CONTRACTION).cast("int64").sum(),
        _churns=churn.cast("int64").sum(),
    )
    year_value = _year_value(ws, joined.filter(in_year))
    out = starts.join(per, "_customer").left_join(year_value, "_customer").drop("_customer_right")
    cut = literal_time(cutoff)
    month, year = MONTH_DAYS * SECONDS_PER_DAY, YEAR_DAYS * SECONDS_PER_DAY
    end = out._churn_at.coalesce(cut)
    since = seconds_between(ws, out._start, cut)
    lived = seconds_between(ws, out._start, end)
    passed = (since / year).floor()  # anniversaries before the cut-off
    # Anniversary k is due when the account lived past k years less a month, renewed
    # when it lived past k years (ceil(x) - 1: the whole k with k * year < x).
    due = ibis.least(passed, ((lived + month) / year).ceil() - 1)
    renewed = ibis.least(passed, (lived / year).ceil() - 1)
    churned = out._churn_at.notnull()
    out = out.mutate(
        _observed=since >= horizon_days * SECONDS_PER_DAY,
        _months=lived / month,
        _due=ibis.ifelse(churned, due, passed).cast("int64"),
        _renewed=ibis.ifelse(churned, renewed, passed).cast("int64"),
    )
    return account_deals(ws, out)


def _year_value(ws: Workspace, rows: ibis.Table) -> ibis.Table:
    """Per account: MRR times the months it held, over the first year after the start."""
    ordered = rows.mutate(
        _next=rows._at.lead().over(group_by="_customer", order_by=["_at", "_type"]),
    )
    year_end = plus_days(ordered._start, YEAR_DAYS)
    held = seconds_between(ws, ordered._at, ordered._next.coalesce(year_end))
    return ordered.group_by("_customer").aggregate(
        _year_value=(ordered._after * held / (MONTH_DAYS * SECONDS_PER_DAY)).sum()
    )
