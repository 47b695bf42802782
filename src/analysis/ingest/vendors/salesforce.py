"""Salesforce exports: Data Loader, Data Export and Workbench CSVs of the standard objects.

Objects and fields read (Salesforce Object Reference, standard objects):

- ``Opportunity`` (required): Id, IsDeleted, AccountId, StageName, Amount,
  CloseDate, LeadSource, IsClosed, IsWon, CurrencyIsoCode (multi-currency
  orgs), OwnerId, CreatedDate, LastModifiedDate, SystemModstamp; custom
  fields whose name holds "segment", "loss/lost reason" or "competitor".
- ``OpportunityHistory``: OpportunityId, StageName, CreatedDate, IsDeleted.
  One row per change of stage, amount, probability, close date or forecast
  category; only the rows whose stage differs from the one before are stage
  events. Or ``OpportunityFieldHistory``: OpportunityId, Field, OldValue,
  NewValue, CreatedDate (rows of Field ``StageName``, and ``created``).
- ``OpportunityStage``: MasterLabel, ApiName, SortOrder, IsActive, IsClosed,
  IsWon: the org's pipeline, in the org's language.
- ``Account``: Id, IsPersonAccount (Person Accounts are Salesforce's B2C
  model: B2C when true, B2B when false).
- ``User``: Id, Name (or FirstName, LastName), Department.
- ``Task``: WhatId, TaskSubtype (Call, Email), ActivityDate or CreatedDate,
  OwnerId, IsDeleted; ``Event`` the same with Subject for meetings.
- ``CurrencyType``: IsoCode, ConversionRate, IsCorporate;
  ``DatedConversionRate``: IsoCode, ConversionRate, StartDate, NextStartDate.

The outcome comes from IsClosed/IsWon (or the stage's own flags), never
from stage labels. CloseDate is a date: the end of that day in the export's
time zone; on an open opportunity it is the expected close.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import normalise_label
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.fx import CURRENCY as CURRENCY_CODE
from analysis.ingest.fx import RATE, Rates, base_currency, check_rates, rates_frame
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    StageRow,
    VendorExport,
    VendorOptions,
    as_timestamps,
    column,
    convert_amounts,
    end_of_local_day,
    latest,
    pipeline_from_stages,
    stage_config,
    stage_rows_from_history,
    table_map,
    truthy,
    values_text,
)

NAME = "salesforce"
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
    ),
    "OpportunityHistory": ("OpportunityId", "StageName", "CreatedDate", "IsDeleted"),
    "OpportunityFieldHistory": (
        "OpportunityId",
        "Field",
        "OldValue",
        "NewValue",
        "CreatedDate",
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

OPPORTUNITY_ID_PREFIX = "006"  # key prefix of Opportunity ids (WhatId of a task on a deal)

OUTCOME = COMPUTED + "outcome"
CLOSE = COMPUTED + "close"
AMOUNT = COMPUTED + "amount"
SEGMENT = COMPUTED + "segment"
CURRENCY = COMPUTED + "currency"
TYPE = COMPUTED + "type"
STAGE = COMPUTED + "stage"
AT = COMPUTED + "at"
NAME_COLUMN = COMPUTED + "name"


def detect(files: ExportFiles) -> bool:
    """An export is Salesforce's when it has an Opportunity file."""
    return files.find(OPPORTUNITY) is not None


def _need(frame: pd.DataFrame, obj: str, files: ExportFiles, *names: str) -> list[str]:
    found = [column(frame, n) for n in names]
    missing = [n for n, f in zip(names, found, strict=True) if f is None]
    if missing:
        raise InputError(
            f"the Salesforce {obj} file lacks {', '.join(missing)}; columns found: "
            f"{', '.join(map(str, frame.columns))}. Export the object with these fields.",
            file=files.used.get(obj, files.folder / obj),
            column=missing[0],
        )
    return [str(f) for f in found]


def _deleted(frame: pd.DataFrame) -> np.ndarray:
    col = column(frame, "IsDeleted")
    if col is None:
        return np.zeros(len(frame), dtype=bool)
    return truthy(frame[col]).fillna(False).to_numpy(dtype=bool)


