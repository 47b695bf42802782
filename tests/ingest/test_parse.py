"""Tests of analysis.ingest.parse: raw values to canonical types, never losing a row.

Provenance of expected values is noted per test: ISO 8601 / IANA tz database
offsets (CET = UTC+1, CEST = UTC+2 for Europe/Berlin), hand calculation, or a
property that must hold for any input.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.core import columns as c
from analysis.core import schema
from analysis.ingest._amounts import _amount_from_text, amounts_from_text
from analysis.ingest.parse import (
    MoneyParsed,
    Parsed,
    parse_booleans,
    parse_integers,
    parse_money,
    parse_numbers,
    parse_strings,
    parse_timestamps,
    parser_for_dtype,
)


def _strings(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --- timestamps ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-14", "2024-03-14 00:00"),  # ISO 8601 date
        ("2024-03-14T09:30:00Z", "2024-03-14 09:30"),  # ISO 8601, Z = UTC
        ("2024-03-14 09:30:00+01:00", "2024-03-14 08:30"),  # ISO 8601, +01:00 -> minus 1 h
        ("2024-03-14T09:30:00.250-0500", "2024-03-14 14:30:00.250"),  # -05:00 -> plus 5 h
        ("03/14/2024", "2024-03-14 00:00"),  # month first (dayfirst=False)
        ("3/14/2024, 9:30 AM", "2024-03-14 09:30"),  # US export with 12-hour clock
        ("03-14-24 17:05", "2024-03-14 17:05"),  # two-digit year 24 -> 2024 (%y pivot)
        ("14 Mar 2024", "2024-03-14 00:00"),
        ("Mar 14, 2024", "2024-03-14 00:00"),
        ("March 14 2024 10:00", "2024-03-14 10:00"),
        ("Thu, 14 Mar 2024 09:30:00 GMT", "2024-03-14 09:30"),  # RFC 2822
    ],
)
def test_timestamp_formats(text, expected):
    parsed = parse_timestamps(_strings([text]))
    assert parsed.values.iloc[0] == _utc(expected)
    assert not parsed.bad.iloc[0]


def test_dayfirst():
    s = _strings(["14/03/2024", "03/04/2024", "01.02.2024 08:00"])
    parsed = parse_timestamps(s, dayfirst=True)
    # day first: 14 March, 3 April, 1 February (hand-read)
    assert parsed.values.tolist() == [
        _utc("2024-03-14"),
        _utc("2024-04-03"),
        _utc("2024-02-01 08:00"),
    ]
    # month first, 14/03/2024 has no 14th month: flagged, not silently swapped
    month_first = parse_timestamps(s, dayfirst=False)
    assert month_first.bad.tolist() == [True, False, False]
    assert month_first.values.iloc[1] == _utc("2024-03-04")


def test_mixed_formats_in_one_column():
    s = _strings(["2024-03-14T09:30:00Z", "03/15/2024", "16 Mar 2024", "2024-03-17 10:00"])
    parsed = parse_timestamps(s)
    assert parsed.values.tolist() == [
        _utc("2024-03-14 09:30"),
        _utc("2024-03-15"),
        _utc("2024-03-16"),
        _utc("2024-03-17 10:00"),
    ]
    assert not parsed.bad.any()


def test_naive_times_are_local_to_the_timezone():
    s = _strings(["2024-03-14 09:30", "2024-07-01 09:30", "2024-03-14T09:30:00+00:00"])
    parsed = parse_timestamps(s, timezone="Europe/Berlin")
    # tz database: Berlin is UTC+1 in March (CET), UTC+2 in July (CEST); an explicit
    # offset wins over the declared zone
    assert parsed.values.tolist() == [
        _utc("2024-03-14 08:30"),
        _utc("2024-07-01 07:30"),
        _utc("2024-03-14 09:30"),
    ]


def test_daylight_saving_edges_are_not_bad():
    s = _strings(["2024-10-27 02:30", "2024-03-31 02:30"])
    parsed = parse_timestamps(s, timezone="Europe/Berlin")
    # 02:30 on 27 Oct happens twice: first occurrence is CEST (UTC+2) -> 00:30 UTC;
    # 02:30 on 31 Mar does not exist: moved forward to 03:00 CEST -> 01:00 UTC
    assert parsed.values.tolist() == [_utc("2024-10-27 00:30"), _utc("2024-03-31 01:00")]
    assert not parsed.bad.any()


def test_bad_and_missing_timestamps():
    s = _strings(
        ["2024-03-14", "", "  ", None, "NULL", "n/a", "soon", "45000", "Mar 14", "2024-02-30"]
    )
    parsed = parse_timestamps(s)
    # missing: empty, blank, NA, null tokens; bad: words, Excel serials, no year, no such day
    assert parsed.bad.tolist() == [False] * 6 + [True] * 4
    assert parsed.values.isna().tolist() == [False] + [True] * 9


def test_timestamp_dtype_and_index_are_kept():
    s = pd.Series(["2024-03-14", "2024-03-15"], index=[10, 20], dtype="str")
    for series in (s, _strings(["2024-03-14", "junk"]).set_axis([10, 20])):
        parsed = parse_timestamps(series)
        assert parsed.values.dtype == pd.DatetimeTZDtype("us", "UTC")
        assert parsed.values.index.tolist() == [10, 20]
        assert parsed.bad.index.tolist() == [10, 20] and parsed.bad.dtype == bool


def test_fast_and_general_paths_agree():
    clean = _strings(["2024-03-14T09:30:00", "2024-03-15T10:00:00", None])
    dirty = _strings(["2024-03-14T09:30:00", "2024-03-15T10:00:00", "junk"])
    fast = parse_timestamps(clean, timezone="America/New_York")
    general = parse_timestamps(dirty, timezone="America/New_York")
    # New York is UTC-4 after 10 March 2024 (EDT): 09:30 -> 13:30 UTC
    assert fast.values.iloc[0] == general.values.iloc[0] == _utc("2024-03-14 13:30")
    assert fast.values.iloc[:2].tolist() == general.values.iloc[:2].tolist()
    assert general.bad.tolist() == [False, False, True]


def test_native_datetimes():
    naive = pd.Series(pd.to_datetime(["2024-03-14 09:30", None]))
    parsed = parse_timestamps(naive, timezone="Europe/Berlin")
    assert parsed.values.iloc[0] == _utc("2024-03-14 08:30")  # CET = UTC+1
    assert parsed.values.isna().tolist() == [False, True] and not parsed.bad.any()
    aware = pd.Series(pd.to_datetime(["2024-03-14 09:30"]).tz_localize("Asia/Tokyo"))
    assert parse_timestamps(aware).values.iloc[0] == _utc("2024-03-14 00:30")  # JST = UTC+9
    mixed = pd.Series([dt.datetime(2024, 3, 14, 9, 30), "2024-03-15", 5, None], dtype=object)
    parsed = parse_timestamps(mixed)
    assert parsed.values.iloc[:2].tolist() == [_utc("2024-03-14 09:30"), _utc("2024-03-15")]
    assert parsed.bad.tolist() == [False, False, True, False]  # a bare number is bad


@pytest.mark.parametrize("zone", ["Mars/Olympus", "Europe/Berlin ", "", None])
def test_unknown_timezone_is_a_value_error_naming_the_option(zone):
    with pytest.raises(ValueError, match=rf"option timezone.*{re.escape(repr(zone))}"):
        parse_timestamps(_strings(["2024-03-14"]), timezone=zone)


# --- money ---------------------------------------------------------------------------------

# Pieces of money texts: digits, both separators, grouping spaces, signs, symbols, codes.
_AMOUNT_TOKENS = [*"0123456789.,  $€£-+()'", "\u00a0", "USD", "EUR", "US$", "123", "1234"]


@pytest.mark.parametrize(
    ("text", "decimal", "value", "currency"),
    [
        ("$1,200.50", ".", 1200.50, "USD"),
        ("1.200,50 €", ".", 1200.50, "EUR"),  # both separators: rightmost is decimal
        ("1.200,50 €", ",", 1200.50, "EUR"),
        ("1 200,50", ",", 1200.50, None),
        ("1 200,50", ".", 1200.50, None),  # spaces group thousands, so "," is decimal
        ("(1,200.50)", ".", -1200.50, None),  # accounting negative
        ("-1200", ".", -1200.0, None),
        ("1200", ".", 1200.0, None),
        ("USD 1,200", ".", 1200.0, "USD"),
        ("1,200 GBP", ".", 1200.0, "GBP"),
        ("£5", ".", 5.0, "GBP"),
        ("-$3.10", ".", -3.10, "USD"),
        ("$-3.10", ".", -3.10, "USD"),
        ("EUR1.234.567,89", ".", 1234567.89, "EUR"),
        ("1,200", ".", 1200.0, None),  # one kind, not the decimal: thousands
        ("1,200", ",", 1.2, None),  # one kind, the decimal
        ("1.200", ".", 1.2, None),
        ("1.200", ",", 1200.0, None),
        ("1.200.000", ",", 1200000.0, None),
        ("0.5", ".", 0.5, None),
        ("1'234.50 CHF", ".", 1234.50, "CHF"),
    ],
)
def test_money_values_and_currency(text, decimal, value, currency):
    parsed = parse_money(_strings([text]), decimal=decimal)
    assert parsed.values.iloc[0] == pytest.approx(value)  # hand-computed
    assert not parsed.bad.iloc[0]
    got = parsed.currency.iloc[0]
    assert (pd.isna(got) and currency is None) or got == currency


@pytest.mark.parametrize(
    ("text", "decimal"),
    [
        ("1,20", "."),  # "," is thousands here, but 20 is not a group of three
        ("1,2345", "."),
        ("1.5", ","),  # "." is thousands here, 5 is not a group of three
        ("1.200.000", "."),  # "." is the decimal separator and occurs three times
        ("12 00", "."),
        ("abc", "."),
        ("1200 XYZ", "."),  # XYZ is not an ISO 4217 code
        ("$5 EUR", "."),  # two different currencies
        ("--5", "."),
        ("(-5)", "."),
        ("5 $ 5", "."),
    ],
)
def test_money_unparseable_is_bad(text, decimal):
    parsed = parse_money(_strings([text]), decimal=decimal)
    assert parsed.bad.iloc[0] and pd.isna(parsed.values.iloc[0])


@pytest.mark.parametrize("text", ["$", "€", "-", "+", "-$", "+€", "$.", "USD", "(€)", "1.", "$1."])
@pytest.mark.parametrize("decimal", [".", ","])
def test_money_without_digits_after_a_separator_is_bad(text, decimal):
    # a symbol or sign alone is present but not an amount (it used to read as 0.0);
    # a decimal separator must be followed by digits, as "1," is with decimal=","
    for parse in (parse_money, parse_numbers):
        parsed = parse(_strings([text]), decimal=decimal)
        assert parsed.bad.iloc[0] and pd.isna(parsed.values.iloc[0]), (text, parse)


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(st.sampled_from(_AMOUNT_TOKENS), min_size=1, max_size=8).map("".join),
    decimal=st.sampled_from([".", ","]),
    money=st.booleans(),
)
def test_money_fast_paths_agree_with_the_general_reader(text, decimal, money):
    # property: the vectorised readers (plain numbers, "-$1,234.56" shapes) give what
    # the one-value reader of the separator rule gives, value and currency, or leave
    # the text to it
    text = text.strip()
    assume(text)
    values, failed, currency = amounts_from_text(
        pd.Series([text], dtype="str"), np.zeros(1, bool), decimal, money
    )
    value, code = _amount_from_text(text, decimal, money)
    assert failed[0] == np.isnan(value)
    assert np.isnan(value) or values[0] == value
    assert currency[0] == code


def test_money_missing_is_not_bad_and_index_is_kept():
    s = pd.Series(["$1", "", None, "NULL", "x"], index=list("abcde"), dtype="str")
    parsed = parse_money(s)
    assert isinstance(parsed, MoneyParsed) and isinstance(parsed, Parsed)
    assert parsed.bad.tolist() == [False, False, False, False, True]
    assert parsed.values.dtype == "float64" and str(parsed.currency.dtype) == "str"
    for field in (parsed.values, parsed.bad, parsed.currency):
        assert field.index.tolist() == list("abcde")
    assert list(parsed.to_frame().columns) == ["value", "bad", "currency"]


def test_money_native_numbers():
    parsed = parse_money(pd.Series([1200.5, None, 3]))
    assert parsed.values.tolist()[0] == 1200.5 and parsed.values.tolist()[2] == 3.0
    assert not parsed.bad.any() and parsed.currency.isna().all()
    mixed = parse_money(pd.Series([1.5, "$2", True, None], dtype=object))
    assert mixed.values.iloc[:2].tolist() == [1.5, 2.0]
    assert mixed.bad.tolist() == [False, False, True, False]  # a boolean is not money


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(min_value=-(10**11), max_value=10**11),
    style=st.sampled_from(["us", "eu"]),
)
def test_money_round_trips_formatted_amounts(cents, style):
    # property: any amount formatted as "$1,234.56" or "1.234,56 €" parses back to the cent
    value = cents / 100
    text = f"{abs(value):,.2f}"
    if style == "eu":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".") + " €"
    else:
        text = "$" + text
    text = ("-" + text) if value < 0 else text
    parsed = parse_money(_strings([text]), decimal="," if style == "eu" else ".")
    assert not parsed.bad.iloc[0]
    assert parsed.values.iloc[0] == pytest.approx(value, abs=0.005)
    assert parsed.currency.iloc[0] == ("EUR" if style == "eu" else "USD")


def test_money_rejects_a_wrong_decimal_argument():
    with pytest.raises(ValueError, match="decimal"):
        parse_money(_strings(["1"]), decimal=";")


# --- numbers, integers, booleans, strings ---------------------------------------------------


def test_numbers_use_the_separator_rule_and_refuse_currency():
    s = _strings(["1,234.5", "2.5", "1e3", "-7", "$5", "", "x"])
    parsed = parse_numbers(s)
    # hand-computed: 1234.5, 2.5, 1000 (scientific), -7; currency and words are bad
    assert parsed.values.iloc[:4].tolist() == [1234.5, 2.5, 1000.0, -7.0]
    assert parsed.bad.tolist() == [False, False, False, False, True, False, True]
    assert parsed.values.dtype == "float64"
    assert parse_numbers(_strings(["1.234,5"]), decimal=",").values.iloc[0] == 1234.5


def test_integers():
    s = _strings(["3", "3.0", "3.5", "", "x", "1,000", "-2"])
    parsed = parse_integers(s)
    assert parsed.values.dtype == "Int64"
    assert parsed.values.tolist() == [3, 3, pd.NA, pd.NA, pd.NA, 1000, -2]
    assert parsed.bad.tolist() == [False, False, True, False, True, False, False]
    native = parse_integers(pd.Series([1.0, 2.5, np.nan]))
    assert native.values.tolist() == [1, pd.NA, pd.NA] and native.bad.tolist() == [
        False,
        True,
        False,
    ]
    assert parse_integers(pd.Series([4, 5])).values.dtype == "Int64"


def test_booleans():
    s = _strings(["true", "FALSE", "Yes", "no", "Y", "n", "1", "0", "T", "f", "maybe", "", None])
    parsed = parse_booleans(s)
    assert parsed.values.dtype == "boolean"
    expected = [True, False, True, False, True, False, True, False, True, False]
    assert parsed.values.iloc[:10].tolist() == expected
    assert parsed.bad.tolist() == [False] * 10 + [True, False, False]
    native = parse_booleans(pd.Series([True, 0, 1.0, 2, None], dtype=object))
    assert native.values.iloc[:3].tolist() == [True, False, True]
    assert native.bad.tolist() == [False, False, False, True, False]
    assert parse_booleans(pd.Series([True, False])).values.dtype == "boolean"


def test_strings():
    parsed = parse_strings(_strings([" a ", "", "  ", None, "NULL", "b  c"]))
    # stripped only (inner whitespace kept); null tokens are text for strings
    assert parsed.values.iloc[[0, 4, 5]].tolist() == ["a", "NULL", "b  c"]
    assert parsed.values.isna().tolist() == [False, True, True, True, False, False]
    assert not parsed.bad.any() and str(parsed.values.dtype) == "str"
    ids = parse_strings(pd.Series([1001.0, np.nan, 7.5]))  # ids read from a spreadsheet
    assert ids.values.iloc[0] == "1001" and ids.values.iloc[2] == "7.5"
    assert pd.isna(ids.values.iloc[1])


def test_parser_for_dtype():
    assert parser_for_dtype(schema.TIMESTAMP) is parse_timestamps
    assert parser_for_dtype(schema.STRING) is parse_strings
    assert parser_for_dtype(schema.FLOAT) is parse_numbers
    assert parser_for_dtype(schema.INT) is parse_integers
    assert parser_for_dtype(schema.BOOL) is parse_booleans
    with pytest.raises(ValueError, match="No parser"):
        parser_for_dtype("complex128")


def test_every_schema_dtype_has_a_parser_producing_it():
    # property: for every column of every canonical table, the parser's output dtype
    # is the schema's dtype, so pandera never has to coerce
    raw = _strings(["1"])
    for table in c.TABLES:
        for dtype in schema.column_dtypes(table).values():
            values = parser_for_dtype(dtype)(raw).values
            assert str(values.dtype) == str(dtype), (table, dtype)


@pytest.mark.parametrize("parse", [parse_numbers, parse_money])
def test_non_ascii_digits_and_overflow_are_bad_values_not_a_crash(parse):
    # Issue 20: one full-width or Arabic-Indic digit stopped the whole ingest with a
    # traceback, and 1e309 was kept as an infinite amount.
    out = parse(pd.Series(["１２３", "٣", "1e309", "-1e309", "5"]))
    assert out.bad.tolist() == [True, True, True, True, False]
    assert out.values.iloc[4] == 5.0 and out.values.iloc[:4].isna().all()


def test_parquet_decimal_money_is_read_and_nested_values_are_bad():
    from decimal import Decimal

    from analysis.ingest.parse import parse_strings

    # Issue 20: decimal-typed money was quarantined as bad_value; a struct became
    # the text "{'a': 1}".
    money = parse_money(pd.Series([Decimal("12.50"), None], dtype=object))
    assert money.values.iloc[0] == 12.5 and money.bad.tolist() == [False, False]
    text = parse_strings(pd.Series([{"a": 1}, [1, 2], " x ", None], dtype=object))
    assert text.bad.tolist() == [True, True, False, False]
    assert text.values.iloc[2] == "x" and text.values.iloc[:2].isna().all()
