"""Tests for analysis.forecast.period: the window to forecast and the moment to read it."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.core.errors import MissingInput
from analysis.forecast.period import forecast_period


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _ws(created: list[str]):
    deals = pd.DataFrame({
        "deal_id": [f"d{i}" for i in range(len(created))], "outcome": "open",
        "created_at": pd.to_datetime(created, utc=True, format="ISO8601"), "amount": 1.0,
    })  # fmt: skip
    return analysis.connect({"deals": deals})


def test_default_is_the_quarter_in_progress_read_at_the_cutoff():
    # Hand: the last deal is created 2026-08-14 12:00, the cut-off; the last full quarter
    # before it is Q2, so Q3 is forecast from the cut-off.
    ws = _ws(["2026-01-05", "2026-08-14 12:00"])
    assert forecast_period(ws) == (_t("2026-07-01"), _t("2026-10-01"), _t("2026-08-14 12:00"))
    # A start alone runs three months; as_of given wins; a window before the cut-off is read
    # just before its end.
    start, end, at = forecast_period(ws, "2026-01-01")
    assert (start, end, at) == (_t("2026-01-01"), _t("2026-04-01"), _t("2026-03-31 23:59:59"))
    assert forecast_period(ws, "2026-07-01", "2026-08-01", "2026-07-10")[2] == _t("2026-07-10")
    with pytest.raises(ValueError, match="needs a period_start"):
        forecast_period(ws, period_end="2026-10-01")
    with pytest.raises(ValueError, match="end after it starts"):
        forecast_period(ws, "2026-10-01", "2026-07-01")


def test_data_without_dates_says_what_is_missing():
    deals = pd.DataFrame({"deal_id": ["a"], "outcome": ["open"], "amount": [1.0]})
    with pytest.raises(MissingInput, match="any date"):
        forecast_period(analysis.connect({"deals": deals}))