def _custom(frame: pd.DataFrame, *patterns: str) -> str | None:
    """A field whose API name or label matches one of the regex ``patterns``."""
    for pattern in patterns:
        for name in frame.columns:
            if re.search(pattern, str(name), flags=re.IGNORECASE):
                return str(name)
    return None


# --- pipeline ---------------------------------------------------------------------


def _stage_rows(stages: pd.DataFrame, files: ExportFiles) -> tuple[list[StageRow], dict]:
    label, order, closed, won = _need(
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


def _outcomes(opp: pd.DataFrame, cols: dict, stage_flags: dict[str, tuple[bool, bool]]):
    """won / lost / open from IsClosed and IsWon, else from the stage's own flags."""
    if cols["IsClosed"] and cols["IsWon"]:
        closed = truthy(opp[cols["IsClosed"]])
        won = truthy(opp[cols["IsWon"]])
    else:
        flags = {normalise_label(k): v for k, v in stage_flags.items()}
        looked = opp[cols["StageName"]].map(lambda s: flags.get(normalise_label(str(s))))
        closed = looked.map(lambda f: pd.NA if f is None else f[0]).astype("boolean")
        won = looked.map(lambda f: pd.NA if f is None else f[1]).astype("boolean")
    out = np.where(won.fillna(False), c.WON, np.where(closed.fillna(False), c.LOST, c.OPEN))
    unknown = closed.isna() | (closed.fillna(False) & won.isna())
    return pd.Series(out, index=opp.index, dtype="str").where(~unknown.to_numpy())


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
        code, rate = _need(types, "CurrencyType", files, "IsoCode", "ConversionRate")
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
        code, rate, start = _need(
            dated, "DatedConversionRate", files, "IsoCode", "ConversionRate", "StartDate"
        )
        nxt = column(dated, "NextStartDate")
        bounds = [_dates(dated, start, path), None if nxt is None else _dates(dated, nxt, path)]
        table = rates_frame(dated[code], dated[rate], *bounds)
        check_rates(table, path, {CURRENCY_CODE: code, RATE: rate})
        parts.append(table)
    if not parts:
        return None, None
    table = pd.concat(parts, ignore_index=True)
    return Rates(table=table, base=corporate, source="CurrencyType/DatedConversionRate"), corporate


def _dates(frame: pd.DataFrame, name: str, path) -> pd.Series:
    """A date column of a rates file; an unreadable value stops ingest (rates must be exact)."""
    from analysis.ingest.parse import parse_timestamps

    parsed = parse_timestamps(frame[name], timezone="UTC", dayfirst=False)
    bad = parsed.bad.fillna(False).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0]) + 1
        raise InputError(
            "this date of an exchange rate cannot be read.", file=path, column=name, row=row
        )
    return parsed.values.astype("datetime64[us, UTC]")


def _money(opp: pd.DataFrame, cols: dict, files: ExportFiles, options: VendorOptions, notes):
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


# --- tables -----------------------------------------------------------------------


