"""HubSpot property history: ``deal_changes`` from the versions of the tracked deal properties.

Files read (HubSpot CRM API, deals read with ``propertiesWithHistory``):

- ``deals_with_history.json``: the API's response as it comes (or a list of
  its pages): ``results``, each deal with ``id``, ``archived`` and
  ``propertiesWithHistory``, which lists per property its versions
  (``value``, ``timestamp``, ``sourceType``, ``sourceId``,
  ``updatedByUserId``), newest first.
- else ``deal_property_history.csv``, the same flattened to one row per
  version: hs_object_id (or dealId, objectId), property, value, timestamp,
  updatedByUserId; other columns (sourceType, sourceId) are kept for the
  quarantine.

Properties and the deal column they change: ``amount``; ``closedate``
(expected_close_at); ``dealstage`` (stage: stage ids are read through the
pipelines' aliases, as the deals' own stages are);
``hs_deal_stage_probability``, else ``hs_forecast_probability``
(probability, a share); ``hs_manual_forecast_category``, else
``hs_forecast_category`` (forecast_category). Where a deal has versions of
both properties of a pair, the first one's are used.

The versions of a deal's property are ordered by timestamp (ISO 8601 or
epoch milliseconds); a version is a change when its value differs from the
one before, which becomes the old value, and the first version is the deal's
first value (old value empty). Versions that repeat the value before, of
other properties, or of the second property of a pair are ``out_of_scope``;
versions of deals archived (in the deals file or the JSON)
``deleted_in_source``. A quarantined row's ``source_row`` is its place in the
file, or in the JSON flattened in order (deals, properties, versions as
listed). A date-only close date is the end of that day in the export's time
zone. ``changed_by`` is ``updatedByUserId``: a HubSpot user id, which is not
an owner id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
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
    require,
    table_map,
    truthy,
    values_text,
)
from analysis.ingest.vendors.versions import comparison_keys, value_changes

HISTORY = "deal_property_history"
HISTORY_NAMES = (HISTORY, "deals_property_history", "deal_history", "deals_history")
JSON_STEMS = ("dealswithhistory", "dealwithhistory", "dealpropertyhistory", "dealshistory")
TRACKED: dict[str, tuple[str, int]] = {
    "amount": (c.AMOUNT, 0),
    "closedate": (c.EXPECTED_CLOSE_AT, 0),
    "dealstage": (c.STAGE, 0),
    "hs_deal_stage_probability": (c.PROBABILITY, 0),
    "hs_forecast_probability": (c.PROBABILITY, 1),
    "hs_manual_forecast_category": (c.FORECAST_CATEGORY, 0),
    "hs_forecast_category": (c.FORECAST_CATEGORY, 1),
}
"""Deal property (internal name) to the deal column it changes and its rank in a pair."""
COLUMNS: dict[str, tuple[str, ...]] = {
    "hs_object_id": ("hs_object_id", "dealId", "deal_id", "objectId", "Record ID"),
    "property": ("property", "propertyName", "name"),
    "value": ("value",),
    "timestamp": ("timestamp",),
}
"""Columns of the flattened history: each field and the headers it is read from."""
FIELDS = (*COLUMNS, "updatedByUserId", "sourceType", "sourceId", "archived")

DEAL, FIELD, OLD, NEW, AT = (COMPUTED + x for x in ("deal", "field", "old", "new", "at"))


def _flatten(path: Path) -> pd.DataFrame:
    """The deals API response (or a list of its pages) as one row per property version."""
    deals = json_records(read_json(path, "deals history"), "results")
    rows = []
    for deal in deals:
        history = deal.get("propertiesWithHistory") if isinstance(deal, dict) else None
        for prop, versions in (history or {}).items():
            for v in versions if isinstance(versions, list) else []:
                if isinstance(v, dict):
                    fields = ("value", "timestamp", "sourceType", "sourceId", "updatedByUserId")
                    rows.append(
                        {
                            "hs_object_id": deal.get("id"),
                            "archived": deal.get("archived"),
                            "property": prop,
                            **{k: v.get(k) for k in fields},
                        }
                    )
    if not rows:
        raise InputError(
            "the deals history holds no propertiesWithHistory; save the response of the deals "
            "API read with propertiesWithHistory=amount,closedate,dealstage,... as it comes.",
            file=path,
        )
    frame = pd.DataFrame(rows, dtype=object)
    return frame.astype("str").where(frame.notna())


def read_history(files: ExportFiles) -> tuple[pd.DataFrame, Path, bool] | None:
    """The property history (the JSON first, else the flattened file), its path, and if JSON."""
    path = json_file(files.folder, JSON_STEMS)
    if path is not None:
        frame, counts = strip_control_characters(_flatten(path))
        files.stripped.update({f"{path.name}.{k}": n for k, n in counts.items()})
        files.used[HISTORY] = path
        return frame, path, True
    frame = files.read(HISTORY, *HISTORY_NAMES[1:])
    return None if frame is None else (frame, files.used[HISTORY], False)


def history_stages(frame: pd.DataFrame) -> set[str]:
    """The stage ids the history's dealstage versions name (to keep their stages)."""
    prop, value = column(frame, *COLUMNS["property"]), column(frame, *COLUMNS["value"])
    if prop is None or value is None:
        return set()
    stage = (values_text(frame[prop]).str.lower() == "dealstage").fillna(False)
    return set(values_text(frame.loc[stage, value]).dropna())


