"""Row-level checks: pandera validation, duplicates and links between tables.

Each check yields a boolean mask per reason code (``analysis.ingest.reasons``);
:func:`split` then gives every row its primary reason and separates the clean
rows from the quarantined ones. The in-table checks come from the pandera
schema of the table (``analysis.core.schema``), whose checks are named after
reason codes, validated lazily so that every failing row is reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from analysis.core import columns as c
from analysis.core import schema
from analysis.core.stages import Pipeline
from analysis.ingest import reasons as r
from analysis.ingest.canonical import CanonicalTable
from analysis.ingest.read import MALFORMED_LINES

# Tables whose rows refer to a deal, and the column holding the deal id.
DEAL_LINKS: dict[str, str] = {
    c.STAGE_EVENTS: c.DEAL_ID,
    c.ACTIVITIES: c.DEAL_ID,
    c.FEEDBACK: c.DEAL_ID,
    c.DEAL_CHANGES: c.DEAL_ID,
    c.ASSIGNMENTS: c.UNIT_ID,  # only rows with unit_type == "deal"
    c.LEADS: c.CONVERTED_DEAL_ID,  # only converted leads (a deal id given)
    c.ORDERS: c.DEAL_ID,  # only orders that name their deal
    c.SUBSCRIPTIONS: c.DEAL_ID,  # only changes that name their deal
    c.ONBOARDING: c.DEAL_ID,  # required: every onboarding names its won deal
}


def _pandera_check_reason(check: str) -> str:
    """Reason code of a pandera failure (checks in analysis.core.schema carry reason names)."""
    if check in r.PRIORITY:
        return check
    if check == "not_nullable":
        return r.MISSING_REQUIRED
    if check == "field_uniqueness":
        return r.DUPLICATE_ID
    return r.BAD_VALUE  # coercion failures and built-in checks such as ge(1)


def schema_flags(
    canon: CanonicalTable, stages: Iterable[str], allow_null: Iterable[str] = ()
) -> dict[str, np.ndarray]:
    """Reason masks from lazy validation of a canonical frame with its pandera schema.

    Uniqueness failures are left to :func:`duplicate_flags` (which keeps the
    first of exact copies); a missing value that was present in the source
    but unparseable counts as the parse reason, not ``missing_required``.
    """
    frame = canon.frame
    n = len(frame)
    flags: dict[str, np.ndarray] = {}
    try:
        schema.table_schema(canon.table, stages, allow_null=allow_null).validate(frame, lazy=True)
    except SchemaErrors as exc:
        fc = exc.failure_cases
        if fc["index"].isna().any():
            lost = fc.loc[fc["index"].isna(), ["column", "check"]].drop_duplicates()
            raise RuntimeError(
                f"schema failure without row index in {canon.table}: {lost.to_dict('records')}"
            ) from exc
        fc = fc.loc[fc["check"] != "field_uniqueness"]
        for (column, check), rows in fc.groupby(["column", "check"], dropna=False)["index"]:
            code = _pandera_check_reason(str(check))
            mask = np.zeros(n, dtype=bool)
            mask[rows.to_numpy(dtype=np.int64)] = True
            if code == r.MISSING_REQUIRED and column in canon.bad:
                mask &= ~canon.bad[column]
            flags[code] = flags.get(code, np.zeros(n, dtype=bool)) | mask
    return flags


def outcome_stage_flags(frame: pd.DataFrame, pipeline: Pipeline) -> dict[str, np.ndarray]:
    """``bad_outcome`` where a deal's current stage is terminal but its outcome disagrees."""
    if c.STAGE not in frame or c.OUTCOME not in frame:
        return {}
    expected = frame[c.STAGE].map({pipeline.won: c.WON, pipeline.lost: c.LOST})
    mask = expected.notna() & frame[c.OUTCOME].notna() & (frame[c.OUTCOME] != expected)
    return {r.BAD_OUTCOME: mask.fillna(False).to_numpy(dtype=bool)}