def _deals(files: ExportFiles, options: VendorOptions, stages_meta, notes) -> tuple:
    opp = files.read(OPPORTUNITY, required=True)
    assert opp is not None
    path = files.used[OPPORTUNITY]
    _need(opp, OPPORTUNITY, files, "Id", "StageName", "CreatedDate")
    cols = {name: column(opp, name) for name in FIELDS[OPPORTUNITY]}
    stage_flags = stages_meta.get("flags", {})
    if not (cols["IsClosed"] and cols["IsWon"]) and not stage_flags:
        raise InputError(
            "the Opportunity file has no IsClosed and IsWon, and there is no OpportunityStage "
            "file to tell closed and won stages; export IsClosed and IsWon with the "
            "opportunities (the outcome is never guessed from stage names).",
            file=path,
            column="IsWon",
        )
    opp = opp.copy()
    opp[OUTCOME] = _outcomes(opp, cols, stage_flags)
    opp[CLOSE] = (
        end_of_local_day(opp[cols["CloseDate"]], options.timezone)
        if cols["CloseDate"]
        else pd.Series(pd.NA, index=opp.index, dtype="str")
    )
    spec: dict[str, str | ColumnSpec] = {
        c.DEAL_ID: cols["Id"],
        c.CREATED_AT: cols["CreatedDate"],
        c.OUTCOME: OUTCOME,
        c.CLOSED_AT: CLOSE,
        c.STAGE: cols["StageName"],
    }
    money, reporting = _money(opp, cols, files, options, notes)
    spec.update(money)
    spec[c.SEGMENT] = ColumnSpec(source=_segment(opp, cols, files), allow_null=True)
    for canonical, found in (
        (c.SOURCE, cols["LeadSource"]),
        (c.OWNER_ID, cols["OwnerId"]),
        (c.ACCOUNT_ID, cols["AccountId"]),
        (c.LOSS_REASON, _custom(opp, r"lo(?:ss|st)_?\s?reason", r"reason.*lo(?:ss|st)")),
        (c.COMPETITOR, _custom(opp, r"competitor")),
        (c.REGION, _custom(opp, r"^region", r"territory")),
        (c.PRODUCT, _custom(opp, r"^product")),
    ):
        if found is not None:
            spec[canonical] = found
    tmap = table_map(c.DEALS, path, spec, options.timezone)
    flags = {r.DELETED_IN_SOURCE: _deleted(opp)}
    stamps = [opp[cols[k]] for k in ("SystemModstamp", "LastModifiedDate") if cols[k]]
    return AdaptedTable(c.DEALS, opp, tmap, path, flags), opp, cols, reporting, stamps


def _segment(opp: pd.DataFrame, cols: dict, files: ExportFiles) -> str:
    """B2B/B2C from a segment field, else from the account being a Person Account."""
    own = _custom(opp, r"segment")
    if own is not None:
        opp[SEGMENT] = (
            values_text(opp[own]).str.upper().where(lambda s: s.isin(["B2B", "B2C"]), opp[own])
        )
        return SEGMENT
    accounts = files.read("Account")
    opp[SEGMENT] = pd.Series(pd.NA, index=opp.index, dtype="str")
    if accounts is None or cols["AccountId"] is None:
        return SEGMENT
    acc_id, person = column(accounts, "Id"), column(accounts, "IsPersonAccount")
    if acc_id is None or person is None:
        return SEGMENT
    is_person = dict(zip(accounts[acc_id].astype("str"), truthy(accounts[person]), strict=True))
    looked = opp[cols["AccountId"]].astype("str").map(is_person)
    opp[SEGMENT] = looked.map({True: c.B2C, False: c.B2B}).astype("str")
    return SEGMENT


def _history(files: ExportFiles, options: VendorOptions, deals_opp, deal_cols):
    history = files.read("OpportunityHistory")
    if history is not None:
        path = files.used["OpportunityHistory"]
        deal, stage, at = _need(
            history, "OpportunityHistory", files, "OpportunityId", "StageName", "CreatedDate"
        )
        frame = history.copy()
        frame[STAGE] = frame[stage]
        frame[AT] = frame[at]
    else:
        history = files.read("OpportunityFieldHistory")
        if history is None:
            return None
        path = files.used["OpportunityFieldHistory"]
        deal, field, old, new, at = _need(
            history,
            "OpportunityFieldHistory",
            files,
            "OpportunityId",
            "Field",
            "OldValue",
            "NewValue",
            "CreatedDate",
        )
        frame = history.copy()
        kind = frame[field].astype("str").str.strip().str.lower()
        first_old = (
            frame[kind == "stagename"]
            .assign(_t=as_timestamps(frame.loc[kind == "stagename", at], "UTC"))
            .sort_values("_t")
            .drop_duplicates(deal)
            .set_index(deal)[old]
        )
        current = dict(
            zip(deals_opp[deal_cols["Id"]], deals_opp[deal_cols["StageName"]], strict=True)
        )
        initial = frame[deal].map(first_old).fillna(frame[deal].map(current))
        frame[STAGE] = np.where(
            kind == "stagename", frame[new], np.where(kind == "created", initial, None)
        )
        frame[AT] = frame[at]
    stamps = as_timestamps(frame[AT], options.timezone)
    keyed = pd.DataFrame(
        {"d": frame[deal], "s": frame[STAGE], "t": stamps, "i": np.arange(len(frame))}
    )
    keyed = keyed[keyed["s"].notna() & ~_deleted(frame)].sort_values(["d", "t", "i"], kind="stable")
    prev = keyed.groupby("d", sort=False)["s"].shift()
    change = keyed.loc[prev.isna() | (normalise_series(keyed["s"]) != normalise_series(prev)), "i"]
    is_change = np.zeros(len(frame), dtype=bool)
    is_change[change.to_numpy()] = True
    deleted = _deleted(frame)
    flags = {r.DELETED_IN_SOURCE: deleted, r.NOT_A_STAGE_CHANGE: ~is_change & ~deleted}
    tmap = table_map(
        c.STAGE_EVENTS, path, {c.DEAL_ID: deal, c.STAGE: STAGE, c.ENTERED_AT: AT}, options.timezone
    )
    return AdaptedTable(c.STAGE_EVENTS, frame, tmap, path, flags)


