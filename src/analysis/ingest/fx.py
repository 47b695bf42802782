"""Exchange rates: convert deal, order and subscription money into one reporting currency.

A rate says how many units of a currency buy one unit of the rates' base
currency (Salesforce's ``CurrencyType.ConversionRate`` against the corporate
currency, or the ``rate`` column of an ``--fx-rates`` file). A rate may hold
for a period (``valid_from`` inclusive, ``valid_to`` exclusive, as
Salesforce's ``DatedConversionRate`` with ``StartDate``/``NextStartDate``)
or always (both bounds empty). A period's rate wins over an undated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError, stop_at_first_row
from analysis.ingest import parse

CURRENCY, RATE, VALID_FROM, VALID_TO = "currency", "rate", "valid_from", "valid_to"
RATE_COLUMNS = (CURRENCY, RATE, VALID_FROM, VALID_TO)


@dataclass(frozen=True)
class Rates:
    """Exchange rates against one base currency.

    Attributes
    ----------
    table : pandas.DataFrame
        ``currency`` (ISO code, upper case), ``rate`` (units per base unit,
        > 0), ``valid_from`` and ``valid_to`` (UTC timestamps; missing when
        the rate is not limited in time).
    base : str or None
        The currency whose rate is 1 by definition, when known.
    source : str
        Where the rates came from, for the manifest.
    """

    table: pd.DataFrame
    base: str | None
    source: str

    @property
    def currencies(self) -> frozenset[str]:
        """Every currency with a rate, the base included."""
        found = set(self.table[CURRENCY])
        return frozenset(found | ({self.base} if self.base else set()))

    def rate_at(self, currency: str, at: pd.Series) -> np.ndarray:
        """The rate of ``currency`` at each moment of ``at`` (NaN where none holds).

        A moment that is missing takes the undated rate, else the latest period's.
        """
        rows = self.table[self.table[CURRENCY] == currency]
        if currency == self.base and rows.empty:
            return np.ones(len(at))
        out = np.full(len(at), np.nan)
        undated = rows[rows[VALID_FROM].isna() & rows[VALID_TO].isna()]
        if len(undated):
            out[:] = float(undated[RATE].iloc[-1])
        dated = rows[rows[VALID_FROM].notna() | rows[VALID_TO].notna()].sort_values(
            VALID_FROM, na_position="first"
        )
        moments = pd.to_datetime(at, utc=True)
        for start, end, rate in zip(dated[VALID_FROM], dated[VALID_TO], dated[RATE], strict=True):
            inside = moments.notna().to_numpy().copy()
            if pd.notna(start):
                inside &= (moments >= start).fillna(False).to_numpy()
            if pd.notna(end):
                inside &= (moments < end).fillna(False).to_numpy()
            out[inside] = float(rate)
        if len(dated) and not len(undated):
            out[moments.isna().to_numpy()] = float(dated[RATE].iloc[-1])
        return out


def rates_frame(
    currency: pd.Series, rate: pd.Series, valid_from=None, valid_to=None
) -> pd.DataFrame:
    """A :attr:`Rates.table` from columns (bounds optional)."""
    n = len(currency)
    none = pd.Series(pd.NaT, index=currency.index, dtype="datetime64[us, UTC]")
    return pd.DataFrame(
        {
            CURRENCY: currency.astype("str").str.strip().str.upper().to_numpy(),
            RATE: pd.to_numeric(rate, errors="coerce").to_numpy(dtype=float),
            VALID_FROM: (none if valid_from is None else valid_from).to_numpy(),
            VALID_TO: (none if valid_to is None else valid_to).to_numpy(),
        },
        index=range(n),
    )


def check_rates(table: pd.DataFrame, file: Path, columns: dict[str, str]) -> None:
    """Raise naming the file, column and row of the first unusable rate."""
    stop_at_first_row(
        ~(table[RATE] > 0),
        "an exchange rate must be a number above zero.",
        file=file,
        column=columns[RATE],
    )
    stop_at_first_row(
        table[CURRENCY].isin(["", "NAN", "NONE"]),
        "an exchange rate has no currency code.",
        file=file,
        column=columns[CURRENCY],
    )


def rate_dates(values: pd.Series, file: Path | str, column: str) -> pd.Series:
    """A date column of an exchange-rate file as UTC times.

    An unreadable date stops ingest naming its row: a rate applied to the
    wrong period converts every deal of that period wrongly.
    """
    parsed = parse.parse_timestamps(values, timezone="UTC", dayfirst=False)
    stop_at_first_row(
        parsed.bad.fillna(False), "this date of an exchange rate cannot be read.",
        file=file, column=column,
    )  # fmt: skip
    return parsed.values.astype("datetime64[us, UTC]")


def read_rates_file(path: str | Path) -> Rates:
    """Read an ``--fx-rates`` file: ``currency, rate[, valid_from, valid_to]``.

    Parameters
    ----------
    path : str or Path
        CSV, XLSX or Parquet file with those columns (names matched ignoring
        case); ``rate`` is units of the currency per unit of the base.

    The base currency is the one whose rate is 1. Amounts may be converted
    into any currency of the file (``--reporting-currency``), not only the
    base.

    Raises
    ------
    InputError
        When the file lacks a column, a rate is not above zero or a date is
        unreadable (naming file, column and row), or the base is unclear.
    """
    from analysis.ingest.read import read_table_file

    path = Path(path)
    raw = read_table_file(path)
    headers = {str(h).strip().lower(): h for h in raw.columns}
    for name in (CURRENCY, RATE):
        if name not in headers:
            raise InputError(
                f"an exchange-rate file needs the columns currency and rate (and optionally "
                f"valid_from, valid_to); columns found: {', '.join(map(str, raw.columns))}.",
                file=path,
                column=name,
            )
    bounds = {}
    for name in (VALID_FROM, VALID_TO):
        if name in headers:
            bounds[name] = rate_dates(raw[headers[name]], path, headers[name])
    table = rates_frame(
        raw[headers[CURRENCY]], raw[headers[RATE]], bounds.get(VALID_FROM), bounds.get(VALID_TO)
    )
    check_rates(table, path, {CURRENCY: headers[CURRENCY], RATE: headers[RATE]})
    return Rates(table=table, base=base_currency(table, path, headers[RATE]), source=path.name)


def base_currency(table: pd.DataFrame, file: Path | str, column: str) -> str:
    """The one currency whose rate is 1 (what every other rate is against).

    Raises
    ------
    InputError
        When no currency, or more than one, has the rate 1.
    """
    ones = sorted(set(table.loc[table[RATE] == 1.0, CURRENCY]))
    if len(ones) != 1:
        found = "none has" if not ones else f"{', '.join(ones)} have"
        raise InputError(
            f"cannot tell the base currency of the exchange rates: it is the one currency whose "
            f"rate is 1, and {found} it. Add the base with rate 1 (e.g. USD,1).",
            file=file,
            column=column,
        )
    return ones[0]


def reporting_currency(rates: Rates, wanted: str | None) -> str:
    """The currency to convert into: ``wanted`` (``--reporting-currency``) or the base.

    Raises
    ------
    InputError
        When ``wanted`` has no rate.
    """
    target = (wanted or rates.base or "").strip().upper()
    if not target or target not in rates.currencies:
        raise InputError(
            f"--reporting-currency {wanted!r} has no exchange rate in {rates.source} (it has "
            f"{', '.join(sorted(rates.currencies))}); add its rate or choose one of these.",
            column="--reporting-currency",
        )
    return target


@dataclass(frozen=True)
class Conversion:
    """Amounts converted into the reporting currency.

    Attributes
    ----------
    amount : pandas.Series
        Converted amounts; missing where the amount or a rate is missing.
    no_rate : dict of str to int
        Currency without a rate at the deal's date to the number of deals.
    """

    amount: pd.Series
    no_rate: dict[str, int]


def convert(
    amount: pd.Series, currency: pd.Series, at: pd.Series, rates: Rates, reporting: str
) -> Conversion:
    """Convert ``amount`` in ``currency`` at moment ``at`` into ``reporting``.

    Notes
    -----
    With rates :math:`r_x` in units of currency :math:`x` per base unit,
    :math:`a_{rep} = a_x \\cdot r_{rep} / r_x`, each rate taken at the deal's
    moment (its close, or its creation while open).
    """
    values = pd.to_numeric(amount, errors="coerce").to_numpy(dtype=float)
    codes = currency.astype("str").str.strip().str.upper()
    out = np.full(len(values), np.nan)
    no_rate: dict[str, int] = {}
    target = rates.rate_at(reporting, at)
    for code in sorted(codes.dropna().unique()):
        rows = (codes == code).fillna(False).to_numpy()
        own = rates.rate_at(code, at[rows]) if code != reporting else target[rows]
        converted = values[rows] * target[rows] / own
        missing = np.isnan(own) | np.isnan(target[rows])
        if missing.any():
            no_rate[code] = int((missing & ~np.isnan(values[rows])).sum())
        out[rows] = converted
    return Conversion(amount=pd.Series(out, index=amount.index), no_rate=no_rate)


def convert_amounts(
    amounts: pd.Series,
    currencies: pd.Series,
    outcome: pd.Series,
    closed_at: pd.Series,
    created_at: pd.Series,
    rates: Rates,
    wanted: str | None,
    notes: list[str],
) -> tuple[pd.Series, str]:
    """Amounts in the reporting currency (float64, which ingest reads as is), and that currency.

    A closed deal converts at the rate of its close, an open deal at the
    rate of its creation (an expected close lies in the future). Deals in a
    currency without a rate at that moment get no amount, and ``notes`` says
    how many.

    Raises
    ------
    InputError
        When ``wanted`` (``--reporting-currency``) has no rate.
    """
    reporting = reporting_currency(rates, wanted)
    closed = (outcome != c.OPEN).fillna(False).to_numpy()
    at = created_at.where(~closed, closed_at).fillna(created_at)
    values = pd.to_numeric(amounts, errors="coerce") if amounts.dtype != float else amounts
    result = convert(values, currencies, at, rates, reporting)
    for code, n in result.no_rate.items():
        notes.append(
            f"{n:,} deals in {code} have no exchange rate to {reporting} at their date; "
            "their amount is left empty (amount_original keeps it)."
        )
    return result.amount.astype("float64"), reporting


def convert_noting(
    values: pd.Series,
    currency: pd.Series,
    at: pd.Series,
    rates: Rates,
    wanted: str | None,
    notes: list[str],
    what: str,
) -> pd.Series:
    """``values`` in the reporting currency at moments ``at``, as a vendor adapter converts money.

    A row without a currency is taken to be in the reporting currency; a note
    (added to ``notes``) counts the ``what`` in each currency without a rate
    at their moment, whose value is left empty.
    """
    reporting = reporting_currency(rates, wanted)
    result = convert(values, currency.fillna(reporting), at, rates, reporting)
    notes.extend(
        f"{n:,} {what} in {code} have no exchange rate to {reporting} at their date; left "
        "empty (the *_original columns keep what was exported)."
        for code, n in result.no_rate.items()
        if n
    )
    return result.amount.astype("float64")


POST_SALE_MONEY: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    c.ORDERS: (c.ORDERED_AT, ((c.AMOUNT, c.AMOUNT_ORIGINAL),)),
    c.SUBSCRIPTIONS: (
        c.EFFECTIVE_AT,
        ((c.MRR_BEFORE, c.MRR_BEFORE_ORIGINAL), (c.MRR_AFTER, c.MRR_AFTER_ORIGINAL)),
    ),
}
"""Per post-sale table: the moment its money is dated, and each money column with the
column that keeps the value as exported."""


def convert_post_sale(
    table: str, frame: pd.DataFrame, rates: Rates, reporting: str
) -> tuple[pd.DataFrame, list[str]]:
    """Orders' amounts or subscriptions' MRR in the reporting currency (``--fx-rates``).

    Parameters
    ----------
    table : str
        ``orders`` or ``subscriptions``.
    frame : pandas.DataFrame
        Canonical rows of that table (``currency`` and the money columns as exported).
    rates : Rates
    reporting : str
        The currency to convert into (as the deals are).

    Returns
    -------
    tuple of (pandas.DataFrame, list of str)
        A copy of ``frame`` whose ``amount`` (orders) or ``mrr_before`` and
        ``mrr_after`` (subscriptions) are converted, each at the rate of the
        row's own moment (``ordered_at``, ``effective_at``), with the exported
        values kept in ``amount_original`` or ``mrr_before_original`` and
        ``mrr_after_original``; and the notes to add to the manifest.

    Notes
    -----
    As for deals: ``currency`` stays the row's own currency; a row without a
    currency is taken to be in the reporting currency already (its value is
    unchanged); a row in a currency without a rate at its moment gets no
    converted value (the original column keeps it) and a note counts them. A
    table without a ``currency`` column is left as exported, with a note. An
    original column the map already gives is the value converted.
    """
    at_column, pairs = POST_SALE_MONEY[table]
    present = [(value, original) for value, original in pairs if value in frame]
    rows = "orders" if table == c.ORDERS else "subscription changes"
    if not present or frame.empty:
        return frame, []
    if c.CURRENCY not in frame:
        return frame, [
            f"--fx-rates: {table} has no {c.CURRENCY} column, so its money is left as "
            f"exported (not converted to {reporting}); map {table}.{c.CURRENCY} to convert it."
        ]
    out = frame.copy()
    currency = out[c.CURRENCY].fillna(reporting)  # no currency: the reporting one, as deals
    no_rate: dict[str, int] = {}
    for value, original in present:
        exported = out[original] if original in out else out[value]
        out[original] = pd.to_numeric(exported, errors="coerce").astype("float64")
        result = convert(out[original], currency, out[at_column], rates, reporting)
        out[value] = result.amount.astype("float64")
        for code, n in result.no_rate.items():
            no_rate[code] = max(no_rate.get(code, 0), n)
    notes = [
        f"{n:,} {rows} in {code} have no exchange rate to {reporting} at their date; their "
        f"{' and '.join(v for v, _ in present)} left empty "
        f"({' and '.join(o for _, o in present)} keep what was exported)."
        for code, n in no_rate.items()
        if n
    ]
    return out, notes
