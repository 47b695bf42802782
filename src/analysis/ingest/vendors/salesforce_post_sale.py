"""Salesforce after the sale: ``Order`` as orders, typed opportunities and ``Contract`` as subscriptions.

Fields read (Salesforce Object Reference / Field Reference, standard objects):

- ``Order``: Id, AccountId, EffectiveDate (required); OpportunityId,
  TotalAmount, CurrencyIsoCode (multi-currency orgs), Status, StatusCode,
  IsDeleted. ``orders`` takes order_id = Id, customer_id = AccountId,
  deal_id = OpportunityId, ordered_at = EffectiveDate, amount = TotalAmount,
  currency = CurrencyIsoCode, else the org's corporate currency when the
  export has ``CurrencyType``. Only activated orders are purchases: with
  ``StatusCode`` exported (Draft or Activated), draft rows are
  ``out_of_scope``; with ``Status`` only (its labels are the org's own),
  rows whose status reads draft, in approval or cancelled are
  ``out_of_scope`` and every other status (the org's activated labels,
  blank) is kept. Deleted orders are ``deleted_in_source``.
- ``OrderItem`` (when exported): OrderId, Product2Id, TotalPrice (else
  UnitPrice x Quantity), IsDeleted; ``Product2``: Id, Name. An order's
  ``product`` is the product of its largest line (by value; the first line
  on a tie or without prices), named by ``Product2.Name`` when the export
  has it, else its Product2Id; a note counts orders with several products.
- ``Opportunity`` (already read for the deals): Type, Amount, CloseDate,
  AccountId, CurrencyIsoCode, IsWon; a custom MRR field (named ``MRR…`` or
  "monthly recurring") or ARR field (``ARR…``, "annual recurring") when the
  org has one.
- ``Contract``: AccountId, StartDate, EndDate, ContractTerm (months), Status,
  StatusCode, IsDeleted.

Salesforce has no standard recurring-revenue field, so ``subscriptions`` is
built under these assumptions (docs/vendors/salesforce.md says the same):

- Each won opportunity whose standard ``Type`` names a revenue change is one
  row, effective on its CloseDate: "New Customer" / "New Business" -> new;
  "Existing Customer - Upgrade" -> expansion; "Existing Customer -
  Downgrade" -> contraction; "Existing Customer - Replacement" / "Renewal"
  (and "Existing Customer - Renewal") -> renewal. Any other Type, a blank
  Type, and open or lost opportunities are ordinary deals: ``out_of_scope``
  in this table.
- The opportunity's monthly recurring revenue is its custom MRR field, else
  its custom ARR field / 12, else Amount / ``VendorOptions.amount_months``
  (12 by default: Amount is the annual contract value).
- ``mrr_before`` is the account's running MRR before the row (0 before its
  first row). new and expansion add the opportunity's MRR; contraction
  subtracts it (a downgrade's Amount is the value given up; never below 0);
  renewal sets the running MRR to the renewal's MRR (the renewed contract's
  value), or keeps it when the renewal has no amount.
- Churn comes from ``Contract``: among an account's contracts in force at
  some point (status Activated, Expired or Terminated: not draft, in
  approval or cancelled), the one that ends last; when
  its EndDate (else StartDate + ContractTerm months - 1 day) is before the
  export's date and no won new, expansion or renewal opportunity of the
  account closes after it, that contract row becomes a churn row at its
  EndDate with ``mrr_after`` 0. Every other contract row is
  ``out_of_scope``. Without an export date no churn is judged (a note says
  so).
- An account's rows are taken to be in one currency (the opportunities');
  a note counts accounts whose rows mix currencies.
- Date-only fields (EffectiveDate, CloseDate, EndDate) are read as the start
  of that day in the export's time zone.

The subscription rows are the Opportunity rows followed by the Contract
rows (so every row of both files is accounted for): the quarantine's
``source_row`` counts through both, and the computed column
``workbench: source row`` names each row's own file and row.

With exchange rates (``--fx-rates``, else the org's ``CurrencyType`` and
``DatedConversionRate``) order amounts and MRR are converted into the
deals' reporting currency at the rate of the row's date, the exported
values kept in ``amount_original`` and ``mrr_before_original`` /
``mrr_after_original``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.fx import Rates, convert_noting
from analysis.ingest.leads import status_key
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorOptions,
    as_timestamps,
    column,
    custom_column,
    deleted_rows,
    stem_key,
    table_map,
    values_text,
)
from analysis.ingest.vendors.salesforce_fields import OUTCOME, _export_rates, need

__all__ = [
    "POST_SALE_FIELDS", "SUBSCRIPTION_TYPES", "read_orders", "read_subscriptions", "running_mrr",
]  # fmt: skip

POST_SALE_FIELDS = {
    "Order": (
        "Id", "AccountId", "OpportunityId", "EffectiveDate", "TotalAmount", "CurrencyIsoCode",
        "Status", "StatusCode", "IsDeleted",
    ),
    "OrderItem": (
        "OrderId", "Product2Id", "TotalPrice", "UnitPrice", "Quantity", "IsDeleted",
    ),
    "Product2": ("Id", "Name"),
    "Contract": (
        "AccountId", "StartDate", "EndDate", "ContractTerm", "Status", "StatusCode", "IsDeleted",
    ),
}  # fmt: skip

SUBSCRIPTION_TYPES: dict[str, str] = {
    "new customer": c.CHANGE_NEW,
    "new business": c.CHANGE_NEW,
    "existing customer - upgrade": c.CHANGE_EXPANSION,
    "existing business - upgrade": c.CHANGE_EXPANSION,
    "existing customer - downgrade": c.CHANGE_CONTRACTION,
    "existing business - downgrade": c.CHANGE_CONTRACTION,
    "existing customer - replacement": c.CHANGE_RENEWAL,
    "existing customer - renewal": c.CHANGE_RENEWAL,
    "existing business - renewal": c.CHANGE_RENEWAL,
    "renewal": c.CHANGE_RENEWAL,
}
"""Opportunity ``Type`` values (matched ignoring case and spacing) that are revenue changes."""
_TYPES = {status_key(k): v for k, v in SUBSCRIPTION_TYPES.items()}

_NOT_PLACED = r"draft|cancel|in\s*approval"  # Order/Contract statuses never in force
SOURCE_ROW = COMPUTED + "source row"
AMOUNT = COMPUTED + "order amount"
PRODUCT = COMPUTED + "product"
CURRENCY = COMPUTED + "currency"
KIND, AT, CUSTOMER, DEAL = (COMPUTED + x for x in ("change type", "effective", "customer", "deal"))
BEFORE, AFTER = COMPUTED + "mrr before", COMPUTED + "mrr after"
BEFORE_RAW, AFTER_RAW = COMPUTED + "mrr before exported", COMPUTED + "mrr after exported"


def _object_file(files: ExportFiles, obj: str, *longer: str):
    """The file of ``obj`` itself, not of an object whose name only starts like it."""
    path = files.find(obj, *longer)
    if path is None or any(stem_key(path.stem).startswith(stem_key(x)) for x in longer):
        return None
    return path


def _rates(files: ExportFiles, options: VendorOptions) -> tuple[Rates | None, str | None]:
    """The rates money is converted with (``--fx-rates``, else the org's) and the corporate currency."""
    own, corporate = _export_rates(files)
    return options.rates or own, corporate


def _convert(values, currency, at, rates, options, notes, what) -> pd.Series:
    """``values`` in the reporting currency at moments ``at``; notes count rows without a rate."""
    return convert_noting(values, currency, at, rates, options.reporting_currency, notes, what)


# --- orders -------------------------------------------------------------------------


def read_orders(files: ExportFiles, options: VendorOptions, notes: list[str]):
    """The ``orders`` table from ``Order`` (None when the export has none)."""
    path = _object_file(files, "Order", "OrderItem", "OrderHistory", "OrderShare")
    if path is None:
        return None
    orders = files.read_path("Order", path)
    oid, account, effective = need(orders, "Order", files, "Id", "AccountId", "EffectiveDate")
    spec: dict[str, str | ColumnSpec] = {
        c.ORDER_ID: oid, c.CUSTOMER_ID: account, c.ORDERED_AT: effective,
    }  # fmt: skip
    opp = column(orders, "OpportunityId")
    if opp is not None:
        spec[c.DEAL_ID] = opp
    rates, corporate = _rates(files, options)
    own = column(orders, "CurrencyIsoCode")
    if own is not None:
        orders[CURRENCY] = values_text(orders[own]).str.upper()
    elif corporate:
        orders[CURRENCY] = corporate
    if CURRENCY in orders:
        spec[c.CURRENCY] = CURRENCY
    total = column(orders, "TotalAmount")
    if total is not None:
        spec[c.AMOUNT] = total
        if rates is not None and CURRENCY in orders:
            at = as_timestamps(orders[effective], options.timezone)
            amounts = pd.to_numeric(orders[total], errors="coerce")
            orders[AMOUNT] = _convert(
                amounts, orders[CURRENCY], at, rates, options, notes, "orders"
            )
            spec[c.AMOUNT], spec[c.AMOUNT_ORIGINAL] = AMOUNT, total
    products = _order_products(files, notes)
    if products is not None:
        orders[PRODUCT] = values_text(orders[oid]).map(products)
        spec[c.PRODUCT] = PRODUCT
    deleted = deleted_rows(orders, "IsDeleted")
    flags = {r.DELETED_IN_SOURCE: deleted, r.OUT_OF_SCOPE: ~_placed(orders) & ~deleted}
    if flags[r.OUT_OF_SCOPE].any():
        notes.append(
            f"{int(flags[r.OUT_OF_SCOPE].sum()):,} Salesforce orders are not activated (draft, "
            "cancelled or expired): not purchases, set aside as out_of_scope."
        )
    tmap = table_map(c.ORDERS, path, spec, options.timezone)
    return AdaptedTable(c.ORDERS, orders, tmap, path, flags)


def _order_products(files: ExportFiles, notes: list[str]) -> pd.Series | None:
    """Product of each order's largest line, by OrderId (None without ``OrderItem``)."""
    path = _object_file(files, "OrderItem", "OrderItemHistory", "OrderItemShare")
    if path is None:
        return None
    items = files.read_path("OrderItem", path)
    order_id, product_id = column(items, "OrderId"), column(items, "Product2Id")
    if order_id is None or product_id is None:
        notes.append(f"{path.name} has no OrderId or Product2Id column: orders carry no product.")
        return None
    keep = ~deleted_rows(items, "IsDeleted")
    lines = pd.DataFrame(
        {
            "order": values_text(items[order_id]).replace("", pd.NA),
            "product": values_text(items[product_id]).replace("", pd.NA),
        }
    )
    total, unit, quantity = (column(items, x) for x in ("TotalPrice", "UnitPrice", "Quantity"))
    if total is not None:
        lines["value"] = pd.to_numeric(items[total], errors="coerce")
    elif unit is not None and quantity is not None:
        lines["value"] = pd.to_numeric(items[unit], errors="coerce") * pd.to_numeric(
            items[quantity], errors="coerce"
        )
    else:
        lines["value"] = 0.0
    catalogue = _object_file(files, "Product2", "Product2Feed", "Product2History")
    names = files.read_path("Product2", catalogue) if catalogue is not None else None
    if names is not None and column(names, "Id") and column(names, "Name"):
        ids, labels = (
            values_text(names[column(names, "Id")]),
            values_text(names[column(names, "Name")]),
        )
        named = {i: n for i, n in zip(ids, labels, strict=True) if pd.notna(i) and pd.notna(n)}
        lines["product"] = lines["product"].map(lambda x: named.get(x) or x, na_action="ignore")
    lines = lines[keep & lines["order"].notna() & lines["product"].notna()]
    several = int((lines.groupby("order")["product"].nunique() > 1).sum())
    if several:
        notes.append(
            f"{several:,} Salesforce orders have lines of several products: each order's "
            "product is its largest line's."
        )
    # Largest line first; a stable sort keeps the file's order on ties and missing values.
    ranked = lines.sort_values("value", ascending=False, kind="stable", na_position="last")
    return ranked.drop_duplicates("order").set_index("order")["product"]


def _placed(frame: pd.DataFrame) -> np.ndarray:
    """Rows that took effect: a StatusCode that is not Draft, InApproval or Cancelled (an
    Order's is Activated; a Contract's Activated, Expired or Terminated), else a Status
    whose label does not read draft, in approval or cancelled; blank counts as in force."""
    found = column(frame, "StatusCode") or column(frame, "Status")
    if found is None:
        return np.ones(len(frame), dtype=bool)
    text = values_text(frame[found]).str.lower().fillna("")
    return ~text.str.contains(_NOT_PLACED, regex=True).to_numpy(dtype=bool)


# --- subscriptions ------------------------------------------------------------------


def _monthly(opp: pd.DataFrame, cols: dict, months: float) -> tuple[pd.Series, str]:
    """Each opportunity's MRR and where it came from (custom MRR / ARR field, or Amount)."""
    mrr = custom_column(opp, r"^mrr(\b|_)", r"monthly.?recurring")
    if mrr is not None:
        return pd.to_numeric(opp[mrr], errors="coerce"), f"the custom field {mrr}"
    arr = custom_column(opp, r"^arr(\b|_)", r"annual.?recurring")
    if arr is not None:
        return pd.to_numeric(opp[arr], errors="coerce") / 12, f"the custom field {arr} / 12"
    if cols.get("Amount") is None:
        return pd.Series(np.nan, index=opp.index), "no amount"
    amounts = pd.to_numeric(opp[cols["Amount"]], errors="coerce")
    return amounts / months, f"Amount / {months:g}"


def _contract_ends(contracts: pd.DataFrame, timezone: str) -> pd.Series:
    """EndDate, else StartDate + ContractTerm months - 1 day (UTC, start of the local day)."""
    end = column(contracts, "EndDate")
    out = (
        as_timestamps(contracts[end], timezone)
        if end is not None
        else pd.Series(pd.NaT, index=contracts.index, dtype="datetime64[us, UTC]")
    )
    start, term = column(contracts, "StartDate"), column(contracts, "ContractTerm")
    if start is not None and term is not None:
        text = values_text(contracts[start])
        starts = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
        months = pd.to_numeric(contracts[term], errors="coerce")
        ends = [
            s + pd.DateOffset(months=int(m)) - pd.Timedelta(days=1)
            if pd.notna(s) and pd.notna(m)
            else pd.NaT
            for s, m in zip(starts, months, strict=True)
        ]
        local = pd.Series(pd.to_datetime(ends), index=contracts.index).dt.tz_localize(
            timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        out = out.fillna(local.dt.tz_convert("UTC"))
    return out


def read_subscriptions(
    files: ExportFiles,
    options: VendorOptions,
    opp: pd.DataFrame,
    cols: dict,
    as_of: pd.Timestamp | None,
    notes: list[str],
) -> AdaptedTable | None:
    """The ``subscriptions`` table from typed won opportunities and ``Contract``.

    None when the Opportunity file has no ``Type`` column and there is no
    Contract file (nothing tells a revenue change).
    """
    type_col = column(opp, "Type")
    contract_path = _object_file(
        files, "Contract", "ContractLineItem", "ContractContactRole", "ContractHistory"
    )
    if type_col is None and contract_path is None:
        return None
    opp_path = files.used["Opportunity"]
    kind = (
        values_text(opp[type_col]).map(lambda t: _TYPES.get(status_key(t)), na_action="ignore")
        if type_col is not None
        else pd.Series(None, index=opp.index, dtype=object)
    )
    won = (opp[OUTCOME] == c.WON).fillna(False).to_numpy(dtype=bool)
    deleted = deleted_rows(opp, "IsDeleted")
    typed = kind.notna().to_numpy() & won & ~deleted
    mrr, mrr_from = _monthly(opp, cols, options.amount_months)
    account = cols.get("AccountId")
    part = pd.DataFrame(
        {
            SOURCE_ROW: [f"{opp_path.name} row {i + 1}" for i in range(len(opp))],
            CUSTOMER: values_text(opp[account]) if account else pd.Series(pd.NA, index=opp.index),
            AT: opp[cols["CloseDate"]] if cols.get("CloseDate") else pd.NA,
            KIND: kind.where(typed),
            DEAL: opp[cols["Id"]],
            CURRENCY: (
                values_text(opp[cols["CurrencyIsoCode"]]).str.upper()
                if cols.get("CurrencyIsoCode")
                else pd.NA
            ),
            "Type": opp[type_col] if type_col is not None else pd.NA,
            "Amount": opp[cols["Amount"]] if cols.get("Amount") else pd.NA,
            "_mrr": mrr.to_numpy(),
        },
        index=opp.index,
    )
    _, corporate = _rates(files, options)
    if cols.get("CurrencyIsoCode") is None and corporate:
        part[CURRENCY] = corporate
    removed = [deleted]
    frames = [part]
    if contract_path is not None:
        contracts = files.read_path("Contract", contract_path)
        (acc,) = need(contracts, "Contract", files, "AccountId")
        c_deleted = deleted_rows(contracts, "IsDeleted")
        frames.append(
            pd.DataFrame(
                {
                    SOURCE_ROW: [
                        f"{contract_path.name} row {i + 1}" for i in range(len(contracts))
                    ],
                    CUSTOMER: values_text(contracts[acc]),
                    "_end": _contract_ends(contracts, options.timezone),
                    "_valid": _placed(contracts) & ~c_deleted,
                    **{
                        f"Contract.{name}": contracts[name]
                        for name in contracts.columns
                        if not str(name).startswith(COMPUTED)
                    },
                }
            )
        )
        removed.append(c_deleted)
    subs = pd.concat(frames, ignore_index=True)
    n_opp = len(part)
    scope = np.zeros(len(subs), dtype=bool)
    scope[:n_opp] = typed
    if contract_path is not None:
        churn = _churn_rows(subs, n_opp, as_of, options.timezone, notes)
        scope[n_opp:] = churn
    running_mrr(subs, scope, options.timezone, notes)
    deleted_all = np.concatenate(removed)
    flags = {r.DELETED_IN_SOURCE: deleted_all, r.OUT_OF_SCOPE: ~scope & ~deleted_all}
    subs = subs.drop(columns=[x for x in ("_mrr", "_end", "_valid") if x in subs])
    spec: dict[str, str | ColumnSpec] = {
        c.CUSTOMER_ID: CUSTOMER, c.EFFECTIVE_AT: AT, c.CHANGE_TYPE: KIND,
        c.MRR_BEFORE: BEFORE, c.MRR_AFTER: AFTER, c.DEAL_ID: DEAL, c.CURRENCY: CURRENCY,
    }  # fmt: skip
    rates, _ = _rates(files, options)
    if rates is not None and subs[CURRENCY].notna().any():
        at = as_timestamps(subs[AT], options.timezone)
        currency = subs[CURRENCY]
        subs[BEFORE_RAW], subs[AFTER_RAW] = subs[BEFORE], subs[AFTER]
        rows = "subscription changes"
        subs[BEFORE] = _convert(subs[BEFORE_RAW], currency, at, rates, options, [], rows)
        subs[AFTER] = _convert(subs[AFTER_RAW], currency, at, rates, options, notes, rows)
        spec[c.MRR_BEFORE_ORIGINAL], spec[c.MRR_AFTER_ORIGINAL] = BEFORE_RAW, AFTER_RAW
    notes.append(
        f"Salesforce subscriptions: {int(typed.sum()):,} won opportunities whose Type names a "
        f"revenue change, MRR from {mrr_from}; churn from Contract end dates "
        "(docs/vendors/salesforce.md)."
    )
    tmap = table_map(c.SUBSCRIPTIONS, opp_path, spec, options.timezone)
    return AdaptedTable(c.SUBSCRIPTIONS, subs, tmap, opp_path, flags)


def _churn_rows(
    subs: pd.DataFrame, n_opp: int, as_of: pd.Timestamp | None, timezone: str, notes: list[str]
) -> np.ndarray:
    """Mask over the Contract rows of ``subs``: the last contract of an account that ended
    before ``as_of`` with no later won new, expansion or renewal (filled in ``subs``)."""
    contracts = subs.iloc[n_opp:]
    out = np.zeros(len(contracts), dtype=bool)
    if as_of is None:
        notes.append("no export date: churn from Contract end dates not judged.")
        return out
    opps = subs.iloc[:n_opp]
    growing = opps[KIND].isin([c.CHANGE_NEW, c.CHANGE_EXPANSION, c.CHANGE_RENEWAL])
    last_growth = (
        as_timestamps(opps.loc[growing, AT], timezone).groupby(opps.loc[growing, CUSTOMER]).max()
    )
    keep = (
        contracts["_valid"].astype(bool) & contracts["_end"].notna() & contracts[CUSTOMER].notna()
    )
    valid = contracts[keep]
    last = valid.sort_values("_end", kind="stable").groupby(CUSTOMER).tail(1)
    for idx, row in last.iterrows():
        end = row["_end"]
        later = last_growth.get(row[CUSTOMER])
        if end < as_of and (later is None or pd.isna(later) or later <= end):
            out[idx - n_opp] = True
            subs.loc[idx, KIND] = c.CHANGE_CHURN
            subs.loc[idx, AT] = end.isoformat()
    return out


def running_mrr(subs: pd.DataFrame, scope: np.ndarray, timezone: str, notes: list[str]) -> None:
    """Fill ``mrr_before`` / ``mrr_after`` of the rows in scope, account by account in time.

    ``subs`` holds the computed customer, effective time, change type and currency columns
    of this module and ``_mrr``, each row's own MRR: new and expansion add it, contraction
    subtracts it (not below 0), renewal sets the running MRR to it (keeps it when missing),
    churn leaves 0. A churn row takes the account's currency.
    """
    subs[BEFORE] = np.nan
    subs[AFTER] = np.nan
    rows = subs[scope & subs[CUSTOMER].notna().to_numpy()]
    if rows.empty:
        return
    when = as_timestamps(rows[AT], timezone)
    order = rows.assign(_when=when, _churn=rows[KIND] == c.CHANGE_CHURN).sort_values(
        [CUSTOMER, "_when", "_churn"], kind="stable"
    )
    # An account's currency: the last known one of its opportunities (churn rows have none).
    filled = order.groupby(CUSTOMER)[CURRENCY].transform(lambda s: s.ffill().bfill())
    subs.loc[order.index, CURRENCY] = filled
    mixed = order.groupby(CUSTOMER)[CURRENCY].nunique()
    if (mixed > 1).any():
        notes.append(
            f"{int((mixed > 1).sum()):,} accounts have subscription changes in more than one "
            "currency: their running MRR adds amounts in different currencies."
        )
    before, after = {}, {}
    running: dict[str, float] = {}
    for idx, account, kind, value in zip(
        order.index, order[CUSTOMER], order[KIND], order["_mrr"], strict=True
    ):
        now = running.get(account, 0.0)
        value = float(value) if pd.notna(value) else np.nan
        if kind in (c.CHANGE_NEW, c.CHANGE_EXPANSION):
            nxt = now + (0.0 if np.isnan(value) else value)
        elif kind == c.CHANGE_CONTRACTION:
            nxt = max(now - (0.0 if np.isnan(value) else value), 0.0)
        elif kind == c.CHANGE_RENEWAL:
            nxt = now if np.isnan(value) else value
        else:  # churn
            nxt = 0.0
        before[idx], after[idx] = now, nxt
        running[account] = nxt
    subs.loc[list(before), BEFORE] = pd.Series(before)
    subs.loc[list(after), AFTER] = pd.Series(after)
