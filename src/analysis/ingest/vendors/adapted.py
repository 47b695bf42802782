"""What a CRM adapter hands to ingest, and the steps every adapter shares.

An adapter reads a vendor's own export files and returns, per canonical
table, the source rows (one frame row per file row, so the quarantine names
the file's rows) with a few computed columns added, and a column map from
canonical columns to those columns. Ingest then parses, validates,
quarantines and writes exactly as for a hand-written map. Rows the adapter
knows to set aside (deleted in the CRM, history rows that are not stage
changes) carry a reason mask.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import StageConfig
from analysis.ingest.colmap import ColumnSpec, DeriveSpec, ReadOptions, TableMap
from analysis.ingest.fx import Rates
from analysis.ingest.hygiene import strip_control_characters
from analysis.ingest.read import read_table_file

COMPUTED = "workbench: "
"""Prefix of columns an adapter adds to the source rows (never a vendor's name)."""


@dataclass(frozen=True)
class VendorOptions:
    """What the user says about an export on the command line.

    Attributes
    ----------
    timezone : str
        Zone of the export's dates and times without an offset (a date-only
        close is the end of that day there).
    as_of : pandas.Timestamp or None
        The export's time, when the user gives it; else taken from the
        export's last-modified stamps.
    rates : Rates or None
        Exchange rates from ``--fx-rates``; an export's own rates otherwise.
    reporting_currency : str or None
        Currency to convert amounts into; by default the rates' base.
    amount_months : float
        Months a won deal's amount pays for, where an adapter derives monthly
        recurring revenue from it (Salesforce subscriptions: MRR = Amount /
        12, an annual contract value, unless set otherwise).
    """

    timezone: str = "UTC"
    as_of: pd.Timestamp | None = None
    rates: Rates | None = None
    reporting_currency: str | None = None
    amount_months: float = 12.0


@dataclass(frozen=True)
class AdaptedTable:
    """One canonical table as an adapter read it.

    Attributes
    ----------
    table : str
        Canonical table name.
    raw : pandas.DataFrame
        The source rows, RangeIndex over the file's data rows, plus computed
        columns (named with :data:`COMPUTED`).
    tmap : TableMap
        Canonical column to its source or computed column.
    file : Path
        The file the rows come from.
    flags : Mapping[str, numpy.ndarray]
        Reason code to a mask of rows to set aside.
    """

    table: str
    raw: pd.DataFrame
    tmap: TableMap
    file: Path
    flags: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorExport:
    """A vendor's export, adapted.

    Attributes
    ----------
    vendor : str
    tables : Mapping[str, AdaptedTable or callable]
        Each table, or a function that builds it: ingest calls it when the
        table's turn comes, so a large file (a CRM's tasks) is read only
        after the deals are written and released.
    stages : StageConfig
        The pipeline(s) read from the export's own stage metadata or history.
    inputs : Mapping[str, Path]
        Every file used, by the vendor's object name.
    ignored_files : tuple of str
    as_of : pandas.Timestamp or None
        The export's time (cut-off).
    reporting_currency : str or None
        The currency ``deals.amount`` is in after conversion (None: as exported).
    notes : tuple of str
    stripped : Mapping[str, int]
        ``file.column`` to rows whose text lost control characters (filled
        further while lazy tables are read).
    """

    vendor: str
    tables: Mapping[str, AdaptedTable | Callable[[], AdaptedTable]]
    stages: StageConfig
    inputs: Mapping[str, Path]
    ignored_files: tuple[str, ...] = ()
    as_of: pd.Timestamp | None = None
    reporting_currency: str | None = None
    notes: tuple[str, ...] = ()
    stripped: Mapping[str, int] = field(default_factory=dict)


# --- reading ----------------------------------------------------------------------


@dataclass
class ExportFiles:
    """The files of an export folder, found by object name ignoring case.

    Vendors name files after objects (``Opportunity.csv``,
    ``opportunity_history.csv``, ``OpportunityHistory-20260101.csv``); a
    file matches an object when its stem, lower-cased without ``_``, ``-``
    and spaces, starts with the object's name so written.
    """

    folder: Path
    files: Mapping[str, Path]
    used: dict[str, Path] = field(default_factory=dict)
    stripped: dict[str, int] = field(default_factory=dict)

    def find(self, *names: str) -> Path | None:
        """The file of the first object name that matches (exact stems win)."""
        keyed = {stem_key(stem): path for stem, path in self.files.items()}
        for name in names:
            if stem_key(name) in keyed:
                return keyed[stem_key(name)]
        for name in names:
            for key, path in keyed.items():
                if key.startswith(stem_key(name)) and not any(
                    key.startswith(stem_key(other)) and len(other) > len(name) for other in names
                ):
                    return path
        return None

    def read(self, obj: str, *names: str, required: bool = False) -> pd.DataFrame | None:
        """Read the file of object ``obj`` (also tried as ``names``), text cleaned."""
        path = self.find(obj, *names)
        if path is None:
            if required:
                raise InputError(
                    f"this export has no {obj} file, which it needs; files found: "
                    f"{', '.join(sorted(p.name for p in self.files.values())) or 'none'}.",
                    file=self.folder / obj,
                )
            return None
        return self.read_path(obj, path)

    def read_path(self, obj: str, path: Path) -> pd.DataFrame:
        """Read ``path`` as the file of object ``obj``, text cleaned (control characters counted)."""
        frame, counts = strip_control_characters(read_table_file(path))
        for name, n in counts.items():
            self.stripped[f"{path.name}.{name}"] = n
        self.used[obj] = path
        return frame

    def ignored(self) -> tuple[str, ...]:
        """Names of the files no object used."""
        used = set(self.used.values())
        return tuple(sorted(p.name for p in self.files.values() if p not in used))


def stem_key(name: str) -> str:
    """A file stem or object name as a matching key: lower case without spaces, ``_``, ``-``."""
    return re.sub(r"[\s_\-]+", "", name).lower()


def json_file(folder: Path, stems: tuple[str, ...]) -> Path | None:
    """The first ``.json`` file of ``folder`` whose stem key starts with one of ``stems``."""
    keys = tuple(stem_key(s) for s in stems)
    for path in sorted(Path(folder).glob("*")):
        if path.suffix.lower() == ".json" and stem_key(path.stem).startswith(keys):
            return path
    return None


def read_json(path: Path, what: str) -> object:
    """A vendor's JSON file as it comes; an InputError naming it (``what``) when unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"the {what} cannot be read as JSON ({exc}).", file=path) from None


def json_records(data: object, key: str) -> list:
    """The records of an API response or a list of its pages: each page's ``key`` list, or
    the page itself when it has none."""
    records: list = []
    for page in data if isinstance(data, list) else [data]:
        if isinstance(page, dict) and isinstance(page.get(key), list):
            records += page[key]
        elif isinstance(page, dict):
            records.append(page)
    return records


def column(frame: pd.DataFrame, *names: str) -> str | None:
    """The frame's header matching one of ``names`` (ignoring case), else None."""
    headers = {str(h).strip().lower(): h for h in frame.columns}
    for name in names:
        if name.lower() in headers:
            return headers[name.lower()]
    return None


def per_distinct(values: pd.Series, transform: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``transform`` applied to each distinct value once, spread back to every row.

    CRM columns repeat a few values millions of times (flags, dates, codes),
    so this costs one hash pass plus ``transform`` on the distinct values.
    Missing values are passed to ``transform`` as one missing value.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = transform(pd.Series(uniques, dtype=values.dtype))
    return pd.Series(done.to_numpy()[codes], index=values.index, dtype=done.dtype)


def truthy(values: pd.Series) -> pd.Series:
    """Vendor booleans (``true``/``1``/``yes``, any case) as a boolean Series; blanks missing."""

    def read(distinct: pd.Series) -> pd.Series:
        text = distinct.astype("str").str.strip().str.lower()
        out = pd.Series(pd.NA, index=distinct.index, dtype="boolean")
        out[text.isin(["true", "1", "yes", "y", "t"]).fillna(False)] = True
        out[text.isin(["false", "0", "no", "n", "f"]).fillna(False)] = False
        return out

    return per_distinct(values, read)


def as_timestamps(values: pd.Series, timezone: str) -> pd.Series:
    """Parse vendor dates and times (ISO, with or without offset) to UTC."""
    from analysis.ingest.parse import parse_timestamps

    return parse_timestamps(values, timezone=timezone, dayfirst=False).values


def end_of_local_day(dates: pd.Series, timezone: str) -> pd.Series:
    """A date-only field as the last microsecond of that day in ``timezone``, as ISO text.

    Unreadable values pass through unchanged, so ingest flags them. Each
    distinct date is converted once (a million close dates span a few
    thousand days).
    """

    def convert(distinct: pd.Series) -> pd.Series:
        text = values_text(distinct)
        date_only = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}").fillna(False)
        parsed = pd.to_datetime(text.where(date_only), errors="coerce", format="%Y-%m-%d")
        local = (parsed + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)).dt.tz_localize(
            timezone, ambiguous="NaT", nonexistent="shift_forward"
        )
        iso = local.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return text.where(~date_only | iso.isna(), iso).astype("str")

    return per_distinct(dates, convert)


