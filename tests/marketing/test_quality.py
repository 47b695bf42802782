"""Source quality: leads -> deals -> won revenue per lead, win rate and CAC per source.

Truth: hand calculations on a small table (comments below), Wilson intervals
from statsmodels, the acquisition code's own CAC, and the default sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

import analysis
from analysis.core.errors import MissingInput
from analysis.marketing import columns as c
from analysis.marketing import lead_funnel, quality_sentences, source_quality
from analysis.team.acquisition import acquisition_cost

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def _leads() -> pd.DataFrame:
    """Source A: L1 -> D1 won 100, L2 -> D2 lost 50, L3 -> D3 open 30, L4 no deal, and L0 not
    yet an MQL (left out). Source B: L5 -> D5 won 300, L6 no deal."""
    rows = [("L0", "A", None, None), ("L1", "A", T0, "D1"), ("L2", "A", T0, "D2"),
            ("L3", "A", T0, "D3"), ("L4", "A", T0, None), ("L5", "B", T0, "D5"),
            ("L6", "B", T0, None)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=[c.LEAD_ID, c.SOURCE, c.MQL_AT, c.CONVERTED_DEAL_ID])
    frame[c.MQL_AT] = pd.to_datetime(frame[c.MQL_AT], utc=True)
    frame[c.CREATED_AT] = T0
    frame[c.CAMPAIGN] = frame[c.SOURCE].map({"A": "A1", "B": "B1"})
    return frame


def _deals() -> pd.DataFrame:
    return pd.DataFrame({
        c.DEAL_ID: ["D1", "D2", "D3", "D5"],
        c.CREATED_AT: T0,
        c.OUTCOME: [c.WON, c.LOST, c.OPEN, c.WON],
        c.AMOUNT: [100.0, 50.0, 30.0, 300.0],
        c.SEGMENT: c.B2B,
        c.CLOSED_AT: pd.to_datetime(["2025-02-01", "2025-02-01", None, "2025-03-01"], utc=True),
        c.SOURCE: ["A", "A", "A", "B"],
        c.ACCOUNT_ID: ["X1", "X2", "X3", "X5"],
    })  # fmt: skip


def _spend() -> pd.DataFrame:
    """A: 600 + 400 = 1,000 over its one new customer; B: 900 over one."""
    return pd.DataFrame({
        c.PERIOD: pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01"], utc=True),
        c.CHANNEL: ["A", "B", "A"],
        c.SALES_COST: [600.0, 500.0, 0.0],
        c.MARKETING_COST: [0.0, 400.0, 400.0],
    })  # fmt: skip


@pytest.fixture(scope="module")
def ws():
    return analysis.connect({c.LEADS: _leads(), c.DEALS: _deals(), c.SPEND: _spend()})


@pytest.fixture(scope="module")
def hand(ws):
    return source_quality(ws).table.set_index(c.SOURCE)


def test_counts_and_win_rate_by_hand(hand):
    a = hand.loc["A"]
    # 4 MQLs (L0 never became one), 3 deals: 1 won, 1 lost, 1 open; pipeline 100+50+30.
    counts = [c.N_MQL, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN]
    assert a[counts].tolist() == [4, 3, 1, 1, 1]
    assert a[c.PIPELINE_AMOUNT] == 180.0 and a[c.WON_AMOUNT] == 100.0
    assert a[c.WIN_RATE] == 0.5  # won / (won + lost): the open deal is not decided
    low, high = proportion_confint(1, 2, alpha=0.05, method="wilson")
    assert a[[c.WIN_CI_LOW, c.WIN_CI_HIGH]].tolist() == pytest.approx([low, high])
    assert hand.loc["B", counts].tolist() == [2, 1, 1, 0, 0]


def test_revenue_per_lead_interval_by_hand(hand):
    # A: y = (100, 0, 0, 0): mean 25, s^2 = (100^2 - 4 * 25^2) / 3 = 2500, se = 50 / 2 = 25;
    # interval 25 * exp(-/+ t(0.975, 3) * 25 / 25).
    t3 = stats.t.ppf(0.975, 3)
    a = hand.loc["A"]
    assert a[c.REVENUE_PER_LEAD] == 25.0
    assert a[[c.REVENUE_CI_LOW, c.REVENUE_CI_HIGH]].tolist() == pytest.approx(
        [25 * np.exp(-t3), 25 * np.exp(t3)]
    )
    # B: y = (300, 0): mean 150, s^2 = 300^2 - 2 * 150^2 = 45000, se = sqrt(45000 / 2) = 150.
    t1 = stats.t.ppf(0.975, 1)
    b = hand.loc["B"]
    assert b[c.REVENUE_PER_LEAD] == 150.0
    assert b[[c.REVENUE_CI_LOW, c.REVENUE_CI_HIGH]].tolist() == pytest.approx(
        [150 * np.exp(-t1), 150 * np.exp(t1)]
    )
    assert list(hand.index) == ["B", "A"]  # highest revenue per lead first


def test_cac_is_the_acquisition_codes(ws, hand):
    # A: spend 1,000 over 1 new customer (D1); B: 900 over 1 (D5).
    assert hand.loc["A", c.CAC] == 1000.0 and hand.loc["B", c.CAC] == 900.0
    ref = acquisition_cost(ws, None, "channel").to_frame().set_index(c.CHANNEL)
    for col in (c.SPEND_TOTAL, c.NEW_CUSTOMERS, c.CAC, c.CAC_CI_LOW, c.CAC_CI_HIGH):
        assert hand[col].tolist() == pytest.approx(ref.loc[hand.index, col].tolist())


def test_without_spend_cac_is_nan_with_a_note():
    ws = analysis.connect({c.LEADS: _leads(), c.DEALS: _deals()})
    result = source_quality(ws)
    table = result.table
    assert table[c.CAC].isna().all() and (table[c.CAC_NOTE] == c.NOTE_NO_SPEND_TABLE).all()
    assert table[c.REVENUE_PER_LEAD].notna().all()
    assert "No spend is recorded" in quality_sentences(result)[-1]


def test_by_campaign_cac_says_spend_is_per_channel(ws):
    table = source_quality(ws, by=c.CAMPAIGN).table
    assert list(table[c.CAMPAIGN]) == ["B1", "A1"]
    assert table[c.CAC].isna().all() and (table[c.CAC_NOTE] == c.NOTE_CAC_NEEDS_SOURCE).all()


def test_without_leads_table_missing_input():
    with pytest.raises(MissingInput, match="leads"):
        source_quality(analysis.connect({c.DEALS: _deals()}))


def test_bad_arguments_raise_value_error(ws):
    with pytest.raises(ValueError, match="no column"):
        source_quality(ws, by="region")
    with pytest.raises(ValueError, match="alpha"):
        source_quality(ws, alpha=1.5)


@pytest.fixture(scope="module")
def on_sample(sample):
    return source_quality(sample[1])


def test_sample_paid_brings_least_revenue_per_lead(sample, on_sample):
    # The planted low-acceptance source (paid: 35% accepted against 60-85%) has the most MQLs
    # and the lowest won revenue per lead, clear of every other source's interval.
    truth = sample[0].truth["leads"]["low_acceptance_source"]
    table = on_sample.table.set_index(c.SOURCE)
    assert table.index[-1] == truth["source"] == "paid"
    assert table[c.N_MQL].idxmax() == "paid" and table.loc["paid", c.N_MQL] == truth["mql"]
    others = table.drop(index="paid")
    assert table.loc["paid", c.REVENUE_CI_HIGH] < others[c.REVENUE_CI_LOW].min()


def test_sample_reconciles_with_the_funnel_and_has_cac(sample, on_sample):
    table = on_sample.table
    funnel = lead_funnel(sample[1]).table
    assert table[c.N_MQL].sum() == funnel.loc[funnel[c.STEP] == c.STEP_MQL, c.N_REACHED].sum()
    assert table[c.N_WON].sum() == funnel.loc[funnel[c.STEP] == c.STEP_WON, c.N_REACHED].sum()
    assert (table[c.N_WON] + table[c.N_LOST] + table[c.N_OPEN] == table[c.N_DEALS]).all()
    assert table[c.CAC].notna().all() and (table[c.CAC_NOTE] == "").all()
    assert (
        (table[c.WIN_CI_LOW] <= table[c.WIN_RATE]) & (table[c.WIN_RATE] <= table[c.WIN_CI_HIGH])
    ).all()
    sentences = quality_sentences(on_sample)
    assert sentences[0].startswith("Outbound leads bring the most won revenue per lead")
    assert "paid leads the least, $76 [$50–$116]" in sentences[0]
