"""Turn raw export values into the canonical types of the data model, losing no row.

Every parser takes a Series (strings from a CSV, or native values from XLSX or
Parquet) and returns a :class:`Parsed`: ``values`` in the canonical dtype, with
NA where the input was missing or could not be parsed, and ``bad``, a boolean
mask of inputs that were present but could not be parsed, so that ingest can
quarantine those rows with their original value. Both keep the input's index.

*Missing* means NA, an empty or whitespace-only string, or (for every type but
strings) one of :data:`NULL_TOKENS` such as ``NULL`` or ``N/A``. Text is parsed
once per distinct value and mapped back, so long columns with repeated values
are cheap.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from analysis.core import schema
from analysis.ingest._amounts import (
    CURRENCY_SYMBOLS,
    ISO_CURRENCIES,
    PLAIN,
    amounts_from_text,
)
from analysis.ingest._timestamps import (
    iso_by_cast,
    localize_to_utc,
    timestamps_from_natives,
    timestamps_from_text,
)

__all__ = [
    "CURRENCY_SYMBOLS",
    "FALSE_TOKENS",
    "ISO_CURRENCIES",
    "NULL_TOKENS",
    "TRUE_TOKENS",
    "MoneyParsed",
    "Parsed",
    "parse_booleans",
    "parse_integers",
    "parse_money",
    "parse_numbers",
    "parse_strings",
    "parse_timestamps",
    "parser_for_dtype",
]

NULL_TOKENS = frozenset({"null", "none", "nan", "nat", "na", "n/a", "#n/a"})
"""Lower-cased text that typed parsers read as missing (strings keep it as text)."""

TRUE_TOKENS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_TOKENS = frozenset({"false", "f", "no", "n", "0"})


@dataclass(frozen=True, eq=False)
class Parsed:
    """Values parsed into a canonical dtype, and which inputs could not be parsed.

    Attributes
    ----------
    values : pandas.Series
        Canonical dtype; NA where the input was missing or unparseable.
    bad : pandas.Series
        Boolean; True where the input was present but could not be parsed.
    """

    values: pd.Series
    bad: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """The fields side by side, one row per input value."""
        return pd.DataFrame({"value": self.values, "bad": self.bad})


@dataclass(frozen=True, eq=False)
class MoneyParsed(Parsed):
    """Parsed money, with the currency written in each value.

    Attributes
    ----------
    currency : pandas.Series
        ISO 4217 code (dtype ``str``) from a symbol or code in the value; NA when
        the value names no currency.
    """

    currency: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """The fields side by side, one row per input value."""
        return super().to_frame().assign(currency=self.currency)


# --- shared machinery -------------------------------------------------------------------


def _texts(s: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Distinct stripped texts of the string entries of ``s``.

    Returns ``(codes, positions, uniques)``: ``uniques`` are stripped distinct
    strings (dtype ``str``), ``codes[k]`` is the unique of the ``k``-th string
    entry, found at ``positions[k]`` in ``s``.
    """
    if isinstance(s.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(s)
    else:
        is_text = np.fromiter((isinstance(v, str) for v in s), bool, len(s))
        codes = np.full(len(s), -1, dtype=np.intp)
        codes[is_text], uniques = pd.factorize(s[is_text].astype("str"))
    positions = np.flatnonzero(codes >= 0)
    return codes[positions], positions, pd.Series(uniques, dtype="str").str.strip()


def _blank(uniques: pd.Series) -> np.ndarray:
    """Mask of texts that mean missing: empty, or one of :data:`NULL_TOKENS`."""
    empty = (uniques == "").to_numpy(bool, copy=True)
    return empty | uniques.str.lower().isin(NULL_TOKENS).to_numpy(bool)


def _natives(s: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Positions and values of the non-string, non-missing entries of an object Series."""
    if isinstance(s.dtype, pd.StringDtype):
        return np.empty(0, int), []
    values = s.to_numpy(dtype=object)
    positions = [
        i for i, v in enumerate(values) if not isinstance(v, str) and not _is_missing_scalar(v)
    ]
    return np.asarray(positions, int), [values[i] for i in positions]


def _is_missing_scalar(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _series(values: object, s: pd.Series, dtype: object) -> pd.Series:
    return pd.Series(values, index=s.index, dtype=dtype)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


# --- strings ----------------------------------------------------------------------------


def parse_strings(s: pd.Series) -> Parsed:
    """Canonical text: stripped, empty strings missing.

    Native values become text: integral floats without ``.0`` (an id read as
    1001.0 from a spreadsheet becomes ``"1001"``), timestamps in ISO 8601.
    A nested value (a Parquet struct, list or map) is bad: its text form
    (``"{'a': 1}"``) is no label anyone wrote; so are bytes that are not
    UTF-8 text (``analysis.ingest.read`` decodes the rest).
    """
    if isinstance(s.dtype, pd.StringDtype):
        stripped = s.str.strip()
        values = stripped.mask(stripped == "").astype("str")
        return Parsed(values, _series(False, s, bool))
    nested = s.map(
        lambda v: isinstance(v, dict | list | tuple | np.ndarray | bytes), na_action="ignore"
    )
    nested = nested.fillna(False).astype(bool)
    values = s.mask(nested).map(_as_text, na_action="ignore").astype("str")
    values = values.mask(values == "")
    return Parsed(values, nested)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    return str(value)


# --- timestamps ---------------------------------------------------------------------------


def parse_timestamps(s: pd.Series, *, timezone: str = "UTC", dayfirst: bool = False) -> Parsed:
    """Parse timestamps in mixed formats to ``datetime64[us, UTC]``.

    Parameters
    ----------
    s : pandas.Series
        Text, native datetimes (naive or aware) or a mix.
    timezone : str
        IANA zone of values written without an offset (``"Europe/Berlin"``).
    dayfirst : bool
        Read numeric dates such as ``03/04/2024`` day first (3 April) instead of
        month first (4 March).

    Returns
    -------
    Parsed
        ``values`` of dtype ``datetime64[us, UTC]``.

    Notes
    -----
    Accepted: ISO 8601 with or without time and offset (``2024-03-14``,
    ``2024-03-14T09:30:00Z``, ``2024-03-14 09:30:00+01:00``); numeric dates with
    ``/``, ``.`` or ``-`` in the declared day-month order, two-digit years
    pivoting at 69 like ``%y`` (``03/14/2024``; ``14/03/2024`` is bad unless
    ``dayfirst``); dates with a month name and a four-digit year (``14 Mar
    2024``, ``Mar 14, 2024 9:30 AM``); native datetimes. Bare numbers (Excel
    serials), numbers of any other type and dates without a year are bad.
    Values without an offset are local times in ``timezone``: an ambiguous time
    (clocks going back) is taken as its first occurrence, a time skipped by
    clocks going forward is moved forward by the gap.
    """
    localize_to_utc(pd.DatetimeIndex([]), timezone)  # a wrong zone fails here, with its name
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        utc = localize_to_utc(pd.DatetimeIndex(s), timezone)
        return Parsed(_series(utc, s, schema.TIMESTAMP), _series(False, s, bool))
    out = np.full(len(s), np.datetime64("NaT", "us"))
    bad = np.zeros(len(s), bool)
    todo = np.arange(len(s))
    if isinstance(s.dtype, pd.StringDtype):
        out, settled = iso_by_cast(s, timezone)  # fast: ISO 8601 values, vectorised
        todo = np.flatnonzero(~settled)
    if len(todo):
        values, failed = _timestamps_general(s.iloc[todo], timezone, dayfirst)
        out[todo], bad[todo] = values, failed
    values = pd.DatetimeIndex(out).tz_localize("UTC").as_unit("us")
    return Parsed(_series(values, s, schema.TIMESTAMP), _series(bad, s, bool))


def _timestamps_general(
    s: pd.Series, timezone: str, dayfirst: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Naive-UTC values and bad mask of any mix of text and natives, parsed per distinct text."""
    out = np.full(len(s), np.datetime64("NaT", "us"))
    bad = np.zeros(len(s), bool)
    codes, positions, uniques = _texts(s)
    if len(uniques):
        parsed, failed = timestamps_from_text(uniques, timezone, dayfirst)
        failed &= ~_blank(uniques)
        out[positions] = parsed[codes]
        bad[positions] = failed[codes]
    where, natives = _natives(s)
    if len(where):
        values, failed = timestamps_from_natives(natives, timezone)
        out[where], bad[where] = values, failed
    return out, bad


# --- numbers and money -------------------------------------------------------------------


def parse_money(s: pd.Series, *, decimal: str = ".") -> MoneyParsed:
    """Parse money amounts such as ``$1,200.50`` or ``1.200,50 €`` to float64.

    Parameters
    ----------
    s : pandas.Series
        Text or native numbers.
    decimal : {".", ","}
        The decimal separator of the export's locale, used when a value contains
        only one kind of separator.

    Returns
    -------
    MoneyParsed
        ``values`` (float64; negative amounts stay negative) and ``currency``
        (ISO code from a symbol or code in the value, else NA).

    Notes
    -----
    A value is an optional sign, an optional currency (symbol ``$ € £ ¥ ₹`` or
    ``US$``, or an ISO 4217 code) before or after the number, or parentheses
    for a negative amount (``(1,200.50)``), and the number. Separator rule: if
    both ``.`` and ``,`` occur, the rightmost is the decimal separator; if only
    one kind occurs, it is the decimal separator when it equals ``decimal``,
    else a thousands separator. Spaces and apostrophes only group thousands, so
    with them a single ``.`` or ``,`` is the decimal separator (``1 200,50``).
    Thousands separators must split the integer part into groups of three
    digits (``1,20`` is bad when ``,`` is not the decimal separator). A value
    needs a digit (``$`` or ``-`` alone is bad) and a decimal separator needs
    digits after it (``1.`` is bad). Plain numbers may use scientific notation
    when ``decimal`` is ``"."``.
    """
    values, bad, currency = _parse_amounts(s, decimal, money=True)
    return MoneyParsed(values, bad, currency)


def parse_numbers(s: pd.Series, *, decimal: str = ".") -> Parsed:
    """Parse numbers to float64 with the separator rule of :func:`parse_money`.

    A value naming a currency is bad: use :func:`parse_money` for money.
    """
    values, bad, _ = _parse_amounts(s, decimal, money=False)
    return Parsed(values, bad)


def _parse_amounts(
    s: pd.Series, decimal: str, *, money: bool
) -> tuple[pd.Series, pd.Series, pd.Series]:
    if decimal not in PLAIN:
        raise ValueError(f"decimal must be '.' or ',', not {decimal!r}.")
    no_currency = _series(None, s, "str")
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64")
        return values.mask(np.isinf(values)), _series(np.isinf(values), s, bool), no_currency
    out = np.full(len(s), np.nan)
    bad = np.zeros(len(s), bool)
    currency = np.full(len(s), None, dtype=object)
    codes, positions, uniques = _texts(s)
    if len(uniques):
        value, failed, unit = amounts_from_text(uniques, _blank(uniques), decimal, money)
        out[positions], bad[positions], currency[positions] = (
            value[codes],
            failed[codes],
            unit[codes],
        )
    where, natives = _natives(s)
    for i, v in zip(where, natives, strict=True):
        if isinstance(v, Decimal):  # Parquet decimal money: exact, read as float
            v = float(v)
        ok = _is_number(v) and math.isfinite(v)
        out[i], bad[i] = (float(v) if ok else np.nan), not ok
    return _series(out, s, "float64"), _series(bad, s, bool), _series(currency, s, "str")


# --- integers and booleans ------------------------------------------------------------------


def parse_integers(s: pd.Series) -> Parsed:
    """Parse whole numbers to ``Int64``: ``"3"`` and ``"3.0"`` are 3, ``"3.5"`` is bad.

    Text follows :func:`parse_numbers` with ``decimal="."``; values beyond
    ±2**53 (not exact as float) are bad.
    """
    if pd.api.types.is_integer_dtype(s.dtype):
        return Parsed(s.astype(schema.INT), _series(False, s, bool))
    numbers = parse_numbers(s)
    v = numbers.values
    whole = v.isna() | ((v % 1 == 0) & (v.abs() <= 2**53))
    values = v.where(whole).round().astype(schema.INT)
    return Parsed(values, numbers.bad | ~whole)


def parse_booleans(s: pd.Series) -> Parsed:
    """Parse true/false, yes/no, y/n, t/f and 1/0 (any case) to the ``boolean`` dtype."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return Parsed(s.astype(schema.BOOL), _series(False, s, bool))
    out = np.full(len(s), pd.NA, dtype=object)
    bad = np.zeros(len(s), bool)
    codes, positions, uniques = _texts(s)
    if len(uniques):
        lower = uniques.str.lower()
        truth = np.where(
            lower.isin(TRUE_TOKENS), True, np.where(lower.isin(FALSE_TOKENS), False, None)
        )
        failed = pd.isna(truth) & ~_blank(uniques)
        truth = np.where(pd.isna(truth), pd.NA, truth)
        out[positions], bad[positions] = truth[codes], failed[codes]
    where, natives = _natives(s)
    for i, v in zip(where, natives, strict=True):
        if isinstance(v, bool | np.bool_) or (_is_number(v) and v in (0, 1)):
            out[i] = bool(v)
        else:
            bad[i] = True
    return Parsed(_series(out, s, schema.BOOL), _series(bad, s, bool))


# --- dispatch ---------------------------------------------------------------------------------


def parser_for_dtype(dtype: object) -> Callable[..., Parsed]:
    """The parser for a canonical dtype of :mod:`analysis.core.schema`.

    ``TIMESTAMP`` → :func:`parse_timestamps`, ``STRING`` → :func:`parse_strings`,
    ``FLOAT`` → :func:`parse_numbers` (money columns call :func:`parse_money`),
    ``INT`` → :func:`parse_integers`, ``BOOL`` → :func:`parse_booleans`.
    """
    parsers: dict[object, Callable[..., Parsed]] = {
        schema.STRING: parse_strings,
        schema.FLOAT: parse_numbers,
        schema.INT: parse_integers,
        schema.BOOL: parse_booleans,
    }
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype == schema.TIMESTAMP:
        return parse_timestamps
    key = str(dtype)
    if key in parsers:
        return parsers[key]
    raise ValueError(
        f"No parser for dtype {dtype!r}; canonical dtypes are {schema.TIMESTAMP}, "
        f"{schema.STRING}, {schema.FLOAT}, {schema.INT} and {schema.BOOL}."
    )
