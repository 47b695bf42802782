"""Salesforce exports: Data Loader, Data Export and Workbench CSVs of the standard objects.

Objects and fields read (Salesforce Object Reference, standard objects):

- ``Opportunity`` (required): Id, IsDeleted, AccountId, StageName, Amount,
  CloseDate, LeadSource, IsClosed, IsWon, CurrencyIsoCode (multi-currency
  orgs), OwnerId, CreatedDate, LastModifiedDate, SystemModstamp, Probability,
  ForecastCategoryName; custom
  fields whose name holds "segment", "loss/lost reason" or "competitor".
- ``OpportunityHistory``: OpportunityId, StageName, Amount, CloseDate,
  Probability, ForecastCategory, CreatedDate, CreatedById, IsDeleted.
  One row per change of stage, amount, probability, close date or forecast
  category; only the rows whose stage differs from the one before are stage
  events. Or ``OpportunityFieldHistory``: OpportunityId, Field, OldValue,
  NewValue, CreatedDate, CreatedById (rows of Field ``StageName``, and
  ``created``). ``deal_changes`` come from OpportunityFieldHistory (its rows
  of Amount, CloseDate, StageName, Probability and ForecastCategoryName),
  else from comparing consecutive OpportunityHistory rows; each file is read
  once (:mod:`~analysis.ingest.vendors.salesforce_changes`).
- ``OpportunityStage``: MasterLabel, ApiName, SortOrder, IsActive, IsClosed,
  IsWon: the org's pipeline, in the org's language.
- ``Account``: Id, IsPersonAccount (Person Accounts are Salesforce's B2C
  model: B2C when true, B2B when false).
- ``User``: Id, Name (or FirstName, LastName), Department.
- ``Task``: WhatId, TaskSubtype (Call, Email), ActivityDate or CreatedDate,
  OwnerId, IsDeleted; ``Event`` the same with Subject for meetings.
- ``Lead``, ``CampaignMember``, ``Campaign``: the leads table
  (:mod:`~analysis.ingest.vendors.salesforce_leads`).
- ``Order``: the orders table; the Opportunity ``Type`` and ``Contract``: the
  subscriptions table (:mod:`~analysis.ingest.vendors.salesforce_post_sale`).
- ``CurrencyType``: IsoCode, ConversionRate, IsCorporate;
  ``DatedConversionRate``: IsoCode, ConversionRate, StartDate, NextStartDate.

The outcome comes from IsClosed/IsWon (or the stage's own flags), never
from stage labels. CloseDate is a date: the end of that day in the export's
time zone; on an open opportunity it is the expected close.

The objects and the computed Opportunity columns (outcome, money, segment)
are in :mod:`~analysis.ingest.vendors.salesforce_fields`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.vendors.adapted import (
    AdaptedTable,
    ExportFiles,
    VendorExport,
    VendorOptions,
    as_timestamps,
    column,
    custom_column,
    deleted_rows,
    end_of_local_day,
    full_names,
    latest,
    table_map,
)
from analysis.ingest.vendors.salesforce_changes import field_history_changes, snapshot_changes
from analysis.ingest.vendors.salesforce_fields import (
    AT,
    CLOSE,
    FIELDS,
    NAME_COLUMN,
    OPPORTUNITY,
    OUTCOME,
    STAGE,
    TYPE,
    money,
    need,
    outcomes,
    segment,
    stage_rows,
)
from analysis.ingest.vendors.salesforce_leads import LEAD_FIELDS, read_leads
from analysis.ingest.vendors.salesforce_post_sale import (
    POST_SALE_FIELDS,
    read_orders,
    read_subscriptions,
)
from analysis.ingest.vendors.stages import (
    StageRow,
    pipeline_from_stages,
    stage_changes,
    stage_config,
    stage_rows_from_history,
)

NAME = "salesforce"
FIELDS = {**FIELDS, **LEAD_FIELDS, **POST_SALE_FIELDS}  # every object this adapter reads
OPPORTUNITY_ID_PREFIX = "006"  # key prefix of Opportunity ids (WhatId of a task on a deal)


LATEST = "latest"  # attrs key of the history frame: its latest change


def detect(files: ExportFiles) -> bool:
    """An export is Salesforce's when it has an Opportunity file."""
    return files.find(OPPORTUNITY) is not None


