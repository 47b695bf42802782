"""Salesforce fields: the objects read, and the Opportunity fields that need computing.

The outcome (IsClosed/IsWon, else the stage's own flags), the money
(CurrencyIsoCode, the org's CurrencyType and DatedConversionRate) and the
segment (a custom field, else Person Accounts) become computed columns of
the Opportunity frame (named with
:data:`~analysis.ingest.vendors.adapted.COMPUTED`); the stage list is read
from OpportunityStage.
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.stages import normalise_label
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.fx import CURRENCY as CURRENCY_CODE
from analysis.ingest.fx import (
    RATE,
    Rates,
    base_currency,
    check_rates,
    convert_amounts,
    rate_dates,
    rates_frame,
)
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    ExportFiles,
    VendorOptions,
    as_timestamps,
    column,
    custom_column,
    require,
    segment_values,
    truthy,
    values_text,
)
from analysis.ingest.vendors.stages import (
    StageRow,
    outcome_from_flags,
    stage_flags,
)

OPPORTUNITY = "Opportunity"
FIELDS: dict[str, tuple[str, ...]] = {
    OPPORTUNITY: (
        "Id",
        "IsDeleted",
        "AccountId",
        "StageName",
        "Amount",
        "CloseDate",
        "LeadSource",
        "IsClosed",
        "IsWon",
        "CurrencyIsoCode",
        "OwnerId",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
        "Probability",
        "ForecastCategoryName",
    ),
    "OpportunityHistory": (
        "OpportunityId",
        "StageName",
        "Amount",
        "CloseDate",
        "Probability",
        "ForecastCategory",
        "CreatedDate",
        "CreatedById",
        "IsDeleted",
    ),
    "OpportunityFieldHistory": (
        "OpportunityId",
        "Field",
        "OldValue",
        "NewValue",
        "CreatedDate",
        "CreatedById",
        "IsDeleted",
    ),
    "OpportunityStage": ("MasterLabel", "ApiName", "SortOrder", "IsActive", "IsClosed", "IsWon"),
    "Account": ("Id", "IsPersonAccount"),
    "User": ("Id", "Name", "FirstName", "LastName", "Department"),
    "Task": (
        "WhatId",
        "TaskSubtype",
        "Type",
        "CompletedDateTime",
        "CreatedDate",
        "ActivityDate",
        "OwnerId",
        "IsDeleted",
    ),
    "Event": ("WhatId", "ActivityDateTime", "StartDateTime", "OwnerId", "IsDeleted"),
    "CurrencyType": ("IsoCode", "ConversionRate", "IsCorporate", "IsActive"),
    "DatedConversionRate": ("IsoCode", "ConversionRate", "StartDate", "NextStartDate"),
}
"""Every object the adapter reads, with the fields it uses (docs/vendors/salesforce.md)."""

OUTCOME = COMPUTED + "outcome"
CLOSE = COMPUTED + "close"
AMOUNT = COMPUTED + "amount"
SEGMENT = COMPUTED + "segment"
CURRENCY = COMPUTED + "currency"
TYPE = COMPUTED + "type"
STAGE = COMPUTED + "stage"
# OpportunityFieldHistory.Field values of the tracked fields, lower-cased, and the deal
# column each one changes (field history must be switched on for each in the org).
TRACKED = {
    "amount": c.AMOUNT,
    "closedate": c.EXPECTED_CLOSE_AT,
    "stagename": c.STAGE,
    "probability": c.PROBABILITY,
    "forecastcategoryname": c.FORECAST_CATEGORY,
}
FIELD, OLD, NEW = COMPUTED + "field", COMPUTED + "old", COMPUTED + "new"
AT = COMPUTED + "at"
NAME_COLUMN = COMPUTED + "name"


def need(frame: pd.DataFrame, obj: str, files: ExportFiles, *names: str) -> list[str]:
    """The headers of fields ``names`` of object ``obj``; an InputError naming the missing ones."""
    return require(
        frame,
        names,
        file=files.used.get(obj, files.folder / obj),
        what=f"the Salesforce {obj} file",
        advice="Export the object with these fields.",
    )


# --- pipeline ---------------------------------------------------------------------


def stage_rows(stages: pd.DataFrame, files: ExportFiles) -> tuple[list[StageRow], dict]:
    """The OpportunityStage rows, and their API names (``extra``) and inactive labels."""
    label, order, closed, won = need(
        stages, "OpportunityStage", files, "MasterLabel", "SortOrder", "IsClosed", "IsWon"
    )
    active = column(stages, "IsActive")
    keep = truthy(stages[active]).fillna(True) if active else pd.Series(True, index=stages.index)
    rows = [
        StageRow(str(lab).strip(), float(pos) if pd.notna(pos) else 1e9, bool(cl), bool(w))
        for lab, pos, cl, w in zip(
            stages[label],
            pd.to_numeric(stages[order], errors="coerce"),
            truthy(stages[closed]).fillna(False),
            truthy(stages[won]).fillna(False),
            strict=True,
        )
    ]
    api = column(stages, "ApiName")
    extra = (
        {}
        if api is None
        else dict(zip(stages[api].astype("str"), stages[label].astype("str"), strict=True))
    )
    inactive = [row for row, k in zip(rows, keep, strict=True) if not k]
    return rows, {"extra": extra, "inactive": [row.label for row in inactive]}


def outcomes(opp: pd.DataFrame, cols: dict, flags_of: dict[str, tuple[bool, bool]]) -> pd.Series:
    """won / lost / open from IsClosed and IsWon, else from the stage's own flags."""
    if cols["IsClosed"] and cols["IsWon"]:
        closed = truthy(opp[cols["IsClosed"]])
        won = truthy(opp[cols["IsWon"]])
    else:
        flags = {normalise_label(k): v for k, v in flags_of.items()}
        looked = opp[cols["StageName"]].map(lambda s: flags.get(normalise_label(str(s))))
        closed, won = stage_flags(looked)
    return outcome_from_flags(closed, won)


