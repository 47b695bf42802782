"""Pipedrive's deal updates flow: reading it, and the ``deal_changes`` it holds.

Files read (Pipedrive API reference, Deals: a deal's updates ``/deals/{id}/flow``
and its field changelog ``/deals/{id}/changelog``):

- ``deal_flow.csv`` (or ``deal_updates``, ``deal_changelog``): one row per
  change of a deal field: item_id (or deal_id), field_key, old_value,
  new_value, log_time (or time), user_id (or actor_user_id).
- or ``deal_flow.json``: the flow's response as it comes, or a list of them
  (one per deal): ``data``, a list of items, each with ``object``
  (``dealChange`` for a field change) and ``timestamp``, and in ``data`` the
  change's item_id, user_id, field_key, old_value, new_value and log_time.
  Items of other objects (activities, notes, files) are rows that change no
  field.

Field keys and the deal column they change: ``value`` (amount);
``expected_close_date`` (expected_close_at: a date, the end of that day in
the export's time zone); ``stage_id`` (stage: ids read as the stages file's
labels, an id it lacks kept as written); ``probability`` (percent);
``status`` when a deal is won, lost or reopened (stage: won and lost are
statuses in Pipedrive, stages here; the open stage before or after is the
one the deal's stage_id changes left it in). Other field keys and items,
``status`` set to deleted, and rows whose new value is the old one
(``1500`` to ``1500.00``) are ``out_of_scope``; the rows of deleted deals
``deleted_in_source``. Times are UTC, the API's convention.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.ingest import reasons as r
from analysis.ingest.hygiene import strip_control_characters
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorOptions,
    as_timestamps,
    column,
    end_of_local_day,
    json_file,
    json_records,
    read_json,
    table_map,
    values_text,
)
from analysis.ingest.vendors.pipedrive_fields import FLOW, FLOW_NAMES, ids_text, lower_text, need
from analysis.ingest.vendors.pipedrive_stages import DealFacts, StageList
from analysis.ingest.vendors.versions import comparison_keys

TRACKED = {
    "value": c.AMOUNT,
    "expected_close_date": c.EXPECTED_CLOSE_AT,
    "stage_id": c.STAGE,
    "probability": c.PROBABILITY,
    "status": c.STAGE,
}
"""Flow field_key to the deal column it changes."""
STATUS_STAGES = {"won": c.WON, "lost": c.LOST}
DEAL, FIELD, OLD, NEW = (COMPUTED + x for x in ("deal", "field", "old", "new"))
_FLOW_FIELDS = ("item_id", "field_key", "old_value", "new_value", "log_time")


def _flatten(path: Path) -> pd.DataFrame:
    """The flow's response (or a list of them) as one row per item, its ``data`` as columns."""
    items = json_records(read_json(path, "deal flow"), "data")
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        inner = item.get("data") if isinstance(item.get("data"), dict) else {}
        flat = {k: v for k, v in inner.items() if not isinstance(v, dict | list)}
        rows.append({"object": item.get("object"), "timestamp": item.get("timestamp"), **flat})
    frame = pd.DataFrame(rows, dtype=object)
    for name in _FLOW_FIELDS:
        if name not in frame:
            frame[name] = None
    return frame.astype("str").where(frame.notna())


def read_flow(files: ExportFiles) -> tuple[pd.DataFrame, Path] | None:
    """The deals' updates flow (the JSON response first, else a CSV), read once for both tables."""
    path = json_file(files.folder, FLOW_NAMES)
    if path is not None:
        frame, counts = strip_control_characters(_flatten(path))
        files.stripped.update({f"{path.name}.{k}": n for k, n in counts.items()})
        files.used[FLOW] = path
        return frame, path
    frame = files.read(FLOW, *FLOW_NAMES[1:])
    return None if frame is None else (frame, files.used[FLOW])


def _open_stage(
    keys: pd.Series, deals: pd.Series, labels: pd.Series, stamps: pd.Series, start: pd.Series
) -> pd.Series:
    """Each row's deal's open stage after its stage changes up to the row (by time)."""
    moves = keys.isin(["stage_id", "status"]).fillna(False)
    sub = pd.DataFrame(
        {"d": deals, "s": labels.where(keys == "stage_id"), "t": stamps, "p": np.arange(len(keys))}
    )[moves.to_numpy()]
    sub = sub.sort_values(["d", "t", "p"], kind="stable", na_position="last")
    current = sub.groupby("d", sort=False)["s"].ffill().fillna(sub["d"].map(start))
    return current.reindex(keys.index)


def flow_changes(
    found: tuple[pd.DataFrame, Path],
    facts: DealFacts,
    stage_list: StageList,
    options: VendorOptions,
) -> AdaptedTable:
    """``deal_changes`` from the flow (see the module's docstring).

    Raises
    ------
    InputError
        When the flow lacks one of item_id, field_key, old_value, new_value, log_time.
    """
    flow, path = found
    deal, key, old, new, at = need(flow, "deal flow", path, *_FLOW_FIELDS)
    keys = lower_text(flow[key])
    field = keys.map(TRACKED)
    deals = ids_text(flow[deal])
    stamps = as_timestamps(flow[at], "UTC")
    olds, news = values_text(flow[old]), values_text(flow[new])
    staged = (keys == "stage_id").fillna(False).to_numpy(bool)
    olds = olds.mask(staged, stage_list.labels(olds))
    news = news.mask(staged, stage_list.labels(news))
    dated = (field == c.EXPECTED_CLOSE_AT).fillna(False).to_numpy(bool)
    for values in (olds, news):
        values[dated] = end_of_local_day(values[dated], options.timezone)
    # Won and lost: from the open stage the deal was in, back to it when reopened.
    status = (keys == "status").fillna(False).to_numpy(bool)
    if status.any():
        moves = pd.DataFrame({"d": deals, "old": olds, "t": stamps})[staged]
        first_old = moves.sort_values("t", kind="stable").drop_duplicates("d").set_index("d")
        current = pd.Series(facts.current.to_numpy(), index=facts.ids.to_numpy())
        start = first_old["old"].combine_first(current[~current.index.duplicated()])
        in_stage = _open_stage(keys, deals, news, stamps, start)
        for values in (olds, news):
            state = lower_text(values)
            values[status] = state.map(STATUS_STAGES).fillna(in_stage.where(state == "open"))[
                status
            ]
        field = field.mask(status & news.isna().to_numpy())
    # A save that repeated the value (1500 to 1500.00) changes nothing.
    same = comparison_keys(field, olds, options.timezone) == comparison_keys(
        field, news, options.timezone
    )
    field = field.mask(same.fillna(False).to_numpy(bool))
    deleted = deals.isin(facts.ids[facts.deleted].unique()).to_numpy(bool)
    frame = flow.assign(**{DEAL: deals, FIELD: field, OLD: olds, NEW: news})
    flags = {
        r.DELETED_IN_SOURCE: deleted,
        r.OUT_OF_SCOPE: field.isna().to_numpy() & ~deleted,
    }
    spec = {c.DEAL_ID: DEAL, c.CHANGED_AT: at, c.FIELD: FIELD, c.OLD_VALUE: OLD, c.NEW_VALUE: NEW}
    by = column(flow, "user_id", "actor_user_id")
    if by is not None:
        spec[c.CHANGED_BY] = by
    return AdaptedTable(
        c.DEAL_CHANGES, frame, table_map(c.DEAL_CHANGES, path, spec, "UTC"), path, flags
    )
