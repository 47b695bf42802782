"""After the close in the engine: the cut-off, money in one currency, the deal behind a customer.

Shared by every analysis of :mod:`analysis.after_close`. Nothing here
computes a statistic: these are the ibis expressions (and the one cut-off)
that the repeat-purchase, retention, onboarding and value analyses aggregate.

Money: ``orders.amount`` and the subscriptions' MRR are in each row's own
``currency`` unless ingest converted them (``--fx-rates``: the table then
carries ``amount_original`` / ``mrr_after_original``). When they were not
converted and the rows' currency differs from the deals' reporting currency,
a row is converted at the rate of its customer's deal
(``deals.amount / deals.amount_original``: what ingest or the export applied
to that deal); a row whose customer has no such deal has no comparable
amount and is counted, never summed in another currency.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from analysis.after_close import columns as c
from analysis.core.errors import MissingInput
from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.grouping import as_keys
from analysis.engine.journey import data_cutoff
from analysis.engine.reach import PERIOD_TRUNCATE
from analysis.engine.workspace import Workspace

TIMESTAMP = "timestamp('UTC')"
MONTH_DAYS = 365.0 / 12.0  # a month of the retention tables: a twelfth of a year
YEAR_DAYS = 365.0
# Deal attributes a customer or an account can be grouped by (from the deal that won it).
DEAL_KEYS = (c.CHANNEL, c.OWNER_ID, c.SEGMENT, c.REGION, c.PRODUCT)
UNKNOWN = "unknown"


def post_sale_cutoff(ws: Workspace, as_of: object = None) -> pd.Timestamp:
    """The moment the after-the-close data runs to: customers not yet back are censored here.

    ``as_of`` when given; else the export's own time (``as_of`` in the
    manifest); else the latest of the deals' cut-off
    (:func:`analysis.engine.journey.data_cutoff`) and the latest order,
    subscription change and onboarding milestone.
    """
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    recorded = (ws.manifest or {}).get("as_of")
    if recorded:
        return pd.Timestamp(recorded).tz_convert("UTC")
    candidates = []
    for table, col in ((c.ORDERS, c.ORDERED_AT), (c.SUBSCRIPTIONS, c.EFFECTIVE_AT),
                       (c.ONBOARDING, c.KICKOFF_AT), (c.ONBOARDING, c.GO_LIVE_AT)):  # fmt: skip
        if ws.has(table) and col in ws.tables[table].columns:
            candidates.append(ws.execute(ws.tables[table][col].max()))
    if ws.has(c.DEALS):
        candidates.append(data_cutoff(ws))
    values = [pd.Timestamp(v) for v in candidates if v is not None and not pd.isna(v)]
    if not values:
        return pd.NaT
    values = [v.tz_localize("UTC") if v.tzinfo is None else v.tz_convert("UTC") for v in values]
    return max(values)


def require_post_sale(ws: Workspace, analysis: str) -> None:
    """Raise :class:`MissingInput` for ``analysis`` without orders and without subscriptions."""
    if not (ws.has(c.ORDERS) or ws.has(c.SUBSCRIPTIONS)):
        raise MissingInput(
            analysis, "an orders or a subscriptions table",
            "Export the orders (B2C repeat purchases) or the subscription changes (B2B).",
        )  # fmt: skip


def as_timestamp(t: ibis.Table, name: str) -> ibis.Value:
    """A time column as a UTC timestamp, null where the table lacks it."""
    return t[name].cast(TIMESTAMP) if name in t.columns else ibis.null().cast(TIMESTAMP)


def literal_time(ts: pd.Timestamp) -> ibis.Value:
    """A cut-off as an engine literal."""
    return ibis.literal(ts).cast(TIMESTAMP)


def plus_days(ts: ibis.Value, days: float) -> ibis.Value:
    """``ts`` plus a (fractional) number of days, to the second."""
    return ts + ibis.interval(seconds=int(round(days * SECONDS_PER_DAY)))


def deal_facts(ws: Workspace) -> ibis.Table | None:
    """One row per deal: its id (string) and what a customer is grouped and judged by.

    Columns ``_deal, channel`` (the lead source), ``owner_id, segment,
    region, product`` (null where the deals lack them), ``_amount``,
    ``_rate`` (``amount / amount_original``: the deal's conversion into the
    reporting currency; 1 without ``amount_original``), ``_created, _closed,
    _outcome``. None without a deals table.
    """
    if not ws.has(c.DEALS):
        return None
    d = ws.deals
    text = {
        c.CHANNEL: c.SOURCE, c.OWNER_ID: c.OWNER_ID, c.SEGMENT: c.SEGMENT,
        c.REGION: c.REGION, c.PRODUCT: c.PRODUCT,
    }  # fmt: skip
    cols = {
        name: d[col].cast("string") if col in d.columns else ibis.null().cast("string")
        for name, col in text.items()
    }
    amount = d[c.AMOUNT].cast("float64") if c.AMOUNT in d.columns else ibis.null("float64")
    if c.AMOUNT_ORIGINAL in d.columns:
        original = d[c.AMOUNT_ORIGINAL].cast("float64")
        rate = ibis.ifelse(original > 0, amount / original, ibis.null("float64"))
    else:
        rate = ibis.ifelse(amount.notnull(), ibis.literal(1.0), ibis.null("float64"))
    return d.select(
        _deal=d[c.DEAL_ID].cast("string"),
        **cols,
        _amount=amount,
        _rate=rate,
        _created=as_timestamp(d, c.CREATED_AT),
        _closed=as_timestamp(d, c.CLOSED_AT),
        _outcome=d[c.OUTCOME].cast("string"),
    )


def money_rate(
    ws: Workspace, table: ibis.Table, converted: bool, customer_rate: ibis.Value
) -> ibis.Value:
    """The factor that puts a row's money in the reporting currency (null: not comparable).

    ``converted``: ingest already converted the table. Without a currency
    column, or where the row is in the reporting currency, 1; else the rate
    of the customer's deal (``customer_rate``).
    """
    if converted or c.CURRENCY not in table.columns:
        return ibis.literal(1.0)
    reporting = ws.money.currency
    cur = table[c.CURRENCY]
    if reporting is None:
        # The deals do not say their currency: only rows of one currency can be summed.
        currencies = ws.execute(table[c.CURRENCY].nunique())
        if currencies <= 1:
            return ibis.literal(1.0)
        return customer_rate
    return ibis.ifelse(cur.isnull() | (cur == reporting), ibis.literal(1.0), customer_rate)


def customer_groups(
    ws: Workspace, by: str | Sequence[str] | None, allowed: Sequence[str]
) -> list[str]:
    """``by`` as a list of group columns, each one of ``allowed``.

    Raises
    ------
    ValueError
        For any other name.
    """
    keys = as_keys(by)
    for key in keys:
        if key not in allowed:
            raise ValueError(f"by must name one of {', '.join(allowed)}; not {key!r}.")
    return keys


def labelled(t: ibis.Table, keys: Sequence[str], cohort: str, start: str) -> ibis.Table:
    """``t`` with the group columns: ``cohort`` the calendar period of ``start``, blanks ``unknown``."""
    cols = {}
    for key in keys:
        if key == c.COHORT:
            cols[key] = t[start].truncate(PERIOD_TRUNCATE[cohort])
        else:
            cols[key] = t[key].fill_null(UNKNOWN)
    return t.mutate(**cols) if cols else t


def check_cohort(cohort: str) -> None:
    """Raise ValueError for a cohort period other than month or quarter."""
    if cohort not in PERIOD_TRUNCATE:
        raise ValueError(f'cohort must be "month" or "quarter", not {cohort!r}.')