# --- tables -----------------------------------------------------------------------


def _deals(files: ExportFiles, options: VendorOptions, stages_meta, notes) -> tuple:
    opp = files.read(OPPORTUNITY, required=True)
    assert opp is not None
    path = files.used[OPPORTUNITY]
    need(opp, OPPORTUNITY, files, "Id", "StageName", "CreatedDate")
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
    # Computed columns go on the frame as read: nothing else holds it, and a copy of a
    # million opportunities costs memory and time.
    opp[OUTCOME] = outcomes(opp, cols, stage_flags)
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
    amounts, reporting = money(opp, cols, files, options, notes)
    spec.update(amounts)
    spec[c.SEGMENT] = ColumnSpec(source=segment(opp, cols, files), allow_null=True)
    for canonical, found in (
        (c.SOURCE, cols["LeadSource"]),
        (c.OWNER_ID, cols["OwnerId"]),
        (c.ACCOUNT_ID, cols["AccountId"]),
        (c.LOSS_REASON, custom_column(opp, r"lo(?:ss|st)_?\s?reason", r"reason.*lo(?:ss|st)")),
        (c.COMPETITOR, custom_column(opp, r"competitor")),
        (c.REGION, custom_column(opp, r"^region", r"territory")),
        (c.PRODUCT, custom_column(opp, r"^product")),
        (c.PROBABILITY, cols["Probability"]),
        (c.FORECAST_CATEGORY, cols["ForecastCategoryName"]),
    ):
        if found is not None:
            spec[canonical] = found
    tmap = table_map(c.DEALS, path, spec, options.timezone)
    flags = {r.DELETED_IN_SOURCE: deleted_rows(opp, "IsDeleted")}
    stamps = [opp[cols[k]] for k in ("SystemModstamp", "LastModifiedDate") if cols[k]]
    return AdaptedTable(c.DEALS, opp, tmap, path, flags), opp, cols, reporting, stamps


def _history(files: ExportFiles, options: VendorOptions, deals_opp, deal_cols, found):
    """Stage events from OpportunityHistory, else from OpportunityFieldHistory (``found``)."""
    obj, history = found
    path = files.used[obj]
    if obj == "OpportunityHistory":
        deal, stage, at = need(
            history, "OpportunityHistory", files, "OpportunityId", "StageName", "CreatedDate"
        )
        frame = history.assign(**{STAGE: history[stage], AT: history[at]})
    else:
        deal, field, old, new, at = need(
            history,
            "OpportunityFieldHistory",
            files,
            "OpportunityId",
            "Field",
            "OldValue",
            "NewValue",
            "CreatedDate",
        )
        kind = history[field].astype("str").str.strip().str.lower()
        first_old = (
            history[kind == "stagename"]
            .assign(_t=as_timestamps(history.loc[kind == "stagename", at], "UTC"))
            .sort_values("_t")
            .drop_duplicates(deal)
            .set_index(deal)[old]
        )
        current = dict(
            zip(deals_opp[deal_cols["Id"]], deals_opp[deal_cols["StageName"]], strict=True)
        )
        initial = history[deal].map(first_old).fillna(history[deal].map(current))
        frame = history.assign(
            **{
                STAGE: np.where(
                    kind == "stagename", history[new], np.where(kind == "created", initial, None)
                ),
                AT: history[at],
            }
        )
    stamps = as_timestamps(frame[AT], options.timezone)
    frame.attrs = dict(history.attrs)
    frame.attrs[LATEST] = stamps.max()  # the history's last change, for the export's time
    deleted = deleted_rows(frame, "IsDeleted")
    judge = frame[STAGE].notna().to_numpy() & ~deleted
    is_change = stage_changes(frame[deal], frame[STAGE], stamps, judge)
    flags = {r.DELETED_IN_SOURCE: deleted, r.NOT_A_STAGE_CHANGE: ~is_change & ~deleted}
    tmap = table_map(
        c.STAGE_EVENTS, path, {c.DEAL_ID: deal, c.STAGE: STAGE, c.ENTERED_AT: AT}, options.timezone
    )
    return AdaptedTable(c.STAGE_EVENTS, frame, tmap, path, flags)


