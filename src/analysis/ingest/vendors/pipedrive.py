"""Pipedrive exports: the deals list, its stages and pipelines, users and the deals' change log.

Files and fields read (Pipedrive API reference: Deals, Stages, Pipelines,
Users, DealFields and a deal's updates flow; docs/vendors/pipedrive.md):

- deals (required; a file whose name starts with ``deals``): id, value,
  currency, status (open, won, lost, deleted), stage_id, pipeline_id,
  user_id (v1) or owner_id (v2), add_time, update_time, won_time, lost_time,
  close_time, lost_reason, expected_close_date, is_deleted; a custom field
  whose name holds "segment". The web app's export labels each field
  ``Deal - <label>`` (``Deal - Deal created`` is add_time) and gives the
  stage, pipeline and owner by name.
- stages (required): id, name, pipeline_id, order_nr, active_flag
  (pipeline_name where the file has it).
- pipelines: id, name, order_nr.
- users: id, name.
- the deals' updates flow (``deal_flow``, ``deal_updates``, ``deal_changelog``;
  CSV, or the API's JSON as ``deal_flow.json``): its dealChange items,
  item_id (or deal_id), field_key, old_value, new_value, log_time (or time),
  user_id. Only ``stage_id`` changes are stage events; changes of value,
  expected_close_date, stage_id, probability and status (won, lost) are
  ``deal_changes`` (:mod:`~analysis.ingest.vendors.pipedrive_flow`).
- dealFields: key, name (names of the custom fields that an API export
  gives as hashed keys).

Won and lost are statuses in Pipedrive, not stages: every pipeline gets the
terminal stages ``won`` and ``lost``, entered at won_time or lost_time.
Neither that entry nor the entry into the first stage at add_time is a row
of the flow, so the adapter adds them after the flow's rows (column
``workbench: from`` names the deals row and field each comes from).

Times without an offset are UTC in files that use the API's field names (the
API's convention) and in ``--timezone`` in the web app's export (the user's
zone); date-only fields are the end of that day in ``--timezone``.

The field vocabulary is in :mod:`~analysis.ingest.vendors.pipedrive_fields`,
the pipelines and stage events in :mod:`~analysis.ingest.vendors.pipedrive_stages`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import normalise_label
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.fx import convert_amounts
from analysis.ingest.parse import parse_money
from analysis.ingest.read import read_header
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorExport,
    VendorOptions,
    as_timestamps,
    deleted_rows,
    end_of_local_day,
    latest,
    segment_values,
    table_map,
    values_text,
)
from analysis.ingest.vendors.pipedrive_fields import (
    DEALS,
    FIELDS,
    UI_PREFIX,
    USERS,
    custom_field,
    custom_field_names,
    deals_path,
    field,
    ids_text,
    is_web_export,
    lower_text,
    need,
)
from analysis.ingest.vendors.pipedrive_flow import flow_changes, read_flow
from analysis.ingest.vendors.pipedrive_stages import (
    AT,
    STAGE,
    DealFacts,
    StageList,
    pipelines_in_use,
    read_events,
    read_stage_list,
)
from analysis.ingest.vendors.stages import (
    stage_config,
)

NAME = "pipedrive"
STATUSES = {"won": c.WON, "lost": c.LOST, "open": c.OPEN}

OUTCOME = COMPUTED + "outcome"
CLOSE = COMPUTED + "close"
EXPECTED = COMPUTED + "expected_close"
PIPELINE = COMPUTED + "pipeline"
OWNER = COMPUTED + "owner"
SEGMENT = COMPUTED + "segment"
CURRENCY = COMPUTED + "currency"
AMOUNT = COMPUTED + "amount"


def detect(files: ExportFiles) -> bool:
    """Pipedrive's when the deals file has ``Deal - `` labels or the API's stage_id and add_time."""
    path = deals_path(files)
    if path is None:
        return False
    try:
        header = {str(h).strip().lower() for h in read_header(path)}
    except InputError:
        return False
    ui = any(h.startswith(UI_PREFIX.lower()) for h in header)
    return ui or {"stage_id", "add_time"} <= header


def _owner_ids(owners: pd.Series, users: pd.DataFrame | None) -> pd.Series:
    """Owners as user ids: the web export names the owner, the users file maps names to ids."""
    if users is None or field(users, "name") is None or field(users, "id") is None:
        return owners
    ids = ids_text(users[field(users, "id")])
    by_name = dict(
        zip(values_text(users[field(users, "name")]).map(normalise_label), ids, strict=True)
    )
    codes, uniques = pd.factorize(owners, use_na_sentinel=True)  # one lookup per owner
    found = np.array([by_name.get(normalise_label(u)) for u in uniques] + [None], dtype=object)
    named = pd.Series(found[codes], index=owners.index)
    return owners.where(owners.isin(ids) | named.isna(), named)


def _money(
    deals: pd.DataFrame,
    value: str | None,
    currency: str | None,
    at: pd.Series,
    options: VendorOptions,
    notes: list[str],
) -> tuple[dict[str, str | ColumnSpec], str | None]:
    """Amount columns and the reporting currency: converted with ``--fx-rates`` when given."""
    if value is None:
        return {c.AMOUNT: ColumnSpec(constant=None)}, None
    if currency is None:
        return {c.AMOUNT: value}, None
    deals[CURRENCY] = values_text(deals[currency]).str.upper()
    specs: dict[str, str | ColumnSpec] = {c.CURRENCY: CURRENCY, c.AMOUNT_ORIGINAL: value}
    codes = sorted(set(deals[CURRENCY].dropna().unique()))
    rates = options.rates
    if rates is None:
        specs[c.AMOUNT] = value
        if len(codes) > 1:
            notes.append(
                f"deals are in {len(codes)} currencies ({', '.join(codes)}) and Pipedrive exports "
                "no exchange rates: amounts are left as exported; give --fx-rates to convert them."
            )
        return specs, codes[0] if len(codes) == 1 else None
    deals[AMOUNT], reporting = convert_amounts(
        parse_money(deals[value]).values,
        deals[CURRENCY],
        deals[OUTCOME],
        at,
        at,
        rates,
        options.reporting_currency,
        notes,
    )
    specs[c.AMOUNT] = AMOUNT
    return specs, reporting


def _close(deals: pd.DataFrame, cols: dict, outcome: pd.Series) -> tuple[pd.Series, pd.Series]:
    """When won and lost deals closed (won_time, lost_time, else close_time), and the field used."""
    close = pd.Series(pd.NA, index=deals.index, dtype="str")
    source = pd.Series(pd.NA, index=deals.index, dtype="str")
    for api, status in (("won_time", c.WON), ("lost_time", c.LOST), ("close_time", None)):
        if cols[api] is None:
            continue
        rows = (outcome == status) if status else outcome.isin([c.WON, c.LOST])
        fill = rows.fillna(False) & close.isna() & deals[cols[api]].notna()
        close = close.mask(fill, values_text(deals[cols[api]]))
        source = source.mask(fill, api)
    return close, source


def _outcome(deals: pd.DataFrame, status: str, cols: dict) -> tuple[pd.Series, np.ndarray]:
    """won / lost / open from status (other values kept, so ingest flags them); deleted rows."""
    state = lower_text(deals[status])
    deleted = (state == "deleted").fillna(False).to_numpy(dtype=bool)
    if cols["is_deleted"] is not None:
        deleted |= deleted_rows(deals, cols["is_deleted"])
    return state.map(STATUSES).fillna(values_text(deals[status])), deleted


def _segment(deals: pd.DataFrame, names: dict[str, str]) -> pd.Series:
    """B2B/B2C from a custom field whose name holds "segment" (missing without one)."""
    found = custom_field(deals, names, r"segment")
    if found is None:
        return pd.Series(pd.NA, index=deals.index, dtype="str")
    return segment_values(deals[found])


def _stage_and_pipeline(
    deals: pd.DataFrame, cols: dict, stage_list: StageList
) -> tuple[pd.Series, pd.Series]:
    """Each deal's current open stage (a label) and its canonical pipeline."""
    none = pd.Series(pd.NA, index=deals.index, dtype="str")
    stage = cols["stage_id"]
    current = none if stage is None else stage_list.labels(deals[stage])
    if cols["pipeline_id"] is not None:
        pipeline = stage_list.pipelines(deals[cols["pipeline_id"]])
    elif stage is not None:
        pipeline = ids_text(deals[stage]).map(stage_list.pipeline_by_stage)
    else:
        pipeline = none
    return current, pipeline


