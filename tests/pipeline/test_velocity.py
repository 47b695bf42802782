"""Tests for analysis.pipeline.velocity: hand-computed velocity and an exact decomposition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.core import columns as c
from analysis.pipeline import velocity as v


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _deal(deal_id, created, outcome, amount, closed=None, segment=c.B2B):
    return {
        c.DEAL_ID: deal_id,
        c.CREATED_AT: _t(created),
        c.OUTCOME: outcome,
        c.AMOUNT: amount,
        c.SEGMENT: segment,
        c.CLOSED_AT: _t(closed) if closed else pd.NaT,
    }


@pytest.fixture
def ws() -> analysis.Workspace:
    # Q1 2025: won W1 (1000, 10 days), W2 (3000, 30 days), lost L1; open O1 (qualified),
    # O2 (prospecting only). Q2 2025: won W3 (2000, 20 days), lost L2, L3; O1 still open.
    deals = pd.DataFrame(
        [
            _deal("W1", "2025-01-01", c.WON, 1000.0, "2025-01-11"),
            _deal("W2", "2025-01-05", c.WON, 3000.0, "2025-02-04"),
            _deal("L1", "2025-01-10", c.LOST, 500.0, "2025-02-01"),
            _deal("O1", "2025-02-01", c.OPEN, 800.0),
            _deal("O2", "2025-03-01", c.OPEN, 800.0),
            _deal("W3", "2025-04-01", c.WON, 2000.0, "2025-04-21"),
            _deal("L2", "2025-04-02", c.LOST, 700.0, "2025-05-01"),
            _deal("L3", "2025-04-03", c.LOST, 900.0, "2025-05-02"),
        ]
    )
    events = pd.DataFrame(
        {
            c.DEAL_ID: ["O1", "O1", "O2"],
            c.STAGE: ["prospecting", "qualification", "prospecting"],
            c.ENTERED_AT: [_t("2025-02-01"), _t("2025-02-10"), _t("2025-03-01")],
        }
    )
    return analysis.connect({c.DEALS: deals, c.STAGE_EVENTS: events})


def test_velocity_by_hand(ws):
    row = v.sales_velocity(ws, ("2025-01-01", "2025-04-01"), by=None).to_frame().iloc[0]
    # Hand computation for Q1: N = 1 (O1 reached qualification; O2 did not),
    # A = (1000 + 3000) / 2 = 2000, W = 2 / 3, L = (10 + 30) / 2 = 20 days.
    assert row[v.OPEN_QUALIFIED] == 1
    assert row[v.AVG_WON_AMOUNT] == pytest.approx(2000.0)
    assert row[v.WIN_RATE] == pytest.approx(2 / 3)
    assert row[v.CYCLE_DAYS] == pytest.approx(20.0)
    assert row[v.VELOCITY] == pytest.approx(1 * 2000 * (2 / 3) / 20)
    assert row[c.CI_LOW] < row[v.VELOCITY] < row[c.CI_HIGH]
    # Delta-method se on the log scale, hand-computed from the same numbers:
    # var = (1-W)/(W n_c) + (s_A/A)^2/n_w + (s_L/L)^2/n_w, s_A^2 = 2e6, s_L^2 = 200.
    se = np.sqrt((1 / 3) / ((2 / 3) * 3) + 2e6 / 2 / 2000**2 + 200 / 2 / 20**2)
    assert np.log(row[c.CI_HIGH] / row[v.VELOCITY]) == pytest.approx(1.959964 * se, rel=1e-5)


def test_decomposition_adds_up_to_the_change(ws):
    q1 = v.sales_velocity(ws, ("2025-01-01", "2025-04-01"), by=None)
    q2 = v.sales_velocity(ws, ("2025-04-01", "2025-07-01"), by=None)
    change = v.decompose_velocity_change(q2, q1).to_frame().iloc[0]
    parts = sum(change[f"from_{lever}"] for lever in v.LEVERS)
    assert parts == pytest.approx(change["change"])  # LMDI: exact by construction
    # Q2: N = 1, A = 2000, W = 1/3, L = 20 -> only the win rate changed (hand check).
    assert change["from_" + v.AVG_WON_AMOUNT] == pytest.approx(0.0)
    assert change["from_" + v.WIN_RATE] == pytest.approx(change["change"])


def test_no_won_deals_gives_nan_and_a_note(ws):
    row = v.sales_velocity(ws, ("2025-07-01", "2025-10-01"), by=None).to_frame().iloc[0]
    assert np.isnan(row[v.VELOCITY]) and row[c.NOTE] == v.NOTE_NO_WON_DEALS


def test_grouped_by_segment_on_the_sample():
    from analysis.sample import generate_sample

    crm = generate_sample(3000, seed=2)
    ws = analysis.connect(dict(crm.tables))
    table = v.sales_velocity(ws, ("2026-01-01", "2026-04-01")).to_frame().set_index(c.SEGMENT)
    assert set(table.index) == {c.B2B, c.B2C}
    # Planted: B2B deals are larger and slower than B2C (truth.json segments).
    assert table.loc[c.B2B, v.AVG_WON_AMOUNT] > table.loc[c.B2C, v.AVG_WON_AMOUNT]
    assert table.loc[c.B2B, v.CYCLE_DAYS] > table.loc[c.B2C, v.CYCLE_DAYS]
    assert (table[c.CI_LOW] <= table[v.VELOCITY]).all()
