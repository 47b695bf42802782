"""Salesforce ``deal_changes``: from OpportunityFieldHistory, else from OpportunityHistory.

- ``OpportunityFieldHistory`` holds one row per edit of one field (Field,
  OldValue, NewValue, CreatedDate, CreatedById, IsDeleted): its rows of
  Amount, CloseDate, StageName, Probability and ForecastCategoryName are the
  changes; rows of other fields and the ``created`` marker are
  ``out_of_scope``.
- ``OpportunityHistory`` holds one row per save of an opportunity that
  touched its stage, amount, probability, close date or forecast category,
  with the values after the save (OpportunityId, StageName, Amount,
  CloseDate, Probability, ForecastCategory, CreatedDate, CreatedById,
  IsDeleted). Each snapshot is compared with the opportunity's snapshot
  before it (by CreatedDate): every tracked field whose value differs is one
  change, the earlier value its old value; an opportunity's first snapshot
  gives its first values (old value empty). The file's row ``i`` stays row
  ``i`` of the table and carries its snapshot's first change; a snapshot
  that changes more fields adds rows after the file's rows (column
  :data:`FROM` names the snapshot's row and field). A snapshot that changes
  nothing (a save that repeated every value) is ``out_of_scope``, a deleted
  one ``deleted_in_source`` and left out of the comparison.

CloseDate is a date: old and new values become the end of that day in the
export's time zone, as the deals' own CloseDate does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.ingest import reasons as r
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    VendorOptions,
    as_timestamps,
    column,
    deleted_rows,
    end_of_local_day,
    table_map,
    values_text,
)
from analysis.ingest.vendors.salesforce_fields import FIELD, NEW, OLD, TRACKED
from analysis.ingest.vendors.versions import comparison_keys, value_changes

FROM = COMPUTED + "from"
SNAPSHOT_FIELDS = {  # OpportunityHistory field -> the deal column it holds, in row order
    "StageName": c.STAGE,
    "Amount": c.AMOUNT,
    "CloseDate": c.EXPECTED_CLOSE_AT,
    "Probability": c.PROBABILITY,
    "ForecastCategory": c.FORECAST_CATEGORY,
}


def _spec(frame: pd.DataFrame, deal: str, at: str) -> dict[str, str]:
    spec = {c.DEAL_ID: deal, c.CHANGED_AT: at, c.FIELD: FIELD, c.OLD_VALUE: OLD, c.NEW_VALUE: NEW}
    by = column(frame, "CreatedById")
    if by is not None:
        spec[c.CHANGED_BY] = by
    return spec


def field_history_changes(
    history: pd.DataFrame, path: Path, names: list[str], options: VendorOptions
) -> AdaptedTable:
    """``deal_changes`` from OpportunityFieldHistory: one row per tracked field's change.

    ``names`` are the headers of OpportunityId, Field, OldValue, NewValue and
    CreatedDate. The frame is not changed (the stage events read it too).
    """
    deal, field, old, new, at = names
    kind = values_text(history[field]).str.lower().fillna("")
    dated = (kind == "closedate").to_numpy()
    computed = {FIELD: kind.map(TRACKED)}
    for source, target in ((old, OLD), (new, NEW)):
        values = history[source].astype("str")
        if dated.any():
            values = values.mask(dated, end_of_local_day(history[source], options.timezone))
        computed[target] = values
    frame = history.assign(**computed)
    deleted = deleted_rows(frame, "IsDeleted")
    flags = {
        r.DELETED_IN_SOURCE: deleted,
        r.OUT_OF_SCOPE: frame[FIELD].isna().to_numpy() & ~deleted,
    }
    tmap = table_map(c.DEAL_CHANGES, path, _spec(frame, deal, at), options.timezone)
    return AdaptedTable(c.DEAL_CHANGES, frame, tmap, path, flags)


def _long(history: pd.DataFrame, deal: str, options: VendorOptions) -> pd.DataFrame:
    """One row per snapshot and tracked field the file has: row, rank, deal, field, value."""
    parts = []
    for rank, (name, field) in enumerate(SNAPSHOT_FIELDS.items()):
        found = column(history, name)
        if found is None:
            continue
        values = values_text(history[found])
        if field == c.EXPECTED_CLOSE_AT:
            values = end_of_local_day(values, options.timezone).where(values.notna())
        parts.append(
            pd.DataFrame(
                {
                    "row": np.arange(len(history)),
                    "rank": rank,
                    "deal": history[deal].to_numpy(),
                    "field": field,
                    "name": str(found),
                    "value": values.to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def snapshot_changes(
    history: pd.DataFrame, path: Path, names: list[str], options: VendorOptions, notes: list[str]
) -> AdaptedTable:
    """``deal_changes`` from OpportunityHistory snapshots (see the module's docstring).

    ``names`` are the headers of OpportunityId and CreatedDate. A snapshot
    whose CreatedDate cannot be read is left out of the comparison and kept
    as a change of its stage, so that ingest quarantines it for its time.
    """
    deal, at = names
    n = len(history)
    deleted = deleted_rows(history, "IsDeleted")
    stamps = as_timestamps(history[at], options.timezone)
    undated = stamps.isna().to_numpy() & ~deleted
    long = _long(history, deal, options)
    rows = long["row"].to_numpy()
    judge = ~deleted[rows] & ~undated[rows]
    keys = comparison_keys(long["field"], long["value"], options.timezone)
    changed, old = value_changes(
        long["deal"], long["field"], keys, long["value"], stamps.iloc[rows], judge
    )
    found = long.assign(old=old)[changed | (undated[rows] & (long["rank"] == long["rank"].min()))]
    found = found.sort_values(["row", "rank"], kind="stable")
    extra = found[found["row"].duplicated()]
    own = found.drop_duplicates("row").set_index("row")
    frame = pd.concat([history, history.iloc[extra["row"]]], ignore_index=True)
    frame.attrs = dict(history.attrs)
    first = pd.RangeIndex(n)
    frame[FIELD] = pd.concat(
        [own["field"].reindex(first), extra["field"]], ignore_index=True
    ).astype("str")
    frame[OLD] = pd.concat([own["old"].reindex(first), extra["old"]], ignore_index=True)
    frame[NEW] = pd.concat([own["value"].reindex(first), extra["value"]], ignore_index=True)
    named = f"{path.name} row " + (extra["row"] + 1).astype("str") + ": " + extra["name"]
    frame[FROM] = pd.concat(
        [pd.Series(pd.NA, index=first, dtype="str"), named.astype("str")],
        ignore_index=True,
    )
    gone = np.concatenate([deleted, np.zeros(len(extra), dtype=bool)])
    flags = {
        r.DELETED_IN_SOURCE: gone,
        r.OUT_OF_SCOPE: frame[FIELD].isna().to_numpy() & ~gone,
    }
    notes.append(
        f"deal_changes compare the {n:,} snapshots of {path.name} (no OpportunityFieldHistory): "
        f"{len(extra):,} rows were added after the file's rows for snapshots that changed more "
        f"than one field (column {FROM!r} names the snapshot's row); snapshots that changed "
        "nothing are out_of_scope."
    )
    tmap = table_map(c.DEAL_CHANGES, path, _spec(frame, deal, at), options.timezone)
    return AdaptedTable(c.DEAL_CHANGES, frame, tmap, path, flags)
