"""Tests for analysis.team.acquisition: CAC, payback, source quality and pipeline coverage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.sample import generate_sample
from analysis.team import columns as c
from analysis.team.acquisition import (
    PAID_CAC,
    acquisition_cost,
    cac_interval,
    payback_months,
    pipeline_coverage,
    segment_cac,
    source_quality,
)


def _ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def _frames() -> dict[str, pd.DataFrame]:
    """A hand-made quarter: January has spend and wins, February spend but no win,
    March a win but no spend rows."""
    spend = pd.DataFrame(
        {
            c.PERIOD: [_ts("2026-01-01"), _ts("2026-01-01"), _ts("2026-02-01"), _ts("2026-02-01")],
            c.CHANNEL: ["paid", "inbound", "paid", "inbound"],
            c.SALES_COST: [1000.0, 300.0, 600.0, 0.0],
            c.MARKETING_COST: [500.0, 200.0, 400.0, 0.0],
        }
    )
    deals = pd.DataFrame(
        {
            c.DEAL_ID: ["d1", "d2", "d3", "d4", "d5", "d6", "d7"],
            c.CREATED_AT: [_ts("2026-01-02")] * 4 + [_ts("2026-02-03"), _ts("2026-03-01"),
                                                    _ts("2026-01-03")],
            c.CLOSED_AT: [_ts("2026-01-10"), _ts("2026-01-12"), _ts("2026-01-20"),
                          _ts("2026-01-25"), pd.NaT, _ts("2026-03-05"), _ts("2026-01-05")],
            c.OUTCOME: [c.WON, c.WON, c.WON, c.WON, c.OPEN, c.WON, c.LOST],
            c.AMOUNT: [1200.0, 1200.0, 1200.0, 500.0, 9000.0, 1200.0, 700.0],
            c.SEGMENT: [c.B2B, c.B2C, c.B2B, c.B2B, c.B2B, c.B2C, c.B2B],
            c.SOURCE: ["paid", "paid", "inbound", "inbound", "paid", "inbound", "paid"],
            # d4 is a second win of d3's account: not a new customer.
            c.ACCOUNT_ID: ["a1", "a2", "a3", "a3", "a5", "a6", "a7"],
            c.OWNER_ID: ["R1"] * 7,
        }
    )  # fmt: skip
    return {c.DEALS: deals, c.SPEND: spend}


def test_cac_and_payback_against_hand_values():
    ws = analysis.connect(_frames())
    table = acquisition_cost(ws, "month", gross_margin=0.7).to_frame()
    table = table.set_index(table[c.PERIOD].dt.strftime("%Y-%m"))
    jan, feb, mar = table.loc["2026-01"], table.loc["2026-02"], table.loc["2026-03"]
    # January: spend 1000 + 500 + 300 + 200 = 2000; new customers d1, d2, d3 (d4 repeats a3).
    assert jan[c.SPEND_TOTAL] == 2000.0 and jan[c.NEW_CUSTOMERS] == 3
    assert jan[c.CAC] == pytest.approx(2000 / 3)
    # Paid only: (1000 + 500) spend on "paid" / 2 customers from paid (d1, d2) = 750.
    assert jan[PAID_CAC] == pytest.approx(750.0)
    # Payback: CAC / (0.7 * 1200 / 12) = 666.67 / 70 = 9.5238 months.
    assert jan[c.PAYBACK_MONTHS] == pytest.approx((2000 / 3) / (0.7 * 1200 / 12))
    # Interval: exact Poisson for k = 3 is [0.6186721, 8.7672731]
    # (R: poisson.test(3)$conf.int), so CAC in [2000/8.7672731, 2000/0.6186721].
    assert jan[c.CAC_CI_LOW] == pytest.approx(2000 / 8.7672731, rel=1e-6)
    assert jan[c.CAC_CI_HIGH] == pytest.approx(2000 / 0.6186721, rel=1e-6)
    # February: spend but no new customer -> reported spend, CAC NaN with a code (not inf).
    assert feb[c.SPEND_TOTAL] == 1000.0 and feb[c.NEW_CUSTOMERS] == 0
    assert np.isnan(feb[c.CAC]) and feb[c.NOTE] == c.NOTE_NO_NEW_CUSTOMERS
    # March: a customer but no spend rows -> CAC NaN (not 0) with its code.
    assert mar[c.NEW_CUSTOMERS] == 1 and np.isnan(mar[c.CAC]) and mar[c.NOTE] == c.NOTE_NO_SPEND
    assert np.isfinite(table[c.CAC].dropna()).all()


def test_cac_by_channel_and_over_the_whole_window():
    ws = analysis.connect(_frames())
    by_channel = acquisition_cost(ws, None, "channel").to_frame().set_index(c.CHANNEL)
    # paid: spend 1500 + 1000 = 2500 over d1, d2; inbound: 500 over d3, d6.
    assert by_channel.loc["paid", c.CAC] == pytest.approx(1250.0)
    assert by_channel.loc["inbound", c.CAC] == pytest.approx(250.0)
    total = acquisition_cost(ws, None).to_frame().iloc[0]
    # Blended: 3000 spend / 4 new customers.
    assert total[c.CAC] == pytest.approx(750.0)


def test_spend_split_over_segments_by_deals_created():
    ws = analysis.connect(_frames())
    seg = acquisition_cost(ws, "month", "segment").to_frame()
    jan = seg[seg[c.PERIOD].dt.month == 1].set_index(c.SEGMENT)
    # January paid: created d1 (B2B), d2 (B2C), d7 (B2B) -> B2B 2/3 of 1500, B2C 1/3.
    # January inbound: d3, d4 (both B2B) -> all 500 to B2B.
    assert jan.loc[c.B2B, c.SPEND_TOTAL] == pytest.approx(1500 * 2 / 3 + 500)
    assert jan.loc[c.B2C, c.SPEND_TOTAL] == pytest.approx(1500 / 3)
    assert seg[c.SPEND_TOTAL].sum() == pytest.approx(3000.0)  # nothing lost in the split


def test_segment_cac_keeps_the_chosen_segments():
    ws = analysis.connect(_frames())
    whole = segment_cac(ws, None, None)
    assert len(whole) == 1 and whole[c.CAC].iloc[0] == pytest.approx(750.0)  # 3000 / 4
    b2b = segment_cac(ws, [c.B2B], "month")
    assert set(b2b[c.SEGMENT]) == {c.B2B}
    # January B2B spend as split above: 1500 * 2/3 + 500 = 1500, over d1 and d3.
    jan = b2b[b2b[c.PERIOD].dt.month == 1].iloc[0]
    assert jan[c.CAC] == pytest.approx(1500 / 2)


def test_cac_interval_and_payback_functions():
    cac, low, high = cac_interval([100.0, 100.0], [0, 1])
    assert np.isnan(cac[0]) and cac[1] == 100.0
    # k = 1: exact Poisson interval [0.02531781, 5.57164339] (R: poisson.test(1)).
    assert (low[1], high[1]) == pytest.approx((100 / 5.57164339, 100 / 0.02531781), rel=1e-6)
    # 1200 CAC, 2400 annual contract at 50% margin: 1200 / (0.5 * 200) = 12 months.
    assert float(payback_months(1200.0, 2400.0, 0.5, 12)) == pytest.approx(12.0)
    assert np.isnan(payback_months(1200.0, 0.0))
    with pytest.raises(ValueError, match="gross_margin"):
        payback_months(1.0, 1.0, gross_margin=0.0)


def test_pipeline_coverage_hand_values():
    ws = analysis.connect(_frames())
    cov = pipeline_coverage(ws, target_coverage=3.0, revenue_target=3000.0).iloc[0]
    # Open pipeline: d5 = 9000; 9000 / 3000 = 3.0, meets the 3x target, no gap.
    assert cov[c.OPEN_PIPELINE] == 9000.0 and cov[c.COVERAGE] == pytest.approx(3.0)
    assert cov["meets_target"] and cov["pipeline_gap"] == 0
    # Without a target or quotas: NaN with a message code.
    no_target = pipeline_coverage(ws).iloc[0]
    assert np.isnan(no_target[c.COVERAGE]) and no_target[c.NOTE] == "no_revenue_target"


def test_source_quality_on_the_sample():
    crm = generate_sample(1500, seed=11)
    ws = analysis.connect(dict(crm.tables))
    table = source_quality(ws).set_index(c.SOURCE)
    deals = crm.tables[c.DEALS]
    # Direct pandas counts: deals and won revenue per lead source.
    assert table[c.N_DEALS].to_dict() == deals.groupby(c.SOURCE).size().to_dict()
    won = deals[deals[c.OUTCOME] == c.WON].groupby(c.SOURCE)[c.AMOUNT].sum()
    assert table[c.WON_AMOUNT].to_numpy() == pytest.approx(won[table.index].to_numpy())
    assert table["revenue_per_deal_created"].is_monotonic_decreasing
    assert table[c.CAC].gt(0).all() and table[c.MEDIAN_CYCLE_DAYS].gt(0).all()
    # Planted truth: referral has the highest advancement odds (x1.6, truth["effects"]).
    assert table[c.WIN_RATE].idxmax() == "referral"


def test_bad_input_is_a_clear_message():
    frames = _frames()
    # No spend table at all: customers are counted, CAC is NaN with its code.
    no_spend = analysis.connect({c.DEALS: frames[c.DEALS]})
    table = acquisition_cost(no_spend, "month").to_frame()
    assert table[c.NEW_CUSTOMERS].sum() == 4 and table[c.CAC].isna().all()
    assert (table[c.NOTE] == c.NOTE_NO_SPEND).all()
    ws = analysis.connect(frames)
    with pytest.raises(ValueError, match="period must be"):
        acquisition_cost(ws, "week")
    with pytest.raises(ValueError, match="gross_margin"):
        acquisition_cost(ws, gross_margin=1.5)
    # A window with no spend rows at all: every row says so.
    late = acquisition_cost(ws, "month", window=("2026-03-01", None)).to_frame()
    assert (late[c.NOTE] == c.NOTE_NO_SPEND).all()
    # No lead source column: source quality says so instead of failing.
    no_source = analysis.connect({c.DEALS: frames[c.DEALS].drop(columns=[c.SOURCE])})
    assert source_quality(no_source)[c.NOTE].tolist() == ["no_lead_source_column"]