# --- money ------------------------------------------------------------------------


def _export_rates(files: ExportFiles) -> tuple[Rates | None, str | None]:
    """The org's rates (CurrencyType, DatedConversionRate) and its corporate currency.

    The corporate currency is the one flagged IsCorporate, else the one at
    rate 1. A rate that is not above zero, a missing code or an unreadable
    start date stops ingest naming file, column and row.
    """
    types = files.read("CurrencyType")
    dated = files.read("DatedConversionRate")
    corporate = None
    parts = []
    if types is not None:
        code, rate = need(types, "CurrencyType", files, "IsoCode", "ConversionRate")
        table = rates_frame(types[code], types[rate])
        check_rates(table, files.used["CurrencyType"], {CURRENCY_CODE: code, RATE: rate})
        corp = column(types, "IsCorporate")
        if corp is not None:
            flagged = table.loc[truthy(types[corp]).fillna(False).to_numpy(), CURRENCY_CODE]
            corporate = str(flagged.iloc[0]) if len(flagged) else None
        if corporate is None:
            corporate = base_currency(table, files.used["CurrencyType"], rate)
        parts.append(table)
    if dated is not None:
        path = files.used["DatedConversionRate"]
        code, rate, start = need(
            dated, "DatedConversionRate", files, "IsoCode", "ConversionRate", "StartDate"
        )
        nxt = column(dated, "NextStartDate")
        bounds = [
            rate_dates(dated[start], path, start),
            None if nxt is None else rate_dates(dated[nxt], path, nxt),
        ]
        table = rates_frame(dated[code], dated[rate], *bounds)
        check_rates(table, path, {CURRENCY_CODE: code, RATE: rate})
        parts.append(table)
    if not parts:
        return None, None
    table = pd.concat(parts, ignore_index=True)
    return Rates(table=table, base=corporate, source="CurrencyType/DatedConversionRate"), corporate


def money(
    opp: pd.DataFrame, cols: dict, files: ExportFiles, options: VendorOptions, notes: list[str]
) -> tuple[dict[str, str | ColumnSpec], str | None]:
    """Add converted amounts; return the deals' column specs for money and the reporting currency."""
    specs: dict[str, str | ColumnSpec] = {}
    if cols["Amount"] is None:
        specs[c.AMOUNT] = ColumnSpec(constant=None)
        return specs, None
    own_rates, corporate = _export_rates(files)
    rates = options.rates or own_rates
    currency_col = cols["CurrencyIsoCode"]
    if currency_col is None:
        specs[c.AMOUNT] = cols["Amount"]
        if corporate:
            specs[c.CURRENCY] = ColumnSpec(constant=corporate)
        return specs, corporate
    opp[CURRENCY] = values_text(opp[currency_col]).str.upper()
    specs[c.CURRENCY] = CURRENCY
    specs[c.AMOUNT_ORIGINAL] = cols["Amount"]
    if rates is None:
        specs[c.AMOUNT] = cols["Amount"]
        return specs, None
    created = as_timestamps(opp[cols["CreatedDate"]], "UTC")
    opp[AMOUNT], reporting = convert_amounts(
        opp[cols["Amount"]],
        opp[CURRENCY],
        opp[OUTCOME],
        as_timestamps(opp[CLOSE], "UTC"),
        created,
        rates,
        options.reporting_currency,
        notes,
    )
    specs[c.AMOUNT] = AMOUNT
    return specs, reporting


# --- segment ----------------------------------------------------------------------


def segment(opp: pd.DataFrame, cols: dict, files: ExportFiles) -> str:
    """B2B/B2C from a segment field, else from the account being a Person Account."""
    own = custom_column(opp, r"segment")
    if own is not None:
        opp[SEGMENT] = segment_values(opp[own])
        return SEGMENT
    accounts = files.read("Account")
    opp[SEGMENT] = pd.Series(pd.NA, index=opp.index, dtype="str")
    if accounts is None or cols["AccountId"] is None:
        return SEGMENT
    acc_id, person = column(accounts, "Id"), column(accounts, "IsPersonAccount")
    if acc_id is None or person is None:
        return SEGMENT
    # One hash join, not a Python lookup per opportunity (a million of them at scale).
    label = truthy(accounts[person]).map({True: c.B2C, False: c.B2B}).astype("str")
    by_account = pd.Series(label.to_numpy(), index=accounts[acc_id].astype("str").to_numpy())
    by_account = by_account[~by_account.index.duplicated()]
    opp[SEGMENT] = opp[cols["AccountId"]].astype("str").map(by_account).astype("str")
    return SEGMENT