def _deals(
    files: ExportFiles,
    path: Path,
    options: VendorOptions,
    stage_list: StageList,
    users: pd.DataFrame | None,
    names: dict[str, str],
    notes: list[str],
) -> tuple[AdaptedTable, DealFacts, str | None]:
    """The deals table (one row per file row, deleted deals flagged) and what the events need."""
    deals = files.read(DEALS, path.stem)
    assert deals is not None
    deal_id, status, added = need(deals, DEALS, path, "id", "status", "add_time")
    cols = {api: field(deals, api) for api in FIELDS[DEALS]}
    tz = options.timezone if is_web_export(deals) else "UTC"
    deals = deals.copy()
    deals[OUTCOME], deleted = _outcome(deals, status, cols)
    deals[CLOSE], close_field = _close(deals, cols, deals[OUTCOME])
    expected = cols["expected_close_date"]
    deals[EXPECTED] = (
        end_of_local_day(deals[expected], options.timezone).where(deals[OUTCOME] == c.OPEN)
        if expected
        else pd.Series(pd.NA, index=deals.index, dtype="str")
    )
    current, deals[PIPELINE] = _stage_and_pipeline(deals, cols, stage_list)
    terminal = deals[OUTCOME].where(deals[OUTCOME].isin([c.WON, c.LOST]))
    deals[STAGE] = terminal.fillna(current)
    deals[SEGMENT] = _segment(deals, names)
    created = as_timestamps(deals[added], tz)
    closed = as_timestamps(deals[CLOSE], tz)
    spec: dict[str, str | ColumnSpec] = {
        c.DEAL_ID: deal_id,
        c.CREATED_AT: added,
        c.OUTCOME: OUTCOME,
        c.CLOSED_AT: CLOSE,
        c.EXPECTED_CLOSE_AT: EXPECTED,
        c.STAGE: STAGE,
        c.PIPELINE: PIPELINE,
        c.SEGMENT: ColumnSpec(source=SEGMENT, allow_null=True),
    }
    # Closed deals convert at their close, open ones at their creation.
    money, reporting = _money(
        deals, cols["value"], cols["currency"], closed.fillna(created), options, notes
    )
    spec.update(money)
    if cols["user_id"] is not None:
        deals[OWNER] = _owner_ids(ids_text(deals[cols["user_id"]]), users)
        spec[c.OWNER_ID] = OWNER
    if cols["lost_reason"] is not None:
        spec[c.LOSS_REASON] = cols["lost_reason"]
    facts = DealFacts(
        file=path,
        ids=ids_text(deals[deal_id]),
        deleted=deleted,
        outcome=deals[OUTCOME],
        current=current,
        created=created,
        closed=closed,
        close_field=close_field,
        updated=as_timestamps(deals[cols["update_time"]], tz) if cols["update_time"] else None,
    )
    tmap = table_map(c.DEALS, path, spec, tz)
    flags = {r.DELETED_IN_SOURCE: deleted}
    return AdaptedTable(c.DEALS, deals, tmap, path, flags), facts, reporting


