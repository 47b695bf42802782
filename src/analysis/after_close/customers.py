"""One row per customer who ordered, in the engine: first and second order, first-year value.

Shared by :mod:`.repeat` (time to the second order, cohort curves),
:mod:`.value` and :mod:`.lifetime` (value in the year after the first order).
"""

from __future__ import annotations

import ibis

from analysis.after_close import columns as c
from analysis.after_close.rows import (
    DEAL_KEYS,
    as_timestamp,
    deal_facts,
    literal_time,
    money_rate,
    plus_days,
)
from analysis.engine.workspace import Workspace

# Groups a customer can be cut by: its first order's period, and its deal's attributes.
CUSTOMER_KEYS = (c.COHORT, *DEAL_KEYS)


def order_rows(ws: Workspace, cutoff) -> ibis.Table:
    """Orders up to the cut-off: ``_customer, _order, _at, _deal, _money`` (reporting currency).

    Orders without a customer or time are left out (ingest keeps none).
    ``_money`` is null where the order's amount cannot be put in the
    reporting currency (:mod:`.rows`).
    """
    o = ws.orders
    at = as_timestamp(o, c.ORDERED_AT)
    deal = o[c.DEAL_ID].cast("string") if c.DEAL_ID in o.columns else ibis.null("string")
    amount = o[c.AMOUNT].cast("float64") if c.AMOUNT in o.columns else ibis.null("float64")
    rows = o.select(
        _customer=o[c.CUSTOMER_ID].cast("string"),
        _order=o[c.ORDER_ID].cast("string"),
        _at=at,
        _deal=deal,
        _amount=amount,
        **({c.CURRENCY: o[c.CURRENCY]} if c.CURRENCY in o.columns else {}),
    )
    rows = rows.filter(
        rows._customer.notnull() & rows._at.notnull() & (rows._at <= literal_time(cutoff))
    )
    deals = deal_facts(ws)
    converted = c.AMOUNT_ORIGINAL in o.columns
    if deals is None or converted or not _foreign_currency(ws, rows):
        rate = money_rate(ws, rows, converted, ibis.null("float64"))
        return rows.mutate(_money=rows._amount * rate).drop(*_currency(rows))
    # The customer's rate: that of a deal one of its orders names (the first such order's).
    named = rows.filter(rows._deal.notnull()).join(deals.select("_deal", "_rate"), "_deal")
    rates = named.group_by("_customer").aggregate(_cust_rate=named._rate.argmin(named._at))
    rows = rows.left_join(rates, "_customer").drop("_customer_right")
    rate = money_rate(ws, rows, False, rows._cust_rate)
    return rows.mutate(_money=rows._amount * rate).drop("_cust_rate", *_currency(rows))


def order_times(ws: Workspace, cutoff) -> ibis.Table:
    """``_customer, _at`` of every order up to the cut-off (no money: cheap to read)."""
    o = ws.orders
    rows = o.select(_customer=o[c.CUSTOMER_ID].cast("string"), _at=as_timestamp(o, c.ORDERED_AT))
    return rows.filter(
        rows._customer.notnull() & rows._at.notnull() & (rows._at <= literal_time(cutoff))
    )


def _foreign_currency(ws: Workspace, rows: ibis.Table) -> bool:
    """Whether any order is in a currency other than the deals' (a cheap query that spares
    the per-customer rate join when every amount is already comparable)."""
    if c.CURRENCY not in rows.columns:
        return False
    cur = rows[c.CURRENCY]
    reporting = ws.money.currency
    if reporting is None:
        return bool(ws.execute(cur.nunique()) > 1)
    return bool(ws.execute((cur.notnull() & (cur != reporting)).any()))


def _currency(t: ibis.Table) -> list[str]:
    return [c.CURRENCY] if c.CURRENCY in t.columns else []


def customer_rows(ws: Workspace, cutoff) -> ibis.Table:
    """One row per customer: first and second order, the deal that won it, first-year value.

    Columns ``_customer, _first, _second`` (null: not back by the cut-off;
    two orders at the same instant make the second one at 0 days),
    ``_deal`` (the deal named by the customer's earliest order naming one),
    ``_orders`` (all orders up to the cut-off), ``_year_orders,
    _year_money`` (orders and money within 365 days of the first order,
    the first included), ``_money_missing`` (orders of that year without a
    comparable amount), and the deal's ``channel, owner_id, segment, region,
    product, _deal_amount, _created, _closed``.
    """
    rows = order_rows(ws, cutoff)
    firsts = rows.group_by("_customer").aggregate(_first=rows._at.min())
    with_first = rows.join(firsts, "_customer")
    at, first = with_first._at, with_first._first
    in_year = at <= plus_days(first, 365.0)
    # The second order without a window over every order: a second order at the first
    # instant is the first instant, else the earliest order after it.
    at_first = (at == first).cast("int64").sum()
    out = with_first.group_by("_customer").aggregate(
        _first=first.min(),
        _second=ibis.ifelse(at_first >= 2, first.min(), at.min(where=at > first)),
        _orders=with_first.count(),
        _year_orders=in_year.cast("int64").sum(),
        _year_money=with_first._money.sum(where=in_year),
        _money_missing=(in_year & with_first._money.isnull()).cast("int64").sum(),
        _deal=with_first._deal.argmin(ibis.ifelse(with_first._deal.notnull(), at, None)),
    )
    deals = deal_facts(ws)
    if deals is None:
        return out.mutate(
            **{key: ibis.null("string") for key in DEAL_KEYS},
            _deal_amount=ibis.null("float64"),
            _created=ibis.null().cast("timestamp('UTC')"),
            _closed=ibis.null().cast("timestamp('UTC')"),
        )
    facts = deals.select("_deal", *DEAL_KEYS, _deal_amount=deals._amount,
                         _created=deals._created, _closed=deals._closed)  # fmt: skip
    return out.left_join(facts, "_deal").drop("_deal_right")