def _lower(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name is None:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[name].astype("str").str.strip().str.lower().fillna("")


def normalise_series(s: pd.Series) -> pd.Series:
    """Stage labels as matching keys, one Python call per distinct label."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    keys = np.array([normalise_label(u) for u in uniques] + [None], dtype=object)
    return pd.Series(keys[codes], index=s.index)


def _reps(files: ExportFiles, options: VendorOptions):
    users = files.read("User")
    if users is None:
        return None
    path = files.used["User"]
    (uid,) = _need(users, "User", files, "Id")
    users = users.copy()
    name = column(users, "Name")
    if name is None:
        first, last = column(users, "FirstName"), column(users, "LastName")
        parts = [users[x].fillna("").astype("str") for x in (first, last) if x is not None]
        users[NAME_COLUMN] = (parts[0] + " " + parts[1]).str.strip() if len(parts) == 2 else pd.NA
        name = NAME_COLUMN if parts else None
    spec: dict[str, str] = {c.REP_ID: uid}
    if name is not None:
        spec[c.NAME] = name
    team = column(users, "Department", "Division")
    if team is not None:
        spec[c.TEAM] = team
    return AdaptedTable(c.REPS, users, table_map(c.REPS, path, spec, options.timezone), path)


def _activities(files: ExportFiles, options: VendorOptions) -> AdaptedTable | None:
    tasks = files.read("Task")
    obj = "Task"
    if tasks is None:
        tasks, obj = files.read("Event"), "Event"
        if tasks is None:
            return None
    path = files.used[obj]
    (what,) = _need(tasks, obj, files, "WhatId")
    tasks = tasks.copy()
    if obj == "Task":
        subtype = column(tasks, "TaskSubtype")
        kind = _lower(tasks, subtype)
        kind = kind.where(kind != "task", _lower(tasks, column(tasks, "Type")))
        tasks[TYPE] = kind.map(
            {"call": c.CALL, "email": c.EMAIL, "listemail": c.EMAIL, "meeting": c.MEETING}
        )
        at = None
        for name in ("CompletedDateTime", "CreatedDate", "ActivityDate"):
            found = column(tasks, name)
            if found is not None:
                at = tasks[found] if at is None else at.fillna(tasks[found])
        if at is None:
            _need(tasks, obj, files, "CreatedDate")
        tasks[AT] = at
    else:
        tasks[TYPE] = c.MEETING
        when = column(tasks, "ActivityDateTime", "StartDateTime", "CreatedDate")
        if when is None:
            _need(tasks, obj, files, "ActivityDateTime")
        tasks[AT] = tasks[when]
    on_deal = tasks[what].astype("str").str.startswith(OPPORTUNITY_ID_PREFIX).fillna(False)
    not_touch = tasks[TYPE].isna().to_numpy()
    deleted = _deleted(tasks)
    flags = {
        r.DELETED_IN_SOURCE: deleted,
        r.OUT_OF_SCOPE: (~on_deal.to_numpy() | not_touch) & ~deleted,
    }
    spec = {c.DEAL_ID: what, c.AT: AT, c.ACTIVITY_TYPE: TYPE}
    owner = column(tasks, "OwnerId")
    if owner is not None:
        spec[c.REP_ID] = owner
    return AdaptedTable(
        c.ACTIVITIES, tasks, table_map(c.ACTIVITIES, path, spec, options.timezone), path, flags
    )


def adapt(files: ExportFiles, options: VendorOptions) -> VendorExport:
    """Read a Salesforce export folder into canonical tables.

    Raises
    ------
    InputError
        When the Opportunity file is missing or lacks Id, StageName or
        CreatedDate, or the outcome cannot be read (no IsClosed/IsWon and no
        OpportunityStage).
    """
    notes: list[str] = []
    stage_file = files.read("OpportunityStage")
    meta: dict = {}
    rows = None
    if stage_file is not None:
        rows, extra = _stage_rows(stage_file, files)
        meta = {"flags": {row.label: (row.closed, row.won) for row in rows}, **extra}
        for api, label in extra["extra"].items():
            if label in meta["flags"]:
                meta["flags"][api] = meta["flags"][label]
    deals, opp, cols, reporting, stamps = _deals(files, options, meta, notes)
    events = _history(files, options, opp, cols)
    if rows is None:
        outcomes = dict(zip(opp[cols["Id"]], opp[OUTCOME], strict=True))
        if events is not None:
            ev = events.raw
            keep = ~events.flags[r.NOT_A_STAGE_CHANGE] & ~events.flags[r.DELETED_IN_SOURCE]
            frame = pd.DataFrame(
                {
                    "d": ev[events.tmap.columns[c.DEAL_ID].source][keep],
                    "s": ev[STAGE][keep],
                    "t": as_timestamps(ev[AT], "UTC")[keep],
                }
            )
            rows = stage_rows_from_history(frame, "d", "s", "t", outcomes)
            notes.append("no OpportunityStage file: stage order learnt from the stage history.")
        else:
            rows = _rows_from_probability(opp, cols)
            notes.append("no OpportunityStage file and no history: stages ordered by Probability.")
    used = set(opp[cols["StageName"]].dropna().astype("str").str.strip())
    if events is not None:
        used |= set(events.raw[STAGE].dropna().astype("str").str.strip())
    inactive = set(meta.get("inactive", ()))
    rows = [row for row in rows if row.label not in inactive or row.label in used]
    pipeline = pipeline_from_stages("salesforce", rows, meta.get("extra"))
    tables = {c.DEALS: deals}
    if events is not None:
        tables[c.STAGE_EVENTS] = events
    else:
        notes.append(
            "no OpportunityHistory or OpportunityFieldHistory file: no stage events; export "
            "one of them for stage conversion and time in stage."
        )
    # Tasks are the largest file by far: read when ingest gets to them, not now.
    task_obj = "Task" if files.find("Task") is not None else "Event"
    if files.find(task_obj) is not None:
        files.used[task_obj] = files.find(task_obj)
        if task_obj == "Task" and files.find("Event") is not None:
            notes.append("Event file not read: activities come from Task (calls and emails).")
        tables[c.ACTIVITIES] = lambda: _activities(files, options)
    reps = _reps(files, options)
    if reps is not None:
        tables[c.REPS] = reps
    history_stamps = [events.raw[AT]] if events is not None else []
    as_of = options.as_of or latest(*stamps, *history_stamps, timezone=options.timezone)
    return VendorExport(
        vendor=NAME,
        tables=tables,
        stages=stage_config([pipeline]),
        inputs=dict(files.used),
        ignored_files=files.ignored(),
        as_of=as_of,
        reporting_currency=reporting,
        notes=tuple(notes),
        stripped=files.stripped,  # the same dict: lazy tables add to it
    )


def _rows_from_probability(opp: pd.DataFrame, cols: dict) -> list[StageRow]:
    prob = cols["Probability"]
    stage = cols["StageName"]
    frame = pd.DataFrame(
        {
            "s": opp[stage],
            "p": pd.to_numeric(opp[prob], errors="coerce") if prob else 0.0,
            "o": opp[OUTCOME],
        }
    ).dropna(subset=["s"])
    rows = []
    for label, group in frame.groupby("s"):
        outcome = group["o"].mode()
        o = outcome.iloc[0] if len(outcome) else c.OPEN
        rows.append(StageRow(str(label), float(group["p"].median()), o != c.OPEN, o == c.WON))
    return rows