def values_text(values: pd.Series) -> pd.Series:
    """Values as stripped text (missing stays missing)."""
    return values.astype("str").str.strip().where(values.notna())


def latest(*stamps: pd.Series | None, timezone: str = "UTC") -> pd.Timestamp | None:
    """The latest of several columns of timestamps (the export's time), or None."""
    found = []
    for s in stamps:
        if s is None:
            continue
        parsed = as_timestamps(s, timezone)
        if parsed.notna().any():
            found.append(parsed.max())
    return max(found) if found else None


# --- fields every adapter reads ---------------------------------------------------


def require(
    frame: pd.DataFrame,
    names: Sequence[str],
    *,
    file: Path,
    what: str,
    advice: str,
    find: Callable[[pd.DataFrame, str], str | None] = column,
    spell: Callable[[str], str] = str,
    header: Callable[[str], str] = str,
) -> list[str]:
    """The headers of the fields ``names``, one per name.

    Parameters
    ----------
    frame : pandas.DataFrame
    names : sequence of str
        The vendor's field names.
    file : Path
    what, advice : str
        The message's subject (``"the Salesforce User file"``) and its last sentence.
    find : callable, optional
        ``find(frame, name)``: a field's header or None (default :func:`column`).
    spell, header : callable, optional
        A missing field as the message lists it, and as the error's column.

    Raises
    ------
    InputError
        Listing every missing field and the columns found; column: the first missing.
    """
    found = [find(frame, n) for n in names]
    missing = [n for n, f in zip(names, found, strict=True) if f is None]
    if missing:
        raise InputError(
            f"{what} lacks {', '.join(spell(n) for n in missing)}; columns found: "
            f"{', '.join(map(str, frame.columns))}. {advice}",
            file=file,
            column=header(missing[0]),
        )
    return [str(f) for f in found]