def _changes(files: ExportFiles, options: VendorOptions, found: dict, notes: list[str]):
    """``deal_changes`` from OpportunityFieldHistory, else from OpportunityHistory's snapshots."""
    if "OpportunityFieldHistory" in found:
        history = found["OpportunityFieldHistory"]
        names = need(
            history, "OpportunityFieldHistory", files,
            "OpportunityId", "Field", "OldValue", "NewValue", "CreatedDate",
        )  # fmt: skip
        return field_history_changes(history, files.used["OpportunityFieldHistory"], names, options)
    if "OpportunityHistory" in found:
        history = found["OpportunityHistory"]
        names = need(history, "OpportunityHistory", files, "OpportunityId", "CreatedDate")
        path = files.used["OpportunityHistory"]
        return snapshot_changes(history, path, names, options, notes)
    return None


def _lower(frame: pd.DataFrame, name: str | None) -> pd.Series:
    if name is None:
        return pd.Series("", index=frame.index, dtype="str")
    return frame[name].astype("str").str.strip().str.lower().fillna("")


def _reps(files: ExportFiles, options: VendorOptions):
    users = files.read("User")
    if users is None:
        return None
    path = files.used["User"]
    (uid,) = need(users, "User", files, "Id")
    users = users.copy()
    name = column(users, "Name")
    if name is None:
        first, last = column(users, "FirstName"), column(users, "LastName")
        users[NAME_COLUMN] = full_names(users, first, last)
        name = None if first is None and last is None else NAME_COLUMN
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
    (what,) = need(tasks, obj, files, "WhatId")
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
            need(tasks, obj, files, "CreatedDate")
        tasks[AT] = at
    else:
        tasks[TYPE] = c.MEETING
        when = column(tasks, "ActivityDateTime", "StartDateTime", "CreatedDate")
        if when is None:
            need(tasks, obj, files, "ActivityDateTime")
        tasks[AT] = tasks[when]
    on_deal = tasks[what].astype("str").str.startswith(OPPORTUNITY_ID_PREFIX).fillna(False)
    not_touch = tasks[TYPE].isna().to_numpy()
    deleted = deleted_rows(tasks, "IsDeleted")
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
        rows, extra = stage_rows(stage_file, files)
        meta = {"flags": {row.label: (row.closed, row.won) for row in rows}, **extra}
        for api, label in extra["extra"].items():
            if label in meta["flags"]:
                meta["flags"][api] = meta["flags"][label]
    deals, opp, cols, reporting, stamps = _deals(files, options, meta, notes)
    # Each history file is read once: the stage events and the changes share it.
    found = {
        obj: frame
        for obj in ("OpportunityHistory", "OpportunityFieldHistory")
        if (frame := files.read(obj)) is not None
    }
    events = _history(files, options, opp, cols, next(iter(found.items()))) if found else None
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
    used = set(opp[cols["StageName"]].dropna().astype("str").str.strip().unique())
    if events is not None:
        used |= set(events.raw[STAGE].dropna().astype("str").str.strip().unique())
    inactive = set(meta.get("inactive", ()))
    rows = [row for row in rows if row.label not in inactive or row.label in used]
    pipeline = pipeline_from_stages("salesforce", rows, meta.get("extra"))
    tables = {c.DEALS: deals}
    if events is not None:
        tables[c.STAGE_EVENTS] = events
    changes = _changes(files, options, found, notes)
    if changes is not None:
        tables[c.DEAL_CHANGES] = changes
    if events is None:
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
    leads = read_leads(files, options)
    if leads is not None:
        tables[c.LEADS] = leads
    as_of = options.as_of or latest(*stamps, timezone=options.timezone)
    if options.as_of is None and events is not None and pd.notna(events.raw.attrs[LATEST]):
        changed = events.raw.attrs[LATEST]
        as_of = changed if as_of is None else max(as_of, changed)
    orders = read_orders(files, options, notes)
    if orders is not None:
        tables[c.ORDERS] = orders
    subscriptions = read_subscriptions(files, options, opp, cols, as_of, notes)
    if subscriptions is not None:
        tables[c.SUBSCRIPTIONS] = subscriptions
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
