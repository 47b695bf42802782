"""HubSpot exports: the deals export (from the UI or the API), its pipelines and owners.

Objects and properties read (HubSpot CRM deal properties, Pipelines and
Owners APIs):

- deals (required): a file whose name holds "deal" (the UI names it
  ``hubspot-crm-exports-<view>-<date>.csv``; ``deals.csv`` from the API),
  with either the UI's property labels or the API's internal names as
  headers (``hubspot_fields.LABELS``): record id, deal stage, pipeline, amount, currency,
  amount in company currency, close date, create date, deal owner, is
  closed / is closed won / is closed lost, closed lost reason, last modified
  date, archived; every "Date entered" property
  (:mod:`analysis.ingest.vendors.hubspot_stages`); custom properties whose
  name holds "segment", "lead source", "competitor", "region", "product".
- ``pipelines.json`` (the CRM Pipelines API response for deals as it comes)
  or ``pipelines.csv`` (one row per stage): labels, display order, isClosed
  and probability of every stage of every pipeline.
- ``owners.csv`` (the Owners API, flattened): id, firstName, lastName, teams.
- an orders export (Commerce orders object) as ``orders``; the deals' Deal
  Type and Monthly recurring revenue as ``subscriptions``; the deals' first
  associated company as their account
  (:mod:`analysis.ingest.vendors.hubspot_post_sale`).
- ``deals_with_history.json`` or ``deal_property_history.csv`` (optional): the
  versions of amount, closedate, dealstage, the stage and forecast
  probabilities and the forecast categories, which become ``deal_changes``
  (:mod:`analysis.ingest.vendors.hubspot_changes`).

The outcome comes from "Is Closed Won" and "Is Deal Closed?" (or the
stage's own isClosed/probability), never from stage labels. A date-only
close date is the end of that day in the export's time zone; on an open deal
it is the expected close. Stage events are the Date-entered cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import normalise_label
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.read import read_header
from analysis.ingest.vendors import hubspot_changes as hc
from analysis.ingest.vendors import hubspot_fields as hf
from analysis.ingest.vendors import hubspot_leads as hl
from analysis.ingest.vendors import hubspot_post_sale as hp
from analysis.ingest.vendors import hubspot_stages as hs
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorExport,
    VendorOptions,
    as_timestamps,
    end_of_local_day,
    latest,
    stem_key,
    table_map,
    values_text,
)
from analysis.ingest.vendors.stages import (
    stage_config,
)

NAME = "hubspot"
DEALS = "deals"
FIELDS: dict[str, tuple[str, ...]] = {
    DEALS: (*hf.LABELS, "hs_v2_date_entered_<stage id>", "hs_date_entered_<stage id>"),
    hs.PIPELINES: hs.PIPELINE_COLUMNS,
    hf.OWNERS: ("id", "firstName", "lastName", "email", "teams"),
    hc.HISTORY: hc.FIELDS,
    hl.CONTACTS: tuple(hl.CONTACT_LABELS),
    hp.ORDERS: tuple(hp.ORDER_LABELS),
}
"""Every object the adapter reads, with the fields it uses (docs/vendors/hubspot.md)."""

PIPELINE = COMPUTED + "pipeline"
ROW, COLUMN, STAGE, AT = (COMPUTED + x for x in ("row", "column", "stage", "at"))


def _is_deals_header(header) -> bool:
    names = {str(h).strip().lower() for h in header}
    return bool(names & {"record id", "hs_object_id"}) and bool(names & {"deal stage", "dealstage"})


def _candidates(files: ExportFiles) -> list:
    keyed = {stem_key(stem): p for stem, p in files.files.items()}
    return [p for k, p in sorted(keyed.items()) if "deal" in k or k.startswith("hubspot")]


def _deals_file(files: ExportFiles):
    for path in _candidates(files):
        try:
            if _is_deals_header(read_header(path)):
                return path
        except InputError:
            continue
    return None


def detect(files: ExportFiles) -> bool:
    """An export is HubSpot's when a deals file has a record id and a deal stage column."""
    return _deals_file(files) is not None


def _read_deals(files: ExportFiles) -> tuple[pd.DataFrame, object]:
    path = _deals_file(files) or next(iter(_candidates(files)), None)
    if path is None:
        raise InputError(
            "this HubSpot export has no deals file, which it needs (export the deals view "
            "with its properties); files found: "
            f"{', '.join(sorted(p.name for p in files.files.values())) or 'none'}.",
            file=files.folder / DEALS,
        )
    deals = files.read_path(DEALS, path)
    hf.need(deals, DEALS, path, "hs_object_id", "dealstage", "createdate")
    return deals, path


# --- stage entries ---------------------------------------------------------------------


