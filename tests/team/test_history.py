"""Tests for analysis.team.history: period over period, year over year, trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from score_reference import mn_interval
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

import analysis
from analysis.core.types import Window
from analysis.sample import generate_sample
from analysis.team import columns as c
from analysis.team.findings import history_sentences
from analysis.team.history import (
    DEALS_PER_DAY,
    compare_periods,
    period_before,
    trend,
    year_before,
)


def _w(start: str, end: str) -> Window:
    return Window(pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))


def test_previous_windows_by_hand():
    q2 = _w("2026-04-01", "2026-07-01")
    assert period_before(q2) == _w("2026-01-01", "2026-04-01")  # the quarter before
    assert year_before(q2) == _w("2025-04-01", "2025-07-01")
    ten_days = _w("2026-04-05", "2026-04-15")
    assert period_before(ten_days) == _w("2026-03-26", "2026-04-05")


def _deals() -> pd.DataFrame:
    """Hand-made: 10 deals created in each of two 10-day windows (6/10 and 3/10 won),
    plus 5 more in the first window that stay open."""
    t = pd.Timestamp
    rows = []
    for i in range(10):
        rows.append(
            (f"a{i}", t("2026-01-02", tz="UTC"), c.WON if i < 6 else c.LOST, 100.0 * (i + 1))
        )
        rows.append((f"b{i}", t("2025-12-23", tz="UTC"), c.WON if i < 3 else c.LOST, 200.0))
    for i in range(5):
        rows.append((f"o{i}", t("2026-01-03", tz="UTC"), c.OPEN, 50.0))
    deals = pd.DataFrame(rows, columns=[c.DEAL_ID, c.CREATED_AT, c.OUTCOME, c.AMOUNT])
    deals[c.CLOSED_AT] = np.where(
        deals[c.OUTCOME] == c.OPEN, pd.NaT, deals[c.CREATED_AT] + pd.Timedelta(days=5)
    )
    deals[c.CLOSED_AT] = pd.to_datetime(deals[c.CLOSED_AT], utc=True)
    deals[c.SEGMENT] = c.B2B
    return deals


def test_period_over_period_hand_values():
    ws = analysis.connect({c.DEALS: _deals()})
    current, baseline = _w("2026-01-01", "2026-01-11"), _w("2025-12-22", "2026-01-01")
    table = compare_periods(ws, current, baseline).to_frame().set_index(c.METRIC)
    win = table.loc[c.WIN_RATE]
    # 6/10 vs 3/10 (open deals are neither): difference 0.3.
    assert (win["value_current"], win["value_baseline"]) == pytest.approx((0.6, 0.3))
    assert win[c.DIFFERENCE] == pytest.approx(0.3)
    # Reference: the Miettinen–Nurminen interval by brute force (tests/score_reference.py)
    # and statsmodels' score test, which is right at a difference of 0.
    assert (win[c.DIFF_CI_LOW], win[c.DIFF_CI_HIGH]) == pytest.approx(
        mn_interval(6, 10, 3, 10), abs=1e-8
    )
    ref_p = sm_test_2indep(6, 10, 3, 10, method="score", compare="diff").pvalue
    assert win[c.P_VALUE] == pytest.approx(ref_p, rel=1e-9)
    # 15 deals vs 10 deals in 10 days each: ratio 1.5.
    assert table.loc[DEALS_PER_DAY, c.DIFFERENCE] == pytest.approx(1.5)
    # Won amount per day: (100+...+600)/10 = 210 vs 3*200/10 = 60; difference 150 with
    # compound-Poisson se sqrt(sum a^2)/days: sqrt(91e4)/10 and sqrt(12e4)/10.
    money = table.loc["won_amount_per_day"]
    assert money[c.DIFFERENCE] == pytest.approx(150.0)
    se = np.hypot(np.sqrt(910_000) / 10, np.sqrt(120_000) / 10)
    assert money[c.DIFF_CI_HIGH] - money[c.DIFFERENCE] == pytest.approx(1.959964 * se, rel=1e-5)
    # Average won deal: 350 vs 200.
    assert table.loc[c.AVG_WON_DEAL, c.DIFFERENCE] == pytest.approx(150.0)
    assert table.loc[c.MEDIAN_CYCLE_DAYS, c.NOTE] == "no_interval_for_change"


def test_year_over_year_on_the_sample_and_sentences():
    crm = generate_sample(2000, seed=5)
    ws = analysis.connect(dict(crm.tables))
    current = _w("2026-01-01", "2026-04-01")
    result = compare_periods(ws, current, year_before(current))
    table = result.to_frame().set_index(c.METRIC)
    deals = crm.tables[c.DEALS]
    created = deals[c.CREATED_AT]
    # Direct pandas count of deals created in each window.
    n_now = ((created >= current.start) & (created < current.end)).sum()
    n_then = ((created >= "2025-01-01") & (created < "2025-04-01")).sum()
    assert table.loc[DEALS_PER_DAY, "value_current"] == pytest.approx(n_now / current.days)
    assert table.loc[DEALS_PER_DAY, "value_baseline"] == pytest.approx(n_then / 90)
    sentences = history_sentences(result, "Year over year")
    assert sentences and sentences[0].startswith("Year over year: deals created 2026-01-01")


def test_trend_reconciles_with_direct_counts():
    crm = generate_sample(1500, seed=8)
    ws = analysis.connect(dict(crm.tables))
    monthly = trend(ws, "month", by=c.SEGMENT)
    deals = crm.tables[c.DEALS]
    assert monthly[c.N_DEALS].sum() == len(deals)
    assert (monthly[c.N_WON] + monthly[c.N_LOST] + monthly[c.N_OPEN] == monthly[c.N_DEALS]).all()
    rates = monthly[c.WIN_RATE].dropna()
    assert rates.between(0, 1).all()
    quarterly = trend(ws, "quarter")
    assert quarterly[c.N_DEALS].sum() == len(deals)
    assert {c.MEDIAN_CYCLE_DAYS, c.CI_LOW, c.CI_HIGH} <= set(quarterly.columns)


def test_bad_input_and_empty_windows():
    ws = analysis.connect({c.DEALS: _deals()})
    with pytest.raises(ValueError, match="period must be"):
        trend(ws, "week")
    # A window with no deals: NaN changes with message codes, no exception.
    empty = compare_periods(ws, _w("2027-01-01", "2027-02-01"), _w("2026-01-01", "2026-02-01"))
    table = empty.to_frame().set_index(c.METRIC)
    assert table.loc[DEALS_PER_DAY, c.NOTE] == "no_deals_in_a_window"
    assert table.loc[c.WIN_RATE, c.NOTE] == c.NOTE_NO_CLOSED_DEALS
