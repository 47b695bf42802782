"""Processed data folders in the shapes real exports come in.

The sample CRM has every table and column; real exports do not. Each shape
here is the sample with one wart real exports have (a table or column
missing, dates absent, one or several currencies, the CRM's own stage names,
almost no deals), written as a processed folder with a manifest whose counts
reconcile, so the report reads it exactly as it reads an ingest's output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core import paths

Tables = dict[str, pd.DataFrame]
DATE_COLUMNS = (c.CREATED_AT, c.CLOSED_AT)

# A single pipeline named as a Spanish-speaking Salesforce org names it.
CUSTOM_STAGES_YAML = """\
default_pipeline: ventas
pipelines:
  ventas:
    stages: [prospección, calificación, propuesta, negociación]
    won: ganada
    lost: perdida
"""
CUSTOM_STAGE_NAMES = {
    "prospecting": "prospección",
    "qualification": "calificación",
    "discovery": "calificación",
    "presentation": "propuesta",
    "proposal": "propuesta",
    "negotiation": "negociación",
    "won": "ganada",
    "lost": "perdida",
}


def _deals_only(t: Tables) -> Tables:
    return {c.DEALS: t[c.DEALS]}


def _no_timestamps(t: Tables) -> Tables:
    deals = t[c.DEALS].copy()
    for col in DATE_COLUMNS:
        if col in deals:
            deals[col] = pd.Series(pd.NaT, index=deals.index, dtype="datetime64[us, UTC]")
    return {c.DEALS: deals}


def _lost_without_close_dates(t: Tables) -> Tables:
    deals = t[c.DEALS].copy()
    deals.loc[deals[c.OUTCOME] == "lost", c.CLOSED_AT] = pd.NaT
    return {**t, c.DEALS: deals}


def _few_owners(t: Tables) -> Tables:
    deals = t[c.DEALS].copy()
    rng = np.random.default_rng(0)
    deals.loc[rng.random(len(deals)) < 0.8, c.OWNER_ID] = pd.NA
    return {**t, c.DEALS: deals}


def _missing_labels(t: Tables) -> Tables:
    # Exports leave optional labels blank: no segment, source, loss reason or competitor.
    deals = t[c.DEALS].copy()
    rng = np.random.default_rng(1)
    for col in (c.SEGMENT, c.SOURCE, c.LOSS_REASON, c.COMPETITOR, c.REGION):
        deals.loc[rng.random(len(deals)) < 0.3, col] = pd.NA
    return {**t, c.DEALS: deals}


def _one_currency_not_usd(t: Tables) -> Tables:
    deals = t[c.DEALS].copy()
    deals[c.CURRENCY] = "EUR"
    deals[c.AMOUNT_ORIGINAL] = deals[c.AMOUNT]
    return {**t, c.DEALS: deals}


def _currencies_without_rates(t: Tables) -> Tables:
    # No rates: amounts stay in each deal's own currency and cannot be added up.
    deals = t[c.DEALS].copy()
    deals[c.AMOUNT] = deals[c.AMOUNT_ORIGINAL]
    deals[c.CURRENCY] = np.resize(np.array(["USD", "EUR", "MXN", "COP"]), len(deals))
    return {**t, c.DEALS: deals}


def _custom_stages(t: Tables) -> Tables:
    rename = {k: v for k, v in CUSTOM_STAGE_NAMES.items()}
    out = dict(t)
    deals = t[c.DEALS].copy()
    deals[c.STAGE] = deals[c.STAGE].map(rename)
    deals[c.PIPELINE] = "ventas"
    events = t[c.STAGE_EVENTS].copy()
    events[c.STAGE] = events[c.STAGE].map(rename)
    # discovery and presentation fold into the stage before: keep each deal's first entry.
    events = events.sort_values([c.DEAL_ID, c.ENTERED_AT])
    repeated = events[c.STAGE].eq(events.groupby(c.DEAL_ID)[c.STAGE].shift())
    out[c.STAGE_EVENTS] = events[~repeated].reset_index(drop=True)
    if c.ASSIGNMENTS in t and c.STAGE in t[c.ASSIGNMENTS]:
        assignments = t[c.ASSIGNMENTS].copy()
        assignments[c.STAGE] = assignments[c.STAGE].map(rename)
        out[c.ASSIGNMENTS] = assignments
    out[c.DEALS] = deals
    return out


def _unrecorded_stages(t: Tables) -> Tables:
    # A CRM whose process has no discovery or presentation step: no deal ever records them.
    gone = {"discovery": "qualification", "presentation": "qualification"}
    out = dict(t)
    events = t[c.STAGE_EVENTS]
    out[c.STAGE_EVENTS] = events[~events[c.STAGE].isin(list(gone))].reset_index(drop=True)
    for name in (c.DEALS, c.ASSIGNMENTS):
        frame = t[name].copy()
        frame[c.STAGE] = frame[c.STAGE].replace(gone)
        out[name] = frame
    return out


def _one_deal(t: Tables) -> Tables:
    deals = t[c.DEALS]
    keep = deals[deals[c.OUTCOME] == "won"].head(1)
    ids = set(keep[c.DEAL_ID])
    out = {c.DEALS: keep}
    for name in (c.STAGE_EVENTS, c.ACTIVITIES, c.FEEDBACK):
        out[name] = t[name][t[name][c.DEAL_ID].isin(ids)].reset_index(drop=True)
    return out


def _no_closed_deal(t: Tables) -> Tables:
    deals = t[c.DEALS].copy()
    closed = deals[c.OUTCOME] != "open"
    deals.loc[closed, c.OUTCOME] = "open"
    deals.loc[closed, c.CLOSED_AT] = pd.NaT
    deals.loc[closed, c.LOSS_REASON] = pd.NA
    deals[c.STAGE] = deals[c.STAGE].where(~closed, "negotiation")
    events = t[c.STAGE_EVENTS]
    terminal = events[c.STAGE].isin(["won", "lost"])
    return {**t, c.DEALS: deals, c.STAGE_EVENTS: events[~terminal].reset_index(drop=True)}


def _all_won(t: Tables) -> Tables:
    deals = t[c.DEALS].copy()
    deals = deals[deals[c.OUTCOME] == "won"].reset_index(drop=True)
    ids = set(deals[c.DEAL_ID])
    out = {name: frame for name, frame in t.items() if c.DEAL_ID not in frame}
    for name, frame in t.items():
        if c.DEAL_ID in frame and name != c.DEALS:
            out[name] = frame[frame[c.DEAL_ID].isin(ids)].reset_index(drop=True)
    out[c.DEALS] = deals
    return out


SHAPES: dict[str, Callable[[Tables], Tables]] = {
    "full_sample": dict,
    "deals_only": _deals_only,
    "no_timestamps": _no_timestamps,
    "lost_without_close_dates": _lost_without_close_dates,
    "few_owners": _few_owners,
    "missing_labels": _missing_labels,
    "one_currency_not_usd": _one_currency_not_usd,
    "currencies_without_rates": _currencies_without_rates,
    "custom_stages": _custom_stages,
    "unrecorded_stages": _unrecorded_stages,
    "one_deal": _one_deal,
    "no_closed_deal": _no_closed_deal,
    "all_won": _all_won,
}


def write_shape(name: str, tables: Tables, folder: Path) -> Path:
    """The sample ``tables`` in shape ``name``, as a processed folder."""
    shaped = SHAPES[name]({k: v.copy() for k, v in tables.items()})
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table, frame in shaped.items():
        frame.to_parquet(folder / f"{table}.parquet")
        counts[table] = {
            c.ROWS_IN: len(frame),
            c.ROWS_CLEAN: len(frame),
            c.ROWS_QUARANTINED: 0,
            c.QUARANTINE_REASONS: {},
        }
    if name == "custom_stages":
        (folder / paths.STAGES_COPY_FILENAME).write_text(CUSTOM_STAGES_YAML)
    (folder / paths.MANIFEST_FILENAME).write_text(json.dumps({"tables": counts}))
    return folder
