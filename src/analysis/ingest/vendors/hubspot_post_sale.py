"""HubSpot after the sale: the Commerce orders export, and recurring revenue on won deals.

Read by internal name or UI label, as the deals are:

- An orders export (a file whose name holds "order", with a record id), from
  HubSpot's orders object: ``hs_object_id`` (Record ID) as ``order_id``;
  ``hs_external_created_date`` (when the store placed it), else
  ``hs_createdate`` / ``createdate`` (Create Date), as ``ordered_at``;
  ``hs_total_price`` (Total price) as ``amount``; ``hs_currency_code``
  (Currency) as ``currency``; the first associated company
  (``associated_company_ids``, Associated Company IDs), else the first
  associated contact, as ``customer_id``; the first associated deal as
  ``deal_id``; ``archived`` rows are deleted in the source. Without an
  associated company or contact column the orders name no customer and are
  not read (a note says so).
- The deals export, when it has ``dealtype`` (Deal Type) and ``hs_mrr``
  (Monthly recurring revenue, HubSpot's MRR from the deal's recurring line
  items): each won deal of type ``newbusiness`` (New Business) is a ``new``
  change and of type ``existingbusiness`` (Existing Business) an
  ``expansion``, effective at its close date, for its first associated
  company; its ``hs_mrr`` is the MRR it adds to the company's running MRR
  (``mrr_before`` the running MRR before it). Deals that are not won, of
  another or no type, without an MRR or without a company are
  ``out_of_scope`` in this table. HubSpot records no contraction, churn or
  renewal as such, so none are made up.

With ``--fx-rates`` order amounts and MRR are converted into the reporting
currency at the rate of their date (the exported values kept in
``amount_original`` / ``mrr_*_original``); without it they stay in their own
currency (HubSpot's exports carry no rate table).
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.fx import convert_noting
from analysis.ingest.read import read_header
from analysis.ingest.vendors import hubspot_fields as hf
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorOptions,
    as_timestamps,
    column,
    deleted_rows,
    stem_key,
    table_map,
    values_text,
)
from analysis.ingest.vendors.salesforce_post_sale import (
    AFTER,
    AT,
    BEFORE,
    CURRENCY,
    CUSTOMER,
    DEAL,
    KIND,
    running_mrr,
)

__all__ = ["ORDERS", "ORDER_LABELS", "company_ids", "read_orders", "read_subscriptions"]

ORDERS = "orders"
ORDER_LABELS = {
    "hs_object_id": "Record ID",
    "hs_external_created_date": "External created date",
    "hs_createdate": "Create Date",
    "hs_total_price": "Total price",
    "hs_currency_code": "Currency",
    "associated_company_ids": "Associated Company IDs",
    "associated_contact_ids": "Associated Contact IDs",
    "associated_deal_ids": "Associated Deal IDs",
    "archived": "Archived",
}
DEAL_LABELS = {
    "dealtype": "Deal Type",
    "hs_mrr": "Monthly recurring revenue",
    "associated_company_ids": "Associated Company IDs",
}
DEAL_TYPES = {"newbusiness": c.CHANGE_NEW, "existingbusiness": c.CHANGE_EXPANSION}
"""``dealtype`` values (internal names or labels, spacing ignored) that change recurring revenue."""

COMPANY = COMPUTED + "company"
ORDER_CUSTOMER, ORDER_DEAL, AMOUNT = (COMPUTED + x for x in ("buyer", "order deal", "amount"))
BEFORE_RAW, AFTER_RAW = COMPUTED + "mrr before exported", COMPUTED + "mrr after exported"


def _prop(frame: pd.DataFrame, name: str, labels: dict[str, str]) -> str | None:
    return column(frame, name, labels.get(name, name))


def _first_id(frame: pd.DataFrame, header: str) -> pd.Series:
    """The first id of a ``;``-separated association list (missing when blank)."""
    first = values_text(frame[header]).str.split(";").str[0].str.strip()
    return first.where(first != "")


def company_ids(deals: pd.DataFrame) -> str | None:
    """Add each deal's first associated company as a computed column; its name, or None."""
    found = _prop(deals, "associated_company_ids", DEAL_LABELS)
    if found is None:
        return None
    deals[COMPANY] = _first_id(deals, found)
    return COMPANY


def _orders_file(files: ExportFiles):
    keyed = {stem_key(stem): path for stem, path in files.files.items()}
    for key, path in sorted(keyed.items()):
        if "order" not in key:
            continue
        try:
            header = {str(h).strip().lower() for h in read_header(path)}
        except InputError:
            continue
        if {"hs_object_id", "record id"} & header and (
            {"hs_total_price", "total price", "hs_currency_code", "hs_order_name", "order name"}
            & header
        ):
            return path
    return None


def _convert(values, currency, at, options, notes, what) -> pd.Series:
    return convert_noting(values, currency, at, options.rates, options.reporting_currency, notes,
                          f"HubSpot {what}")  # fmt: skip


