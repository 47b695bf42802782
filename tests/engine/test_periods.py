"""Tests for analysis.engine.periods: windows resolved from the data's cut-off."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.core import columns as c
from analysis.engine import periods


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def test_last_full_quarter_and_preceding_year():
    # Hand-checked calendar arithmetic.
    assert periods.last_full_quarter(_t("2026-06-29 21:20")).as_tuple() == (
        _t("2026-01-01"),
        _t("2026-04-01"),
    )
    q2 = periods.last_full_quarter(_t("2026-06-30 10:00"))  # last day counts as complete
    assert q2.as_tuple() == (_t("2026-04-01"), _t("2026-07-01"))
    assert q2.label() == "2026-04-01 to 2026-06-30"
    assert periods.preceding(q2).as_tuple() == (_t("2025-04-01"), _t("2026-04-01"))
    assert q2.days == 91


def test_resolve_windows_from_data_and_from_parameters():
    deals = pd.DataFrame(
        {c.DEAL_ID: ["A"], c.CREATED_AT: [_t("2025-11-15")], c.OUTCOME: [c.OPEN],
         c.AMOUNT: [1.0], c.SEGMENT: [c.B2B]}
    )  # fmt: skip
    ws = analysis.connect({c.DEALS: deals})
    current, baseline = periods.resolve_windows(ws)
    assert current.as_tuple() == (_t("2025-07-01"), _t("2025-10-01"))
    assert baseline.as_tuple() == (_t("2024-07-01"), _t("2025-07-01"))
    current, baseline = periods.resolve_windows(
        ws, "2025-01-01", "2025-02-01", "2024-01-01", "2025-01-01"
    )
    assert current.start == _t("2025-01-01") and baseline.end == _t("2025-01-01")
    # A start alone runs to the end of the data (cut-off 2025-11-15 -> end 2025-11-16).
    current, _ = periods.resolve_windows(ws, "2025-10-01")
    assert current.as_tuple() == (_t("2025-10-01"), _t("2025-11-16"))
    # An end alone covers the three months before it.
    current, _ = periods.resolve_windows(ws, period_end="2025-10-01")
    assert current.as_tuple() == (_t("2025-07-01"), _t("2025-10-01"))
    with pytest.raises(ValueError, match="must come after"):
        periods.resolve_windows(ws, "2025-02-01", "2025-01-01")