# --- users and the whole export ---------------------------------------------------------------


def _reps(users: pd.DataFrame | None, files: ExportFiles) -> AdaptedTable | None:
    if users is None:
        return None
    path = files.used[USERS]
    (uid,) = need(users, USERS, path, "id")
    users = users.copy()
    users[OWNER] = ids_text(users[uid])
    spec = {c.REP_ID: OWNER}
    name = field(users, "name")
    if name is not None:
        spec[c.NAME] = name
    return AdaptedTable(c.REPS, users, table_map(c.REPS, path, spec, "UTC"), path)


def adapt(files: ExportFiles, options: VendorOptions) -> VendorExport:
    """Read a Pipedrive export folder into canonical tables.

    Raises
    ------
    InputError
        When the deals file is missing or lacks id, status or add_time, the
        stages file is missing or lacks id, name or pipeline_id, or the flow
        lacks one of its fields.
    """
    path = deals_path(files)
    if path is None:
        raise InputError(
            "this Pipedrive export has no deals file (a file whose name starts with deals, as "
            "the web app or the API exports the deals list); files found: "
            f"{', '.join(sorted(p.name for p in files.files.values())) or 'none'}.",
            file=files.folder / DEALS,
        )
    notes: list[str] = []
    stage_list = read_stage_list(files)
    names = custom_field_names(files)
    users = files.read(USERS, "user")
    deals, facts, reporting = _deals(files, path, options, stage_list, users, names, notes)
    flow = read_flow(files)  # read once: stage events and deal changes
    events, used = read_events(flow, facts, stage_list, notes)
    stage_col = field(deals.raw, "stage_id")
    if stage_col is not None:
        used |= set(ids_text(deals.raw[stage_col]).dropna().unique())
    config = stage_config(pipelines_in_use(stage_list, used, notes))
    tables = {c.DEALS: deals}
    changes = None if flow is None else flow_changes(flow, facts, stage_list, options)
    for table in (events, changes, _reps(users, files)):
        if table is not None:
            tables[table.table] = table
    # The export's time: the latest update_time (parsed, UTC) or logged change.
    changes = events.raw[AT] if events is not None else None
    as_of = options.as_of or latest(facts.updated, changes, timezone="UTC")
    return VendorExport(
        vendor=NAME,
        tables=tables,
        stages=config,
        inputs=dict(files.used),
        ignored_files=files.ignored(),
        as_of=as_of,
        reporting_currency=reporting,
        notes=tuple(notes),
        stripped=dict(files.stripped),
    )