def read_orders(files: ExportFiles, options: VendorOptions, notes: list[str]):
    """The ``orders`` table from an orders export (None when there is none or it names no buyer)."""
    path = _orders_file(files)
    if path is None:
        return None
    orders = files.read_path(ORDERS, path).copy()
    oid = _prop(orders, "hs_object_id", ORDER_LABELS)
    at = (
        _prop(orders, "hs_external_created_date", ORDER_LABELS)
        or _prop(orders, "hs_createdate", ORDER_LABELS)
        or column(orders, "createdate")
    )
    buyer = _prop(orders, "associated_company_ids", ORDER_LABELS) or _prop(
        orders, "associated_contact_ids", ORDER_LABELS
    )
    if at is None:
        raise InputError(
            "the HubSpot orders file has no hs_external_created_date or hs_createdate (Create "
            "Date); export the orders with it.",
            file=path,
        )
    if buyer is None:
        notes.append(
            f"{path.name}: no Associated Company IDs or Associated Contact IDs column, so the "
            "orders name no customer: not read. Export the orders with their associations."
        )
        return None
    orders[ORDER_CUSTOMER] = _first_id(orders, buyer)
    spec: dict[str, str | ColumnSpec] = {
        c.ORDER_ID: str(oid), c.ORDERED_AT: at, c.CUSTOMER_ID: ORDER_CUSTOMER,
    }  # fmt: skip
    deal = _prop(orders, "associated_deal_ids", ORDER_LABELS)
    if deal is not None:
        orders[ORDER_DEAL] = _first_id(orders, deal)
        spec[c.DEAL_ID] = ORDER_DEAL
    currency = _prop(orders, "hs_currency_code", ORDER_LABELS)
    if currency is not None:
        orders[CURRENCY] = values_text(orders[currency]).str.upper()
        spec[c.CURRENCY] = CURRENCY
    total = _prop(orders, "hs_total_price", ORDER_LABELS)
    if total is not None:
        spec[c.AMOUNT] = total
        if options.rates is not None and currency is not None:
            when = as_timestamps(orders[at], options.timezone)
            amounts = pd.to_numeric(orders[total], errors="coerce")
            orders[AMOUNT] = _convert(amounts, orders[CURRENCY], when, options, notes, "orders")
            spec[c.AMOUNT], spec[c.AMOUNT_ORIGINAL] = AMOUNT, total
    flags = {r.DELETED_IN_SOURCE: deleted_rows(orders, "archived", "Archived")}
    return AdaptedTable(
        c.ORDERS, orders, table_map(c.ORDERS, path, spec, options.timezone), path, flags
    )


def read_subscriptions(
    deals: pd.DataFrame, path, spec: dict, options: VendorOptions, notes: list[str]
) -> AdaptedTable | None:
    """``subscriptions`` from won deals with a deal type and ``hs_mrr`` (None without both).

    ``spec`` is the deals' column map (its outcome, close and currency columns are reused).
    """
    kind_col = _prop(deals, "dealtype", DEAL_LABELS)
    mrr_col = _prop(deals, "hs_mrr", DEAL_LABELS)
    if kind_col is None or mrr_col is None:
        return None

    def source(canonical: str) -> str | None:
        found = spec.get(canonical)
        return found.source if isinstance(found, ColumnSpec) else found

    kind = values_text(deals[kind_col]).str.lower().str.replace(r"[\s_-]+", "", regex=True)
    kind = kind.map(DEAL_TYPES)
    mrr = pd.to_numeric(deals[mrr_col], errors="coerce")
    company = COMPANY if COMPANY in deals else None
    won = (deals[hf.OUTCOME] == c.WON).fillna(False).to_numpy(dtype=bool)
    deleted = hf.deleted(deals)
    scope = won & kind.notna().to_numpy() & mrr.notna().to_numpy() & ~deleted
    if company is not None:
        scope &= deals[company].notna().to_numpy()
    else:
        scope[:] = False
    close = hf.prop(deals, "closedate") or hf.CLOSE
    own_currency = hf.prop(deals, "deal_currency_code")
    subs = pd.DataFrame(
        {
            CUSTOMER: deals[company] if company else pd.NA,
            AT: deals[close],
            KIND: kind.where(scope),
            DEAL: deals[source(c.DEAL_ID)],
            CURRENCY: values_text(deals[own_currency]).str.upper() if own_currency else pd.NA,
            "Deal Type": deals[kind_col],
            "hs_mrr": deals[mrr_col],
            "_mrr": mrr.to_numpy(),
        },
        index=deals.index,
    )
    running_mrr(subs, scope, options.timezone, notes)
    subs = subs.drop(columns=["_mrr"])
    out_spec: dict[str, str | ColumnSpec] = {
        c.CUSTOMER_ID: CUSTOMER, c.EFFECTIVE_AT: AT, c.CHANGE_TYPE: KIND, c.MRR_BEFORE: BEFORE,
        c.MRR_AFTER: AFTER, c.DEAL_ID: DEAL, c.CURRENCY: CURRENCY,
    }  # fmt: skip
    if options.rates is not None and own_currency is not None:
        when = as_timestamps(subs[AT], options.timezone)
        subs[BEFORE_RAW], subs[AFTER_RAW] = subs[BEFORE], subs[AFTER]
        what = "subscription changes"
        subs[BEFORE] = _convert(subs[BEFORE_RAW], subs[CURRENCY], when, options, [], what)
        subs[AFTER] = _convert(subs[AFTER_RAW], subs[CURRENCY], when, options, notes, what)
        out_spec[c.MRR_BEFORE_ORIGINAL], out_spec[c.MRR_AFTER_ORIGINAL] = BEFORE_RAW, AFTER_RAW
    if company is None:
        notes.append(
            "the deals file has Deal Type and Monthly recurring revenue but no Associated "
            "Company IDs: no subscription change can name its customer."
        )
    flags = {r.DELETED_IN_SOURCE: deleted, r.OUT_OF_SCOPE: ~scope & ~deleted}
    return AdaptedTable(
        c.SUBSCRIPTIONS,
        subs,
        table_map(c.SUBSCRIPTIONS, path, out_spec, options.timezone),
        path,
        flags,
    )