def _epoch_ms_as_iso(values: pd.Series) -> pd.Series:
    """Epoch milliseconds (the API's older timestamps) as ISO text; other values unchanged."""
    text = values_text(values)
    epoch = text.str.fullmatch(r"\d{11,13}").fillna(False)
    if not epoch.any():
        return text
    stamps = pd.to_datetime(pd.to_numeric(text[epoch]), unit="ms", utc=True)
    return text.mask(epoch, stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def history_changes(
    found: tuple[pd.DataFrame, Path, bool],
    archived_deals: set[str],
    options: VendorOptions,
    notes: list[str],
) -> AdaptedTable:
    """``deal_changes`` from the property history (see the module's docstring).

    Parameters
    ----------
    found : tuple
        :func:`read_history`'s frame, path and whether it is the JSON.
    archived_deals : set of str
        Ids of the deals archived in the deals file.
    options : VendorOptions
    notes : list of str
        Gets a note on what the history gave.

    Raises
    ------
    InputError
        When the history lacks the deal id, property, value or timestamp.
    """
    history, path, from_json = found
    deal, prop, value, at = require(
        history,
        tuple(COLUMNS),
        file=path,
        what="the HubSpot property history",
        advice="Give one row per version with the deal's id, the property, value and timestamp.",
        find=lambda frame, name: column(frame, *COLUMNS[name]),
    )
    n = len(history)
    ids = values_text(history[deal])
    tracked = values_text(history[prop]).str.lower().map(TRACKED)
    field = tracked.map(lambda t: t[0], na_action="ignore")
    rank = tracked.map(lambda t: t[1], na_action="ignore").astype("float")
    # Of a pair of properties for one column, a deal's versions of the first one present.
    best = rank.groupby([ids, field]).transform("min")
    chosen = (field.notna() & (rank == best)).fillna(False).to_numpy(bool)
    values = _epoch_ms_as_iso(history[value])
    dated = (field == c.EXPECTED_CLOSE_AT).fillna(False).to_numpy(bool)
    values = values.mask(dated, end_of_local_day(values, options.timezone).where(values.notna()))
    times = _epoch_ms_as_iso(history[at])
    stamps = as_timestamps(times, options.timezone)
    archived = column(history, "archived")
    deleted = ids.isin(archived_deals).to_numpy(bool)
    if archived is not None:
        deleted = deleted | truthy(history[archived]).fillna(False).to_numpy(bool)
    undated = chosen & ~deleted & stamps.isna().to_numpy()
    judge = chosen & ~deleted & ~undated
    keys = comparison_keys(field, values, options.timezone)
    order = -np.arange(n) if from_json else None  # the API lists a property's newest first
    changed, old = value_changes(ids, field, keys, values, stamps, judge, order)
    kept = changed | undated
    frame = history.assign(
        **{DEAL: ids, FIELD: field.where(kept), OLD: old, NEW: values.where(kept), AT: times}
    )
    flags = {r.DELETED_IN_SOURCE: deleted, r.OUT_OF_SCOPE: ~kept & ~deleted}
    notes.append(
        f"deal_changes are the {int(changed.sum()):,} versions of {path.name} that changed a "
        f"tracked property, of {n:,}: versions repeating the value before and other "
        "properties are out_of_scope."
    )
    spec = {c.DEAL_ID: DEAL, c.CHANGED_AT: AT, c.FIELD: FIELD, c.OLD_VALUE: OLD, c.NEW_VALUE: NEW}
    by = column(history, "updatedByUserId", "updated_by_user_id")
    if by is not None:
        spec[c.CHANGED_BY] = by
    tmap = table_map(c.DEAL_CHANGES, path, spec, options.timezone)
    return AdaptedTable(c.DEAL_CHANGES, frame, tmap, path, flags)
