"""Timestamp text in mixed formats to UTC; the engine behind ``parse.parse_timestamps``.

A ``str`` column first goes through Arrow's strict ISO 8601 cast
(:func:`iso_by_cast`), which settles clean ISO columns in one vectorised step.
The remaining distinct texts go through three stages, each only on what the
previous one could not read: ISO 8601 by pandas (vectorised), numeric
day-month dates rewritten to ISO in the declared order (vectorised in Arrow),
then dates with month names, first by formats guessed from a few values and
applied to all remaining values, finally one value at a time with pandas'
general parser (dateutil), giving up (leaving the rest unread, hence bad)
after 1,000 failures in a row.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zoneinfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.tseries.api import guess_datetime_format

# An offset after a time of day: Z, UTC/GMT, +01, +0100 or +01:00 (RE2 syntax for pyarrow,
# matched ignoring case).
_OFFSET = r"\d:\d\d(?::\d\d(?:[.,]\d+)?)?\s*(?:z|utc|gmt|[+-]\d\d(?::?\d\d)?)$"
# 03/14/2024, 14.03.24, 3-14-2024 10:30: two numbers, the same separator, then the year.
_NUMERIC_DATE = (
    r"^(?P<a>\d{1,2})(?P<s1>[/.-])(?P<b>\d{1,2})(?P<s2>[/.-])(?P<y>\d{4}|\d{2})"
    r"(?:(?:,?\s+|T)(?P<rest>.+))?$"
)
# What pandas' ISO 8601 parser can read starts with a year: 2024-03-14, 20240314, 2024/03/14.
_ISO_START = r"^\d{4}[-/]?\d"
_HAS_YEAR = re.compile(r"\d{4}", re.ASCII)
_BARE_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?", re.ASCII)
_MAX_GUESSED_FORMATS = 20
_MAX_FAILURES_IN_A_ROW = 1000
_NAT = np.datetime64("NaT", "us")


def localize_to_utc(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Convert aware timestamps to UTC; localise naive ones to ``timezone`` first.

    An ambiguous local time (clocks going back) is taken as its first
    occurrence; a local time skipped by clocks going forward moves forward by
    the gap. The result has microsecond resolution.
    """
    if index.tz is None:
        zone = _zone(timezone)
        if zone == "UTC":
            index = index.tz_localize("UTC")
        else:
            first = np.ones(len(index), dtype=bool)  # True = daylight-saving occurrence
            index = index.tz_localize(zone, ambiguous=first, nonexistent="shift_forward")
    return index.tz_convert("UTC").as_unit("us")


def _zone(timezone: str) -> str:
    """``timezone`` checked against the IANA database; a ValueError names the option and value."""
    hint = "use an IANA time zone name such as 'UTC' or 'Europe/Berlin'"
    if not isinstance(timezone, str):
        raise ValueError(f"option timezone must be text, not {timezone!r}; {hint}.")
    if timezone.upper() == "UTC":
        return "UTC"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"option timezone: unknown time zone {timezone!r}; {hint}.") from None
    return timezone