def _entries(deals, id_col, entered, pipeline_of, timezone) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per filled Date-entered cell: the raw rows, and (d, s, t, p) for the history."""
    parts = []
    for k, col in enumerate(entered):
        text = values_text(deals[col.header])
        rows = np.flatnonzero(text.notna().to_numpy())
        parts.append(
            pd.DataFrame(
                {
                    id_col: deals[id_col].to_numpy()[rows],
                    ROW: rows + 1,
                    COLUMN: col.header,
                    STAGE: col.stage,
                    AT: text.to_numpy()[rows],
                    "p": pipeline_of[rows] if col.pipeline is None else col.pipeline,
                    "k": k,
                }
            )
        )
    empty = pd.DataFrame(columns=[id_col, ROW, COLUMN, STAGE, AT, "p", "k"])
    frame = pd.concat(parts, ignore_index=True) if parts else empty
    frame["t"] = as_timestamps(frame[AT].astype("str"), timezone)
    frame = frame.sort_values([ROW, "t", "k"], kind="stable").reset_index(drop=True)
    history = frame.rename(columns={id_col: "d", STAGE: "s"})[["d", "s", "t", "p"]]
    return frame[[id_col, ROW, COLUMN, STAGE, AT]], history


def _events_note(n: int, entered, path) -> str:
    return (
        f"stage_events are the {n:,} filled 'Date entered' cells of {path.name} "
        f"({len(entered)} columns, one per stage). A stage a deal skipped has no date and no "
        "event; HubSpot keeps only the latest entry of a stage entered more than once, so "
        "re-entries, and the earlier visits of a deal that moved back, are not in the data. "
        f"A quarantined event's '{ROW}' is its row in {path.name}, '{COLUMN}' its column."
    )


def _pipeline_column(deals, pipes: hs.Pipelines, notes: list) -> np.ndarray:
    """Each deal's canonical pipeline (its HubSpot pipeline's id or label looked up)."""
    found = hf.prop(deals, "pipeline")
    if found is None:
        only = pipes.pipelines[0].name if len(pipes.pipelines) == 1 else pd.NA
        if len(pipes.pipelines) > 1:
            notes.append("the deals file has no Pipeline column: deals.pipeline is empty.")
        return np.full(len(deals), only, dtype=object)
    text = values_text(deals[found])
    named = text.map(lambda v: pipes.names.get(normalise_label(v)) if isinstance(v, str) else v)
    unknown = text.notna() & named.isna()
    if unknown.any():
        notes.append(
            f"{int(unknown.sum()):,} deals name a pipeline the pipelines file does not have "
            f"({', '.join(sorted(set(text[unknown])))}); deals.pipeline keeps it as exported."
        )
    return named.fillna(text).to_numpy(dtype=object)


def _deal_columns(deals, files: ExportFiles, options: VendorOptions, notes: list, path):
    """Canonical deal columns from computed and property columns; the reporting currency; reps."""
    spec: dict[str, str | ColumnSpec] = {
        c.OUTCOME: hf.OUTCOME,
        c.CLOSED_AT: hf.CLOSE,
        c.PIPELINE: PIPELINE,
    }
    money, reporting = hf.money(deals, options, notes, path)
    spec.update(money)
    spec[c.SEGMENT] = ColumnSpec(source=hf.segment_column(deals), allow_null=True)
    reps, owner_names = hf.read_owners(files, options)
    for canonical, found in (
        (c.OWNER_ID, hf.owner_ids(deals, owner_names)),
        (c.LOSS_REASON, hf.prop(deals, "closed_lost_reason")),
        (c.SOURCE, hf.custom(deals, r"lead.?source", r"^hs_analytics_source$")),
        (c.COMPETITOR, hf.custom(deals, r"competitor")),
        (c.REGION, hf.custom(deals, r"^region", r"territory")),
        (c.PRODUCT, hf.custom(deals, r"^product")),
    ):
        if found is not None:
            spec[canonical] = found
    return spec, reporting, reps


# --- the export ------------------------------------------------------------------------


def adapt(files: ExportFiles, options: VendorOptions) -> VendorExport:
    """Read a HubSpot export folder into canonical tables.

    Raises
    ------
    InputError
        When there is no deals file, it lacks the record id, deal stage or
        create date, or the outcome cannot be read (no Is Closed Won with Is
        Deal Closed? or Is closed lost, and no pipelines file); when the
        pipelines or owners file is unusable.
    """
    notes: list[str] = []
    deals, path = _read_deals(files)
    deals = deals.copy()
    id_col, stage_col, created_col = hf.need(
        deals, DEALS, path, "hs_object_id", "dealstage", "createdate"
    )
    meta = hs.read_pipelines(files)
    pipe_col = hf.prop(deals, "pipeline")
    labels = (
        list(meta["pipeline_label"].unique())
        if meta is not None
        else list(values_text(deals[pipe_col]).dropna().unique())
        if pipe_col
        else []
    )
    entered = hs.entered_columns(deals.columns, labels)
    deleted = hf.deleted(deals)
    pipeline_of = (
        values_text(deals[pipe_col]).to_numpy(dtype=object)
        if pipe_col
        else np.full(len(deals), None, dtype=object)
    )
    events, history = _entries(deals, id_col, entered, pipeline_of, options.timezone)
    events_deleted = deleted[events[ROW].to_numpy(dtype=np.int64) - 1]
    used = {normalise_label(str(s)) for s in pd.concat([deals[stage_col], events[STAGE]]).dropna()}
    versions = hc.read_history(files)
    if versions is not None:  # an archived stage the history names stays in its pipeline
        used |= {normalise_label(s) for s in hc.history_stages(versions[0])}
    pipes = hs.from_metadata(meta, used) if meta is not None else None
    # With the pipelines file, a stage's closed and won flags are read in the deal's pipeline.
    pipeline = _pipeline_column(deals, pipes, notes) if pipes is not None else None
    deals[hf.OUTCOME] = hf.outcomes(
        deals,
        pipes.flags if pipes else {},
        path,
        None if pipeline is None else pd.Series(pipeline, index=deals.index),
    )
    close_col = hf.prop(deals, "closedate")
    deals[hf.CLOSE] = (
        end_of_local_day(deals[close_col], options.timezone)
        if close_col
        else pd.Series(pd.NA, index=deals.index, dtype="str")
    )
    if pipes is None:
        current = pd.DataFrame({"d": deals[id_col], "s": deals[stage_col], "p": pipeline_of})
        outcomes = dict(zip(deals[id_col], deals[hf.OUTCOME], strict=True))
        pipes = hs.from_history(history[~events_deleted], current[~deleted], outcomes)
        notes.append(
            "no pipelines file: each pipeline's stage order is learnt from the Date-entered "
            "times; export pipelines.json (docs/vendors/hubspot.md) for HubSpot's own order."
        )
        pipeline = _pipeline_column(deals, pipes, notes)
    deals[PIPELINE] = pipeline
    spec, reporting, reps = _deal_columns(deals, files, options, notes, path)
    spec.update({c.DEAL_ID: id_col, c.CREATED_AT: created_col, c.STAGE: stage_col})
    if hp.company_ids(deals) is not None:
        spec[c.ACCOUNT_ID] = hp.COMPANY
    tables = {
        c.DEALS: AdaptedTable(
            c.DEALS,
            deals,
            table_map(c.DEALS, path, spec, options.timezone),
            path,
            {r.DELETED_IN_SOURCE: deleted},
        )
    }
    if entered:
        ev_spec = {c.DEAL_ID: id_col, c.STAGE: STAGE, c.ENTERED_AT: AT}
        tables[c.STAGE_EVENTS] = AdaptedTable(
            c.STAGE_EVENTS,
            events,
            table_map(c.STAGE_EVENTS, path, ev_spec, options.timezone),
            path,
            {r.DELETED_IN_SOURCE: events_deleted},
        )
        notes.append(_events_note(len(events), entered, path))
    else:
        notes.append(
            "the deals file has no 'Date entered' columns: no stage events; export the Date "
            "entered property of every stage for stage conversion and time in stage."
        )
    if reps is not None:
        tables[c.REPS] = reps
    leads = hl.read_leads(files, options)
    if leads is not None:
        tables[c.LEADS] = leads
    orders = hp.read_orders(files, options, notes)
    if orders is not None:
        tables[c.ORDERS] = orders
    subscriptions = hp.read_subscriptions(deals, path, spec, options, notes)
    if subscriptions is not None:
        tables[c.SUBSCRIPTIONS] = subscriptions
    if versions is not None:
        archived = set(values_text(deals[id_col])[deleted].dropna())
        tables[c.DEAL_CHANGES] = hc.history_changes(versions, archived, options, notes)
    modified = hf.prop(deals, "hs_lastmodifieddate")
    stamps = [deals[modified]] if modified else [deals[created_col], events[AT]]
    return VendorExport(
        vendor=NAME,
        tables=tables,
        stages=stage_config(pipes.pipelines),
        inputs=dict(files.used),
        ignored_files=files.ignored(),
        as_of=options.as_of or latest(*stamps, timezone=options.timezone),
        reporting_currency=reporting,
        notes=tuple(notes),
        stripped=dict(files.stripped),
    )