def event_time_flags(canon: CanonicalTable, allow_null: Iterable[str]) -> dict[str, np.ndarray]:
    """``missing_required`` for read stage events without ``entered_at``.

    The schema lets ``entered_at`` be empty only for derived events; a stage
    events file must give it unless the column map says ``allow_null``.
    """
    frame = canon.frame
    if (
        canon.table != c.STAGE_EVENTS
        or c.ENTERED_AT not in frame
        or c.ENTERED_AT in set(allow_null)
    ):
        return {}
    missing = frame[c.ENTERED_AT].isna().to_numpy()
    if c.ENTERED_AT in canon.bad:
        missing = missing & ~canon.bad[c.ENTERED_AT]
    return {r.MISSING_REQUIRED: missing}


def duplicate_flags(frame: pd.DataFrame, key: Iterable[str]) -> dict[str, np.ndarray]:
    """``duplicate_id`` for repeated keys.

    Copies identical in every canonical column are exact duplicates: the
    first is kept, later copies are flagged. When the copies of a key
    disagree in any column, every copy is flagged, since nothing says which
    one is right. Rows with a missing key part are left to
    ``missing_required``.
    """
    key = list(key)
    if not key or not set(key) <= set(frame.columns):
        return {}
    complete = frame[key].notna().all(axis=1).to_numpy()
    repeated = frame.duplicated(subset=key, keep=False).to_numpy() & complete
    if not repeated.any():
        return {}
    dups = frame.loc[repeated]
    variants = dups.drop_duplicates().groupby(key, dropna=False, sort=False).size()
    conflicting = variants[variants > 1].index
    key_index = pd.MultiIndex.from_frame(dups[key]) if len(key) > 1 else pd.Index(dups[key[0]])
    is_conflict = key_index.isin(conflicting)
    later_copy = dups.duplicated(subset=key, keep="first").to_numpy()
    mask = np.zeros(len(frame), dtype=bool)
    mask[np.flatnonzero(repeated)[is_conflict | later_copy]] = True
    return {r.DUPLICATE_ID: mask}


@dataclass(frozen=True)
class DealIndex:
    """The deal ids of the deals input, sorted, and which of them are clean.

    One hash lookup per row of a deal-linked table (:meth:`lookup`) gives both
    its link checks (:func:`deal_link_flags`) and its sort code.

    Attributes
    ----------
    ids : pyarrow.Array
        Distinct non-missing deal ids of the deals input, sorted.
    clean : numpy.ndarray
        Boolean, aligned with ``ids``: the deal passed every check.
    created, closed : numpy.ndarray or None
        ``datetime64[us]`` creation and close time of each clean deal (NaT
        for the others and for open deals' close).
    """

    ids: pa.Array
    clean: np.ndarray
    created: np.ndarray | None = None
    closed: np.ndarray | None = None

    @classmethod
    def from_deals(
        cls,
        all_ids: pd.Series,
        clean_ids: pd.Series,
        created: pd.Series | None = None,
        closed: pd.Series | None = None,
    ) -> DealIndex:
        """Build the index from every deal id read, the clean ones and their creation times.

        ``closed`` (aligned with ``clean_ids``) gives :attr:`closed`, the close
        time of each clean deal (NaT when open or unknown).
        """
        ids = pc.unique(_arrow(all_ids.dropna()))
        ids = ids.take(pc.sort_indices(ids))
        clean = np.zeros(len(ids), dtype=bool)
        pos = pc.index_in(_arrow(clean_ids), value_set=ids)
        clean[pos.drop_null().to_numpy()] = True
        created_at = None if created is None else _times_at(created, pos, len(ids))
        closed_at = None if closed is None else _times_at(closed, pos, len(ids))
        return cls(ids=ids, clean=clean, created=created_at, closed=closed_at)

    def lookup(self, values: pd.Series) -> np.ndarray:
        """Position of each value in :attr:`ids`; -1 for missing or unknown ids."""
        pos = pc.index_in(_arrow(values), value_set=self.ids)
        return pc.fill_null(pos, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _times_at(times: pd.Series, pos: pa.Array, n: int) -> np.ndarray:
    """``datetime64[us]`` per index entry from times aligned with the clean ids (NaT elsewhere)."""
    out = np.full(n, np.datetime64("NaT", "us"))
    valid = pos.is_valid().to_numpy(zero_copy_only=False)
    values = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
    out[pos.drop_null().to_numpy()] = values[valid]
    return out


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values.astype("str"), type=pa.large_string())


