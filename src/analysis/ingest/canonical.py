"""Apply a column map and the value parsers: raw export frame -> canonical frame.

The canonical frame has canonical column names and dtypes and the same
RangeIndex as the raw frame, so row ``i`` of both is data row ``i + 1`` of the
file. Values that are present but cannot be parsed become missing in the
canonical frame and are flagged per row (``unparseable_date`` for
timestamps, ``bad_value`` otherwise); the raw frame is kept untouched for the
quarantine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.core import columns as c
from analysis.core import schema
from analysis.core.errors import InputError
from analysis.core.stages import Pipeline, normalise_label
from analysis.ingest import parse
from analysis.ingest.changes import normalise_changes, probability_as_share
from analysis.ingest.colmap import ColumnSpec, TableMap
from analysis.ingest.leads import flag_steps_out_of_order, normalise_lead_statuses
from analysis.ingest.post_sale import (
    flag_go_live_before_kickoff,
    flag_mrr_inconsistent,
    normalise_change_types,
    parse_discount,
)
from analysis.ingest.read import MALFORMED_ROWS, clean_header
from analysis.ingest.reasons import BAD_VALUE, MALFORMED_ROW, UNPARSEABLE_DATE

MONEY_COLUMNS = frozenset({c.AMOUNT, c.AMOUNT_ORIGINAL, c.QUOTA, c.SALES_COST, c.MARKETING_COST})
MONEY_COLUMNS |= {c.MRR_BEFORE, c.MRR_AFTER}  # subscriptions' recurring revenue
# Money columns whose currency symbol fills a table's missing currency column.
CURRENCY_FROM = {c.DEALS: c.AMOUNT, c.ORDERS: c.AMOUNT, c.SUBSCRIPTIONS: c.MRR_AFTER}

# Columns whose values are matched case-insensitively to a fixed set of categories.
CATEGORIES: dict[tuple[str, str], tuple[str, ...]] = {
    (c.DEALS, c.OUTCOME): c.OUTCOMES,
    (c.DEALS, c.SEGMENT): c.SEGMENTS,
    (c.ACTIVITIES, c.ACTIVITY_TYPE): c.ACTIVITY_TYPES,
    (c.ASSIGNMENTS, c.UNIT_TYPE): c.UNIT_TYPES,
    (c.FEEDBACK, c.SOURCE): c.FEEDBACK_SOURCES,
    (c.DEAL_CHANGES, c.FIELD): c.TRACKED_FIELDS,
    (c.LEADS, c.SEGMENT): c.SEGMENTS,
}
# Columns whose CRM words are mapped by their own table of words (unknown words kept).
WORD_COLUMNS = {
    (c.LEADS, c.LEAD_STATUS): normalise_lead_statuses,  # ingest.leads
    (c.SUBSCRIPTIONS, c.CHANGE_TYPE): normalise_change_types,  # ingest.post_sale
}

# Columns holding stage labels, normalised through the stage config and map aliases.
STAGE_COLUMNS = frozenset({(c.DEALS, c.STAGE), (c.STAGE_EVENTS, c.STAGE), (c.ASSIGNMENTS, c.STAGE)})


@dataclass(frozen=True)
class CanonicalTable:
    """One table after mapping and parsing, before validation.

    Attributes
    ----------
    table : str
        Canonical table name.
    frame : pandas.DataFrame
        Canonical columns and dtypes; index aligned with ``raw``.
    raw : pandas.DataFrame
        The file as read (all source columns).
    bad : Mapping[str, numpy.ndarray]
        Canonical column to a boolean mask of rows whose value was present
        but could not be parsed.
    source_file : str
        Name of the file the rows came from (the quarantine's ``source_file``).
    ignored_columns : tuple of str
        Source columns no entry of the map uses.
    currency_filled : int
        Rows whose ``currency`` was filled from the symbol of their amount.
    closes_at_end_of_day : int
        Deals whose date-only close date fell on their creation day, read as
        the end of that day (:func:`same_day_closes_at_end_of_day`).
    expected_closes : int
        Open deals whose exported close date became ``expected_close_at``.
    backdated : int
        Deals closed before they were created, kept and flagged
        (:func:`flag_backdated`).
    """

    table: str
    frame: pd.DataFrame
    raw: pd.DataFrame
    bad: Mapping[str, np.ndarray] = field(default_factory=dict)
    source_file: str = ""
    ignored_columns: tuple[str, ...] = ()
    currency_filled: int = 0
    closes_at_end_of_day: int = 0
    expected_closes: int = 0
    backdated: int = 0

    @property
    def flags(self) -> dict[str, np.ndarray]:
        """Reason code to a boolean mask of malformed rows and of rows with an unparseable value."""
        dtypes = schema.column_dtypes(self.table)
        out = {
            MALFORMED_ROW: self.raw.index.isin(self.raw.attrs.get(MALFORMED_ROWS, [])),
            UNPARSEABLE_DATE: np.zeros(len(self.frame), dtype=bool),
            BAD_VALUE: np.zeros(len(self.frame), dtype=bool),
        }
        for name, mask in self.bad.items():
            out[UNPARSEABLE_DATE if dtypes[name] == schema.TIMESTAMP else BAD_VALUE] |= mask
        return out


def resolve_columns(
    table: str, raw_columns: pd.Index, tmap: TableMap, file: str | Path
) -> dict[str, ColumnSpec]:
    """Canonical column -> spec with its source column resolved to a real header.

    ``file`` is the path of the file as found in the source folder; errors
    name it.

    Raises
    ------
    InputError
        When a mapped source column is absent, or (without a map) a required
        canonical column is absent; the message names the file and column.
    """
    headers = {clean_header(h): h for h in raw_columns}
    if tmap.columns is None:
        specs = {
            name: ColumnSpec(source=headers[name])
            for name in schema.column_specs(table)
            if name in headers
        }
        for name in schema.required_columns(table):
            if name not in specs:
                raise InputError(
                    f"the {table} file has no required column {name!r}; columns found: "
                    f"{', '.join(map(str, raw_columns)) or 'none'}. Rename the column or "
                    "use a column map (--map).",
                    file=file,
                    column=name,
                )
        return specs
    specs = {}
    for name, spec in tmap.columns.items():
        if spec.source is None:
            specs[name] = spec
            continue
        header = headers.get(spec.source, headers.get(clean_header(spec.source)))
        if header is None:
            raise InputError(
                f"the column map takes {table}.{name} from column {spec.source!r}, which this "
                f"file does not have; columns found: {', '.join(map(str, raw_columns)) or 'none'}.",
                file=file,
                column=spec.source,
            )
        specs[name] = ColumnSpec(
            source=header,
            values=spec.values,
            default=spec.default,
            allow_null=spec.allow_null,
        )
    return specs


def _map_distinct(s: pd.Series, fn: Callable[[str], str | None]) -> pd.Series:
    """Apply ``fn`` once per distinct value (as stripped text); missing stays missing.

    Returns a ``str`` Series on the index of ``s``; ``fn`` returning None
    gives a missing value. Exports repeat a few labels millions of times, so
    this costs one hash pass, not one Python call per row.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = pa.array([fn(str(u).strip()) for u in uniques], type=pa.large_string())
    taken = mapped.take(pa.array(codes, mask=codes < 0))
    return pd.Series(taken.to_pandas().array, index=s.index, dtype="str")


def _apply_values(s: pd.Series, values: Mapping[str, object], default: object) -> pd.Series:
    """Map source values through ``values`` (case and space-insensitive).

    Values not listed become ``default``, or pass through when it is None;
    missing values stay missing.
    """
    lookup = {normalise_label(k): (None if v is None else str(v)) for k, v in values.items()}

    def one(text: str) -> str | None:
        key = normalise_label(text)
        if key in lookup:
            return lookup[key]
        return text if default is None else str(default)

    return _map_distinct(s, one)


def _normalise_categories(s: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    """Match values to ``allowed`` ignoring case and spaces; others kept as they are."""
    lookup = {normalise_label(v): v for v in allowed}
    return _map_distinct(s, lambda text: lookup.get(normalise_label(text), text))


def normalise_stages(s: pd.Series, pipeline: Pipeline) -> pd.Series:
    """Canonical stage names; unknown labels are kept (stripped) so validation flags them.

    ``pipeline`` carries the column map's extra stage aliases (``ingest``
    merges them into the stage config's).
    """
    return pipeline.normalise_series(s, unknown="keep")


def _parse_column(
    table: str, name: str, values: pd.Series, tmap: TableMap, pipeline: Pipeline
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """Return (canonical values, bad mask, currency or None) of one column."""
    opts = tmap.options
    dtype = schema.column_dtypes(table)[name]
    currency = None
    if name in MONEY_COLUMNS:
        parsed = parse.parse_money(values, decimal=opts.decimal)
        currency = parsed.currency
    elif (table, name) == (c.SUBSCRIPTIONS, c.DISCOUNT):
        parsed = parse_discount(values, decimal=opts.decimal)  # "15%" and 0-100 columns: shares
    elif dtype == schema.TIMESTAMP:
        parsed = parse.parse_timestamps(values, timezone=opts.timezone, dayfirst=opts.dayfirst)
    elif dtype == schema.FLOAT:
        parsed = parse.parse_numbers(values, decimal=opts.decimal)
    else:
        parsed = parse.parser_for_dtype(dtype)(values)
    out = parsed.values
    if (table, name) in STAGE_COLUMNS:
        out = normalise_stages(out, pipeline)
    elif (table, name) in WORD_COLUMNS:
        out = WORD_COLUMNS[table, name](out)  # CRM words -> canonical values
    elif (table, name) in CATEGORIES:
        out = _normalise_categories(out, CATEGORIES[table, name])
    out = out.astype(dtype)
    return out, parsed.bad.fillna(False).astype(bool), currency


def same_day_closes_at_end_of_day(deals: pd.DataFrame, timezone: str) -> tuple[pd.DataFrame, int]:
    """Read a date-only close date on the creation day as the end of that day.

    CRMs export the close as a date (Salesforce ``CloseDate``: 00:00) and the
    creation as a time, so a deal created at 15:00 and won the same day looks
    closed 15 hours before it was created. Such a close (local midnight, same
    local day as the creation, before it) is moved to the last microsecond of
    that day; a close on an earlier day stays as it is and is quarantined as
    ``closed_before_created``.

    Returns
    -------
    (deals, n_moved)
    """
    if c.CLOSED_AT not in deals or c.CREATED_AT not in deals:
        return deals, 0
    closed = deals[c.CLOSED_AT].dt.tz_convert(timezone)
    created = deals[c.CREATED_AT].dt.tz_convert(timezone)
    same_day = (
        closed.notna()
        & created.notna()
        & (closed < created)
        & (closed == closed.dt.normalize())
        & (closed.dt.normalize() == created.dt.normalize())
    )
    n_moved = int(same_day.sum())
    if n_moved:
        deals = deals.copy()
        end = closed[same_day] + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
        deals.loc[same_day, c.CLOSED_AT] = end.dt.tz_convert("UTC")
    return deals, n_moved


def open_deals_expected_close(deals: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """An open deal's close date is when it is expected to close, not a close.

    Salesforce exports ``CloseDate`` on open opportunities as the expected
    close, often months after the export; read as ``closed_at`` it would end
    the deal's cycle in the future. It moves to ``expected_close_at`` (unless
    the export maps that column itself) and ``closed_at`` is cleared.

    Returns
    -------
    (deals, n_moved)
    """
    if c.CLOSED_AT not in deals or c.OUTCOME not in deals:
        return deals, 0
    moving = (deals[c.OUTCOME] == c.OPEN).fillna(False) & deals[c.CLOSED_AT].notna()
    n_moved = int(moving.sum())
    if not n_moved:
        return deals, 0
    deals = deals.copy()
    if c.EXPECTED_CLOSE_AT not in deals:
        deals[c.EXPECTED_CLOSE_AT] = pd.Series(pd.NaT, index=deals.index, dtype=schema.TIMESTAMP)
    keep = deals[c.EXPECTED_CLOSE_AT].isna() & moving
    deals.loc[keep, c.EXPECTED_CLOSE_AT] = deals.loc[keep, c.CLOSED_AT]
    deals.loc[moving, c.CLOSED_AT] = pd.NaT
    return deals[[k for k in schema.column_dtypes(c.DEALS) if k in deals]], n_moved


def flag_backdated(deals: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep deals closed before they were created; flag them and drop the close time.

    A deal logged in the CRM after it was already won or lost has a close
    date before its creation. Its outcome and amount are facts; its cycle
    is not measurable. It gets ``backdated = True`` and no ``closed_at``,
    so outcomes and money count it and durations leave it out.

    Returns
    -------
    (deals, n_flagged)
    """
    if c.CLOSED_AT not in deals or c.CREATED_AT not in deals:
        return deals, 0
    before = (deals[c.CLOSED_AT] < deals[c.CREATED_AT]).fillna(False)
    n = int(before.sum())
    deals = deals.copy()
    deals[c.BACKDATED] = pd.array(before.to_numpy(dtype=bool), dtype="boolean")
    if n:
        deals.loc[before, c.CLOSED_AT] = pd.NaT
    return deals[[k for k in schema.column_dtypes(c.DEALS) if k in deals]], n


def build_canonical(
    table: str,
    raw: pd.DataFrame,
    tmap: TableMap,
    pipeline: Pipeline,
    *,
    source_file: str | Path,
) -> CanonicalTable:
    """Map and parse one raw table.

    Parameters
    ----------
    table : str
        Canonical table name.
    raw : pandas.DataFrame
        The file as read, RangeIndex over data rows.
    tmap : TableMap
        How the table is mapped.
    pipeline : Pipeline
        Pipeline (with the map's stage aliases) to normalise stage labels.
    source_file : str or Path
        The file as found in the source folder: messages name its path, the
        quarantine its name.

    Returns
    -------
    CanonicalTable
    """
    raw = raw.reset_index(drop=True)
    specs = resolve_columns(table, raw.columns, tmap, source_file)
    frame: dict[str, pd.Series] = {}
    bad: dict[str, np.ndarray] = {}
    dtypes = schema.column_dtypes(table)
    currency = None
    for name, spec in specs.items():
        if spec.source is None:
            constant = pd.NA if spec.constant is None else str(spec.constant)
            values = pd.Series(constant, index=raw.index, dtype="string")
        else:
            values = raw[spec.source]
        if spec.values is not None:
            values = _apply_values(values, spec.values, spec.default)
        out, bad_mask, cur = _parse_column(table, name, values, tmap, pipeline)
        frame[name] = out
        bad[name] = bad_mask.to_numpy()
        if name == CURRENCY_FROM.get(table):
            currency = cur
    filled = 0
    if table in CURRENCY_FROM and c.CURRENCY not in frame and currency is not None:
        currency = currency.astype(dtypes[c.CURRENCY])
        filled = int(currency.notna().sum())
        if filled:
            frame[c.CURRENCY] = currency
    order = [k for k in dtypes if k in frame]
    canon = pd.DataFrame({k: frame[k] for k in order}, index=raw.index)
    end_of_day = expected = backdated = 0
    if table == c.DEALS and c.PROBABILITY in canon:
        canon[c.PROBABILITY] = probability_as_share(canon[c.PROBABILITY])
    if table == c.DEAL_CHANGES:
        canon, value_bad = normalise_changes(
            canon, pipeline, decimal=tmap.options.decimal, timezone=tmap.options.timezone,
            dayfirst=tmap.options.dayfirst,
        )  # fmt: skip
        for name, mask in value_bad.items():
            bad[name] = bad.get(name, np.zeros(len(canon), dtype=bool)) | mask
    if table == c.DEALS:
        canon, end_of_day = same_day_closes_at_end_of_day(canon, tmap.options.timezone)
        canon, expected = open_deals_expected_close(canon)
        if tmap.options.backdated == "flag":
            canon, backdated = flag_backdated(canon)
    if table == c.LEADS:
        canon = flag_steps_out_of_order(canon, tmap.options.timezone)
    if table == c.SUBSCRIPTIONS:
        canon = flag_mrr_inconsistent(canon)
    if table == c.ONBOARDING:
        canon = flag_go_live_before_kickoff(canon, tmap.options.timezone)
    used = {s.source for s in specs.values() if s.source is not None}
    ignored = tuple(str(col) for col in raw.columns if col not in used)
    return CanonicalTable(
        table=table,
        frame=canon,
        raw=raw,
        bad=bad,
        source_file=Path(source_file).name,
        ignored_columns=ignored,
        currency_filled=filled,
        closes_at_end_of_day=end_of_day,
        expected_closes=expected,
        backdated=backdated,
    )