def iso_by_cast(s: pd.Series, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised first pass over a ``str`` column: ISO 8601 values by Arrow's cast.

    Returns ``(values, settled)``: naive-UTC ``datetime64[us]`` values and the
    mask of entries this pass settled (read, or NA). Arrow's strict ISO 8601
    cast fails as a whole on any other value, so it is tried on the whole
    column, then on the values that start like ISO 8601, then on those of them
    with an offset and those without; whatever it cannot settle is left to the
    general path.
    """
    values = pc.utf8_trim_whitespace(_arrow(s))
    whole = _cast(values, timezone)
    if whole is not None:
        return whole, np.ones(len(s), bool)
    out = np.full(len(s), _NAT)
    settled = _mask(values.is_null())
    iso = np.flatnonzero(_mask(pc.match_substring_regex(values, _ISO_START)))
    candidates = values.take(pa.array(iso))
    got = _cast(candidates, timezone)
    if got is not None:
        out[iso], settled[iso] = got, True
        return out, settled
    aware = _mask(pc.match_substring_regex(candidates, _OFFSET, ignore_case=True))
    for subset in (aware, ~aware):
        if subset.any():
            got = _cast(candidates.filter(pa.array(subset)), timezone)
            if got is not None:
                out[iso[subset]], settled[iso[subset]] = got, True
    return out, settled


def _cast(values: pa.Array | pa.ChunkedArray, timezone: str) -> np.ndarray | None:
    """All values as naive-UTC datetime64[us] if all are ISO 8601 of one kind, else None."""
    sample = values.drop_null().slice(0, 1000)
    for unit in (pa.timestamp("us"), pa.timestamp("us", tz="UTC")):
        try:  # a failing cast is slow: try a sample first
            pc.cast(sample, unit)
            cast = pc.cast(values, unit)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        index = pd.DatetimeIndex(cast.to_pandas()) if len(values) else pd.DatetimeIndex([])
        return localize_to_utc(index.as_unit("us"), timezone).tz_localize(None).to_numpy()
    return None


def _arrow(s: pd.Series) -> pa.ChunkedArray | pa.Array:
    """The Arrow strings of a ``str`` Series (zero-copy when pyarrow-backed)."""
    return pa.array(s.array, type=pa.large_string()) if len(s) else pa.array([], pa.string())


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def _naive_utc(index: pd.DatetimeIndex | pd.Series, timezone: str) -> np.ndarray:
    return localize_to_utc(pd.DatetimeIndex(index), timezone).tz_localize(None).to_numpy()


def timestamps_from_text(
    texts: pd.Series, timezone: str, dayfirst: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Parse distinct stripped texts.

    Returns
    -------
    values : numpy.ndarray
        ``datetime64[us]`` holding UTC wall times, NaT where unreadable.
    failed : numpy.ndarray
        Boolean, True where a text could not be read (including empty texts;
        the caller decides which of those count as missing).
    """
    texts = texts.reset_index(drop=True)
    out = _iso(texts, timezone)
    todo = np.flatnonzero(np.isnat(out))
    if len(todo):
        rewritten, hopeless = _numeric_dates_as_iso(texts.iloc[todo], dayfirst)
        keep = ~hopeless
        todo, rewritten = todo[keep], rewritten[keep]
        if len(todo):
            out[todo] = _iso(rewritten, timezone)
            left = np.isnat(out[todo])
            _textual(rewritten[left].tolist(), todo[left], out, timezone, dayfirst)
    return out, np.isnat(out)


def _iso(texts: pd.Series, timezone: str) -> np.ndarray:
    """ISO 8601 texts to naive-UTC datetime64[us]; NaT where not ISO."""
    out = np.full(len(texts), _NAT)
    arr = _arrow(texts)
    iso = _mask(pc.match_substring_regex(arr, _ISO_START))
    aware = iso & _mask(pc.match_substring_regex(arr, _OFFSET, ignore_case=True))
    if aware.any():
        parsed = pd.to_datetime(texts[aware], format="ISO8601", utc=True, errors="coerce")
        out[aware] = parsed.dt.tz_localize(None).dt.as_unit("us").to_numpy()
    naive = iso & ~aware
    if naive.any():
        try:
            parsed = pd.to_datetime(texts[naive], format="ISO8601", errors="coerce")
        except ValueError:  # an offset the pattern missed, mixed with local times
            return out
        if parsed.dt.tz is not None:
            out[naive] = (
                parsed.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("us").to_numpy()
            )
        else:
            out[naive] = _naive_utc(parsed.dt.as_unit("us"), timezone)
    return out


def _numeric_dates_as_iso(texts: pd.Series, dayfirst: bool) -> tuple[pd.Series, np.ndarray]:
    """Rewrite numeric day-month dates to ISO; flag those impossible in the declared order.

    Vectorised in Arrow: texts not of the form are returned unchanged.
    """
    arr = pc.cast(_arrow(texts), pa.string())
    parts = pc.extract_regex(arr, _NUMERIC_DATE)
    field = {name: pc.struct_field(parts, name) for name in ("a", "s1", "b", "s2", "y", "rest")}
    found = pc.and_(parts.is_valid(), pc.equal(field["s1"], field["s2"]))
    found = pc.fill_null(found, False)
    first, second = pc.cast(field["a"], pa.int32()), pc.cast(field["b"], pa.int32())
    day, month = (first, second) if dayfirst else (second, first)
    possible = pc.and_(
        pc.and_(pc.greater_equal(month, 1), pc.less_equal(month, 12)),
        pc.and_(pc.greater_equal(day, 1), pc.less_equal(day, 31)),
    )
    year = pc.cast(field["y"], pa.int32())
    short = pc.equal(pc.utf8_length(field["y"]), 2)
    pivot = pc.if_else(pc.less(year, 69), pc.add(year, 2000), pc.add(year, 1900))
    year = pc.if_else(short, pivot, year)

    def padded(values: pa.Array, width: int) -> pa.Array:
        return pc.utf8_lpad(pc.cast(values, pa.string()), width=width, padding="0")

    iso = pc.binary_join_element_wise(padded(year, 4), padded(month, 2), padded(day, 2), "-")
    rest = pc.if_else(
        pc.equal(field["rest"], ""), "", pc.binary_join_element_wise(" ", field["rest"], "")
    )
    rewritten = pc.if_else(found, pc.binary_join_element_wise(iso, rest, ""), arr)
    hopeless = pc.fill_null(pc.and_(found, pc.invert(possible)), False)
    return (
        pd.Series(rewritten.to_pandas(), dtype="str"),
        hopeless.to_numpy(zero_copy_only=False).astype(bool),
    )


def _textual(
    texts: list[str], where: np.ndarray, out: np.ndarray, timezone: str, dayfirst: bool
) -> None:
    """Dates with month names or other words; writes into ``out[where]``."""
    keep = [i for i, t in enumerate(texts) if _HAS_YEAR.search(t) and not _BARE_NUMBER.fullmatch(t)]
    remaining = pd.Series([texts[i] for i in keep], dtype="str")
    targets = where[keep]
    tried: set[str] = set()
    for _ in range(_MAX_GUESSED_FORMATS):  # formats guessed from a few values, applied to all
        fmt = _next_format(remaining, tried, dayfirst)
        if fmt is None:
            break
        tried.add(fmt)
        parsed = pd.to_datetime(remaining, format=fmt, errors="coerce")
        ok = parsed.notna().to_numpy(bool)
        out[targets[ok]] = _naive_utc(parsed[ok].dt.as_unit("us"), timezone)
        remaining, targets = remaining[~ok], targets[~ok]
    failures = 0  # a column of words with years in them would take minutes: give up early
    for text, target in zip(remaining.tolist(), targets, strict=True):
        out[target] = _one_timestamp(text, timezone, dayfirst)
        failures = failures + 1 if np.isnat(out[target]) else 0
        if failures >= _MAX_FAILURES_IN_A_ROW:
            return


def _next_format(texts: pd.Series, tried: set[str], dayfirst: bool) -> str | None:
    """A format not tried yet, guessed from up to 200 values spread over ``texts``."""
    spread = np.unique(np.linspace(0, len(texts) - 1, num=min(len(texts), 200)).astype(int))
    for text in texts.iloc[spread] if len(texts) else ():
        fmt = _guess_format(text, dayfirst)
        if fmt is not None and fmt not in tried:
            return fmt
    return None


def _guess_format(text: str, dayfirst: bool) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fmt = guess_datetime_format(text, dayfirst=dayfirst)
    if fmt is None or "%z" in fmt or "%Z" in fmt:
        return None
    return fmt


def _one_timestamp(text: str, timezone: str, dayfirst: bool) -> np.datetime64:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stamp = pd.Timestamp(pd.to_datetime(text, dayfirst=dayfirst))
    except (ValueError, TypeError, OverflowError):
        return _NAT
    if pd.isna(stamp):
        return _NAT
    return _naive_utc(pd.DatetimeIndex([stamp]), timezone)[0]


def timestamps_from_natives(values: list[object], timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """Naive-UTC datetime64[us] of native dates and datetimes; anything else is bad."""
    out = np.full(len(values), _NAT)
    bad = np.zeros(len(values), bool)
    naive: list[int] = []
    for i, value in enumerate(values):
        if not isinstance(value, dt.date | np.datetime64):  # datetime and Timestamp are dates
            bad[i] = True
            continue
        stamp = pd.Timestamp(value)
        if stamp.tz is None:
            naive.append(i)
        else:
            out[i] = stamp.tz_convert("UTC").tz_localize(None).as_unit("us").to_datetime64()
    if naive:
        local = pd.DatetimeIndex([pd.Timestamp(values[i]) for i in naive])
        out[naive] = localize_to_utc(local, timezone).tz_localize(None).as_unit("us").to_numpy()
    return out, bad
