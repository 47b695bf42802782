"""Number and money text: the separator rule and currency detection behind ``parse``.

See :func:`analysis.ingest.parse.parse_money` for the accepted forms and the rule
that decides which of ``.`` and ``,`` is the decimal separator.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

CURRENCY_SYMBOLS = {"$": "USD", "US$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR"}
"""Currency symbols recognised in money values, with the ISO 4217 code each stands for."""

ISO_CURRENCIES = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP
    GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR
    MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF
    SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD
    TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG""".split()
)
"""Active ISO 4217 currency codes accepted before or after an amount."""

_GROUP_CHARS = " '\u00a0\u202f"  # space, apostrophe, no-break spaces: thousands only
_MINUS = "-\u2212"
_CURRENCY = r"US\$|[$€£¥₹]|[A-Za-z]{3}"
_AMOUNT = re.compile(
    rf"(?P<s1>[-+\u2212])?\s*(?P<c1>{_CURRENCY})?\s*(?P<s2>[-+\u2212])?\s*"
    r"(?P<num>[.,]?[0-9](?:[0-9.,'\u00a0\u202f ]*[0-9])?)"
    rf"\s*(?P<c2>{_CURRENCY})?\s*(?P<s3>[-\u2212])?"
)
# Plain numbers read in one vectorised step, by decimal separator.
# A decimal separator is followed by digits ("1." is bad), as in the separator rule.
# ASCII digits only: \d also matches full-width and Arabic-Indic digits, which the
# numeric conversion then refused for the whole column.
PLAIN = {
    ".": r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?",
    ",": r"[+-]?[0-9]+(?:,[0-9]+)?",
}


def amounts_from_text(
    uniques: pd.Series, blank: np.ndarray, decimal: str, money: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read distinct stripped texts; ``blank`` ones (missing) are skipped.

    Returns ``(values, failed, currency)``: float64 values (NaN if unreadable),
    a mask of present texts that could not be read, and ISO codes or None.
    Plain numbers and the common shapes (``-$1,234.56``, ``1.234,56``) are read
    vectorised; the rest one by one.
    """
    value = np.full(len(uniques), np.nan)
    unit = np.full(len(uniques), None, dtype=object)
    plain = uniques.str.fullmatch(PLAIN[decimal]).to_numpy(bool) & ~blank
    value[plain] = pd.to_numeric(uniques[plain].str.replace(",", ".", regex=False)).to_numpy()
    rest = np.flatnonzero(~plain & ~blank)
    shaped, shaped_value, shaped_unit = _common_shapes(uniques.iloc[rest], decimal, money)
    value[rest[shaped]], unit[rest[shaped]] = shaped_value[shaped], shaped_unit[shaped]
    texts = uniques.to_numpy(object)
    for i in rest[~shaped]:
        value[i], unit[i] = _amount_from_text(texts[i], decimal, money)
    value[np.isinf(value)] = np.nan  # 1e309 overflows: not an amount anyone recorded
    failed = np.isnan(value) & ~blank
    return value, failed, unit


def _common_shapes(
    texts: pd.Series, decimal: str, money: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(matched, values, currency)`` of texts shaped like ``-$1,234.56`` (vectorised).

    The shape: an optional sign, an optional ``$ € £`` (money only), digits
    grouped in threes by the separator that is not ``decimal`` (or not grouped),
    and an optional decimal part; the same reading as the separator rule.
    """
    n = len(texts)
    if n == 0:
        return np.zeros(0, bool), np.zeros(0), np.full(0, None, dtype=object)
    thousands = "," if decimal == "." else "."
    symbol = "[$€£]?" if money else ""
    t, d = re.escape(thousands), re.escape(decimal)
    pattern = rf"^(?P<sign>[-+]?)(?P<sym>{symbol})(?P<int>[0-9]{{1,3}}(?:{t}[0-9]{{3}})+|[0-9]*)(?:{d}(?P<frac>[0-9]+))?$"
    parts = pc.extract_regex(pa.array(texts.array, type=pa.string()), pattern)
    whole = pc.struct_field(parts, "int")
    frac = pc.fill_null(pc.struct_field(parts, "frac"), "")  # "" when there is no fraction
    # At least one digit: "$", "-" or "€" alone is not an amount.
    matched = pc.and_(parts.is_valid(), pc.or_(pc.not_equal(whole, ""), pc.not_equal(frac, "")))
    digits = pc.replace_substring(whole, thousands, "")
    digits = pc.if_else(pc.equal(digits, ""), "0", digits)
    number = pc.cast(
        pc.binary_join_element_wise(digits, pc.if_else(pc.equal(frac, ""), "0", frac), "."),
        pa.float64(),
    )
    number = pc.if_else(pc.equal(pc.struct_field(parts, "sign"), "-"), pc.negate(number), number)
    symbols = pc.struct_field(parts, "sym").to_numpy(zero_copy_only=False)
    unit = np.array([CURRENCY_SYMBOLS.get(x) if x else None for x in symbols], dtype=object)
    return (
        pc.fill_null(matched, False).to_numpy(zero_copy_only=False).astype(bool),
        pc.fill_null(number, np.nan).to_numpy(zero_copy_only=False),
        unit,
    )


def _amount_from_text(text: str, decimal: str, money: bool) -> tuple[float, str | None]:
    """Value and currency of one money or number text; NaN when it cannot be read."""
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    match = _AMOUNT.fullmatch(text)
    if match is None:
        return np.nan, None
    signs = [g for g in (match["s1"], match["s2"], match["s3"]) if g]
    codes = {_currency_code(g) for g in (match["c1"], match["c2"]) if g}
    if len(signs) > 1 or (negative and signs) or None in codes or len(codes) > 1:
        return np.nan, None
    if codes and not money:
        return np.nan, None
    number = _number_from_text(match["num"], decimal)
    negative = negative or (bool(signs) and signs[0] in _MINUS)
    return (-number if negative else number), (codes.pop() if codes else None)


def _currency_code(token: str) -> str | None:
    code = CURRENCY_SYMBOLS.get(token, token.upper())
    return code if code in ISO_CURRENCIES else None


def _number_from_text(num: str, decimal: str) -> float:
    """Apply the separator rule (see ``parse.parse_money``) to digits and separators."""
    grouped = any(ch in num for ch in _GROUP_CHARS)
    has_dot, has_comma = "." in num, "," in num
    if has_dot and has_comma:
        dec = "." if num.rfind(".") > num.rfind(",") else ","
    elif has_dot or has_comma:
        mark = "." if has_dot else ","
        dec = mark if (mark == decimal or grouped) else None
    else:
        dec = None
    if dec is not None and num.count(dec) != 1:
        return np.nan
    whole, frac = num.split(dec) if dec else (num, "")
    if dec and not frac.isdigit():
        return np.nan
    seps = set(whole) - set("0123456789")
    if len(seps) > 1:
        return np.nan
    if seps:
        groups = whole.split(seps.pop())
        if not (1 <= len(groups[0]) <= 3) or any(len(g) != 3 for g in groups[1:]):
            return np.nan
        whole = "".join(groups)
    if not whole.isdigit() and whole:
        return np.nan
    return float(f"{whole or '0'}.{frac or '0'}")
