"""Numbers in words: percentages, rates with intervals, counts and money as findings print them."""

from __future__ import annotations

import math


def format_percent(value: float, digits: int = 1) -> str:
    """``0.6315 -> '63.2%'``; NaN becomes ``'n/a'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def format_rate(rate: float, ci_low: float, ci_high: float, digits: int = 1) -> str:
    """A rate with its interval: ``'63.2% [62.0–64.3]'``."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "n/a (no closed deals)"
    lo = f"{100 * ci_low:.{digits}f}"
    hi = f"{100 * ci_high:.{digits}f}"
    return f"{format_percent(rate, digits)} [{lo}–{hi}]"


def format_count(value: float) -> str:
    """Thousands separators: ``8800 -> '8,800'``."""
    return f"{int(value):,}"


def format_money(value: float, currency: str = "$") -> str:
    """Compact money: ``10005534 -> '$10.0M'``, ``2360.9 -> '$2,361'``."""
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
