"""First-year value against CAC: hand-built customers and accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.after_close import columns as c
from analysis.after_close.lifetime import customer_value
from tests.after_close.conftest import deals_frame, orders_frame, subscriptions_frame

CUTOFF = "2026-06-30"


@pytest.fixture(scope="module")
def ws():
    deals = deals_frame([("d1", "2024-12-01", "2025-01-01", "paid", "EMEA", 100),
                         ("d2", "2024-12-01", "2025-01-01", "paid", "EMEA", 80),
                         ("d3", "2024-12-01", "2025-01-01", "inbound", "EMEA", 1200)])  # fmt: skip
    deals[c.ACCOUNT_ID] = ["A", "B", "K"]
    orders = orders_frame([("o1", "A", "2025-01-01", "d1", 100, "USD"),
                           ("o2", "A", "2025-01-31", None, 50, "USD"),
                           ("o3", "A", "2026-03-01", None, 70, "USD"),  # after the first year
                           ("o4", "B", "2025-01-01", "d2", 80, "USD")])  # fmt: skip
    # K: 100 a month for 73 days, then 150 for the rest of the year (292 days).
    subs = subscriptions_frame([("K", "2025-01-01", "new", 0, 100, "d3", 0.0),
                                ("K", "2025-03-15", "expansion", 100, 150, None, None)])  # fmt: skip
    spend = pd.DataFrame({c.PERIOD: pd.to_datetime(["2025-01-01"] * 2, utc=True),
                          c.CHANNEL: ["paid", "inbound"], c.SALES_COST: [0.0, 500.0],
                          c.MARKETING_COST: [90.0, 0.0]})  # fmt: skip
    return analysis.connect({c.DEALS: deals, c.ORDERS: orders, c.SUBSCRIPTIONS: subs,
                             c.SPEND: spend})  # fmt: skip


def test_value_cac_and_ratio_match_a_hand_calculation(ws):
    t = customer_value(ws, as_of=CUTOFF).table.set_index(c.CHANNEL)
    # paid: A's first year 100 + 50, B's 80 -> mean 115; CAC 90 / 2 new customers = 45.
    assert t.loc["paid", c.VALUE_FIRST_YEAR] == pytest.approx(115.0)
    assert t.loc["paid", c.CAC] == pytest.approx(45.0)
    assert t.loc["paid", c.VALUE_TO_CAC] == pytest.approx(0.7 * 115 / 45)
    # inbound: K holds 100 for 73 days and 150 for 292, months of 365/12 days; CAC 500.
    month = 365 / 12
    assert t.loc["inbound", c.VALUE_FIRST_YEAR] == pytest.approx(
        100 * 73 / month + 150 * 292 / month
    )
    assert t.loc["inbound", c.CAC] == pytest.approx(500.0)
    # One account: no spread, so no interval for its value.
    assert np.isnan(t.loc["inbound", c.VALUE_CI_LOW])


def test_without_spend_cac_is_unknown_not_zero(ws):
    no_spend = analysis.connect({name: ws.execute(ws.tables[name]) for name in
                                 (c.DEALS, c.ORDERS)})  # fmt: skip
    t = customer_value(no_spend, as_of=CUTOFF).table
    assert t[c.CAC].isna().all() and (t[c.NOTE] == c.NOTE_NO_SPEND).all()