def custom_column(
    frame: pd.DataFrame,
    *patterns: str,
    label: Callable[[str], str] | None = None,
    skip: Callable[[str], object] | None = None,
) -> str | None:
    """The header of a custom field whose name matches a regex of ``patterns`` (any case).

    Parameters
    ----------
    frame : pandas.DataFrame
    *patterns : str
        Tried in order; the first any column matches wins, then the leftmost column.
    label : callable, optional
        The name matched for a header (default: the header).
    skip : callable, optional
        True for headers never matched; computed columns never are.
    """
    names = [
        (str(h), label(str(h)) if label else str(h))
        for h in frame.columns
        if not str(h).startswith(COMPUTED) and not (skip and skip(str(h)))
    ]
    for pattern in patterns:
        for header, name in names:
            if re.search(pattern, name, flags=re.IGNORECASE):
                return header
    return None


def deleted_rows(frame: pd.DataFrame, *names: str) -> np.ndarray:
    """Mask of rows deleted (archived) in the CRM: the first flag column of ``names`` true.

    Without such a column no row is; a blank flag is not deleted.
    """
    found = column(frame, *names)
    if found is None:
        return np.zeros(len(frame), dtype=bool)
    return truthy(frame[found]).fillna(False).to_numpy(dtype=bool)


def segment_values(values: pd.Series) -> pd.Series:
    """A segment field as ``B2B``/``B2C`` (any case read); other values stripped, for ingest to flag."""
    text = values_text(values)
    upper = text.str.upper()
    return upper.where(upper.isin([c.B2B, c.B2C]), text)


def full_names(frame: pd.DataFrame, first: str | None, last: str | None) -> pd.Series:
    """``First Last`` per row (stripped, a blank part dropped); missing unless both columns exist.

    Parameters
    ----------
    frame : pandas.DataFrame
    first, last : str or None
        Headers of the first and the last name.
    """
    if first is None or last is None:
        return pd.Series(pd.NA, index=frame.index, dtype=object)
    parts = [frame[x].fillna("").astype("str") for x in (first, last)]
    return (parts[0] + " " + parts[1]).str.strip()


def table_map(
    table: str,
    file: Path,
    columns: Mapping[str, str | ColumnSpec],
    timezone: str,
    *,
    derive: DeriveSpec | None = None,
) -> TableMap:
    """A column map for one adapted table (backdated deals are flagged, not quarantined)."""
    specs = {
        k: v if isinstance(v, ColumnSpec) else ColumnSpec(source=v) for k, v in columns.items()
    }
    return TableMap(
        table=table,
        file=file.stem,
        options=ReadOptions(timezone=timezone, backdated="flag"),
        columns=MappingProxyType(specs),
        derive=derive,
    )