def deal_link_flags(
    table: str, frame: pd.DataFrame, positions: np.ndarray, index: DealIndex
) -> dict[str, np.ndarray]:
    """``parent_quarantined`` / ``orphan_event`` for rows whose deal is not clean.

    Parameters
    ----------
    table : str
        A table of :data:`DEAL_LINKS`.
    frame : pandas.DataFrame
        Its canonical frame.
    positions : numpy.ndarray
        :meth:`DealIndex.lookup` of the table's deal id column.
    index : DealIndex
        The deals input.
    """
    column = DEAL_LINKS.get(table)
    if column is None or column not in frame:
        return {}
    applies = frame[column].notna()
    if table == c.ASSIGNMENTS and c.UNIT_TYPE in frame:
        applies &= frame[c.UNIT_TYPE] == c.UNIT_DEAL
    applies = applies.fillna(False).to_numpy(dtype=bool)
    known = positions >= 0
    clean = np.zeros(len(positions), dtype=bool)
    clean[known] = index.clean[positions[known]]
    return {
        r.PARENT_QUARANTINED: applies & known & ~clean,
        r.ORPHAN_EVENT: applies & ~known,
    }


BEFORE_CREATED_SLACK = np.timedelta64(1, "D")
"""How far before its deal's creation a stage entry may be dated without a flag.

A day absorbs date-only histories (midnight of the creation day) and an entry
stamped in another time zone than the deal; past that the time is wrong.
"""


def before_created(frame: pd.DataFrame, positions: np.ndarray, index: DealIndex) -> np.ndarray:
    """Stage entries dated more than :data:`BEFORE_CREATED_SLACK` before their deal's creation.

    Parameters
    ----------
    frame : pandas.DataFrame
        Canonical ``stage_events``.
    positions : numpy.ndarray
        :meth:`DealIndex.lookup` of its ``deal_id``.
    index : DealIndex
        The deals input, built with their creation times.

    Returns
    -------
    numpy.ndarray
        Boolean per row; False where the entry or the deal has no time.
    """
    out = np.zeros(len(frame), dtype=bool)
    if index.created is None or c.ENTERED_AT not in frame:
        return out
    known = positions >= 0
    entered = frame[c.ENTERED_AT].dt.tz_convert("UTC").dt.tz_localize(None)
    entered = entered.to_numpy("datetime64[us]")[known]
    created = index.created[positions[known]]
    dated = ~np.isnat(entered) & ~np.isnat(created)
    early = np.zeros(len(entered), dtype=bool)
    early[dated] = entered[dated] < created[dated] - BEFORE_CREATED_SLACK
    out[known] = early
    return out


@dataclass(frozen=True)
class Split:
    """Clean and quarantined rows of one table.

    Attributes
    ----------
    clean : pandas.DataFrame
        Canonical rows that passed every check.
    quarantine : pandas.DataFrame
        Raw source values (as strings) of the other rows, with ``reason``,
        ``source_file`` and ``source_row``.
    clean_rows : numpy.ndarray
        Positions (0-based data rows) of the clean rows in the source.
    """

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    clean_rows: np.ndarray

    @property
    def reason_counts(self) -> dict[str, int]:
        """Quarantined rows per reason, most frequent first (ties by priority)."""
        counts = self.quarantine[c.REASON].value_counts()
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], r.PRIORITY.index(kv[0])))
        return {str(k): int(v) for k, v in ordered}


