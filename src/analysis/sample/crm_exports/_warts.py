"""Defects every vendor writer plants: NUL bytes in rich text, a fourth currency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c

NUL_NOTE = "Call notes pasted from the dialler:\x00 follow up next week."
FOURTH_CURRENCY, FOURTH_RATE = "MXN", 17.5  # units per USD: LATAM deals booked in pesos


def rich_text(n: int, rng: np.random.Generator, share: float = 0.05) -> tuple[np.ndarray, int]:
    """Description texts, ``share`` of them with a stray NUL byte; and how many."""
    text = np.array(["Renewal discussed with the buyer."] * n, dtype=object)
    hit = rng.random(n) < share
    text[hit] = NUL_NOTE
    return text, int(hit.sum())


def with_fourth_currency(deals: pd.DataFrame) -> pd.DataFrame:
    """LATAM deals in USD are booked in pesos instead (amount in USD unchanged)."""
    deals = deals.copy()
    pesos = (deals[c.REGION] == "LATAM") & (deals[c.CURRENCY] == "USD") & deals[c.AMOUNT].notna()
    deals.loc[pesos, c.CURRENCY] = FOURTH_CURRENCY
    deals.loc[pesos, c.AMOUNT_ORIGINAL] = deals.loc[pesos, c.AMOUNT] * FOURTH_RATE
    return deals


def rates_to_usd(truth: dict) -> dict[str, float]:
    """USD per unit of each currency: the sample's own rates plus the fourth currency."""
    rates = dict(truth["currency"]["rates_to_usd"])
    rates[FOURTH_CURRENCY] = 1.0 / FOURTH_RATE
    return rates


def local_date(ts: pd.Series, timezone: str) -> pd.Series:
    """The calendar day of each timestamp in ``timezone`` (as ``YYYY-MM-DD``)."""
    return in_zone(ts, timezone, "%Y-%m-%d")


def in_zone(ts: pd.Series, timezone: str, layout: str) -> pd.Series:
    """Timestamps written as a CRM writes them: in ``timezone``, with ``layout`` (strftime)."""
    return ts.dt.tz_convert(timezone).dt.strftime(layout)


def flag_text(values) -> np.ndarray:
    """Booleans as CRMs export them: ``true`` / ``false``."""
    return np.where(np.asarray(values, dtype=bool), "true", "false")
