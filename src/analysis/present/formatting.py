"""Numbers in words: percentages, rates with intervals, counts and money as findings print them."""

from __future__ import annotations

import math

import pandas as pd


def format_percent(value: float, digits: int = 1) -> str:
    """``0.6315 -> '63.2%'``; NaN becomes ``'n/a'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def format_rate(rate: float, ci_low: float, ci_high: float, digits: int = 1) -> str:
    """A rate with its interval: ``'63.2% [62.0–64.3]'``."""
    if is_missing(rate):
        return "n/a (no closed deals)"
    if is_missing(ci_low) or is_missing(ci_high):
        return f"{format_percent(rate, digits)} (no interval: too few deals)"
    lo = f"{100 * ci_low:.{digits}f}"
    hi = f"{100 * ci_high:.{digits}f}"
    return f"{format_percent(rate, digits)} [{lo}–{hi}]"


def format_days(days: float, ci_low: float, ci_high: float, digits: int = 1) -> str:
    """Days with their interval: ``'79.8 days [63.3–106.4]'``; a missing bound says so."""
    if is_missing(days):
        return "n/a"
    text = f"{days:.{digits}f} days"
    if is_missing(ci_low) or is_missing(ci_high):
        return f"{text} (no interval: too few deals)"
    return f"{text} [{ci_low:.{digits}f}–{ci_high:.{digits}f}]"


def format_count(value: float) -> str:
    """Thousands separators: ``8800 -> '8,800'``."""
    return f"{int(value):,}"


# The symbol money is printed with on the current page: set once per page from the
# data's currency (present.Page), so every findings function prints the same unit.
_money_symbol = ["$"]


def set_money_symbol(symbol: str) -> None:
    """Print money with ``symbol`` from now on ('€', 'MXN ', '' for no known currency)."""
    _money_symbol[0] = symbol


def money_symbol() -> str:
    """The symbol money is printed with on the current page (:func:`set_money_symbol`)."""
    return _money_symbol[0]


def format_money(value: float, currency: str | None = None) -> str:
    """Compact money: ``10005534 -> '$10.0M'``, ``2360.9 -> '$2,361'``.

    ``currency`` is the symbol to print; default the page's (:func:`set_money_symbol`).
    """
    currency = _money_symbol[0] if currency is None else currency
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1e6:
        return f"{currency}{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{currency}{value / 1e3:.0f}k"
    return f"{currency}{value:,.0f}"


def as_markdown_list(sentences: list[str]) -> str:
    """Join sentences as a markdown bullet list, for ``IPython.display.Markdown``."""
    return "\n".join(f"- {s}" for s in sentences)


def is_missing(value) -> bool:
    """True for None, NaN and pandas' NA (a figure that could not be computed)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return math.isnan(value)
    except TypeError:
        return False


def format_p_value(p: float) -> str:
    """``0.0004 -> 'p < 0.001'``, ``0.0321 -> 'p = 0.032'``; ``'no test'`` when missing."""
    if is_missing(p):
        return "no test"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def format_points(difference: float, low: float, high: float) -> str:
    """``-0.032, -0.05, -0.013 -> '-3.2 points [-5.0 to -1.3]'``."""
    if is_missing(low) or is_missing(high):
        return f"{100 * difference:+.1f} points (no interval)"
    return f"{100 * difference:+.1f} points [{100 * low:+.1f} to {100 * high:+.1f}]"