def _as_text(values: pd.Series) -> pd.Series:
    """Raw values as strings; bytes that are not UTF-8 with their bad bytes escaped (``\\xff``)."""
    if values.dtype == object:
        values = values.map(
            lambda v: v.decode("utf-8", "backslashreplace") if isinstance(v, bytes) else v,
            na_action="ignore",
        )
    return values.astype("string")


def quarantine_frame(canon: CanonicalTable, rows: np.ndarray, reason: pd.Series) -> pd.DataFrame:
    """Raw values of ``rows`` as strings plus reason, source file and 1-based source row.

    Rows the reader found malformed (too many or too few fields) also carry
    their whole line in ``raw_line``, so fields beyond the header are not lost.
    """
    raw = canon.raw.iloc[rows]
    bookkeeping = (c.REASON, c.SOURCE_FILE, c.SOURCE_ROW, c.RAW_LINE)
    out = pd.DataFrame(
        {
            (f"raw_{col}" if col in bookkeeping else str(col)): _as_text(raw[col])
            for col in raw.columns
        },
        index=raw.index,
    )
    out[c.REASON] = reason.iloc[rows].to_numpy()
    out[c.SOURCE_FILE] = pd.Series(canon.source_file, index=raw.index, dtype="string")
    out[c.SOURCE_ROW] = pd.array(rows + 1, dtype="Int64")
    lines = canon.raw.attrs.get(MALFORMED_LINES) or {}
    if lines:
        out[c.RAW_LINE] = pd.array([lines.get(i) for i in raw.index], dtype="string")
    return out.reset_index(drop=True).astype({c.REASON: "string"})


def split(
    canon: CanonicalTable, flags: Mapping[str, np.ndarray], stages: Iterable[str], allow_null=()
) -> Split:
    """Give each row its primary reason and separate clean from quarantined rows.

    The clean rows are validated once more with the pandera schema (eagerly),
    so what is written always satisfies it.
    """
    n = len(canon.frame)
    reason = r.primary_reason(flags, n)
    bad = reason.notna().to_numpy()
    clean = canon.frame.loc[~bad].reset_index(drop=True)
    clean = schema.table_schema(canon.table, stages, allow_null=allow_null).validate(clean)
    quarantine = quarantine_frame(canon, np.flatnonzero(bad), reason)
    if len(clean) + len(quarantine) != n:
        raise RuntimeError(
            f"{canon.table}: {n} rows in, {len(clean)} clean + {len(quarantine)} quarantined."
        )
    return Split(clean=clean, quarantine=quarantine, clean_rows=np.flatnonzero(~bad))


def table_flags(
    canon: CanonicalTable, pipeline: Pipeline, allow_null: Iterable[str] = ()
) -> dict[str, np.ndarray]:
    """Every in-table reason mask of a canonical table (parse, schema, duplicates)."""
    flags: dict[str, np.ndarray] = dict(canon.flags)
    found = [schema_flags(canon, pipeline.all_stages, allow_null)]
    if canon.table == c.DEALS:
        found.append(outcome_stage_flags(canon.frame, pipeline))
    found.append(event_time_flags(canon, allow_null))
    found.append(duplicate_flags(canon.frame, schema.PRIMARY_KEYS.get(canon.table, ())))
    for extra in found:
        merge_flags(flags, extra)
    return flags


def merge_flags(flags: dict[str, np.ndarray], extra: Mapping[str, np.ndarray]) -> None:
    """Add the masks of ``extra`` to ``flags`` in place (OR per reason code)."""
    for code, mask in extra.items():
        flags[code] = flags[code] | mask if code in flags else mask


__all__ = [
    "DEAL_LINKS",
    "Split",
    "deal_link_flags",
    "duplicate_flags",
    "event_time_flags",
    "DealIndex",
    "merge_flags",
    "outcome_stage_flags",
    "quarantine_frame",
    "schema_flags",
    "split",
    "table_flags",
]
