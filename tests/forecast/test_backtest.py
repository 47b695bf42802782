"""Tests for analysis.forecast.backtest: past windows forecast from their start, scored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.forecast import columns as c
from analysis.forecast.backtest import WINDOW_COLUMNS, backtest_forecast, backtest_windows
from analysis.sample import generate_sample
from analysis.stats.rates import rate_with_interval


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


@pytest.fixture(scope="module")
def small():
    """A small generated history: first deal 2024-07-01, cut-off 2026-06-30 (two years)."""
    crm = generate_sample(1500, seed=3)
    return crm, analysis.connect(dict(crm.tables))


@pytest.fixture(scope="module")
def small_backtest(small):
    return backtest_forecast(small[1], simulations=1000)


def test_windows_start_after_the_first_year_and_end_by_the_cutoff(small):
    # Hand: data from 2024-07-01 to 2026-06-30 23:34; the first year ends 2025-07-01 and a
    # cut-off on the last day of June counts Q2 2026 as complete.
    ws = small[1]
    quarters = [
        _t(s) for s in ("2025-07-01", "2025-10-01", "2026-01-01", "2026-04-01", "2026-07-01")
    ]
    assert backtest_windows(ws) == list(zip(quarters[:-1], quarters[1:], strict=True))
    months = backtest_windows(ws, "month")
    assert len(months) == 12 and months[0] == (_t("2025-07-01"), _t("2025-08-01"))
    assert months[-1] == (_t("2026-06-01"), _t("2026-07-01"))
    assert backtest_windows(ws, windows=2) == backtest_windows(ws)[-2:]
    with pytest.raises(ValueError, match="freq"):
        backtest_windows(ws, "week")


def test_table_shape_and_properties(small_backtest):
    table = small_backtest.to_frame()
    assert list(table.columns) == list(WINDOW_COLUMNS)
    assert len(table) == 4
    assert (table[c.P10] <= table[c.P50]).all() and (table[c.P50] <= table[c.P90]).all()
    covered = (table[c.P10] <= table[c.ACTUAL]) & (table[c.ACTUAL] <= table[c.P90])
    assert (table[c.COVERED] == covered).all()


def test_actual_is_what_the_start_pipeline_won_in_the_window(small, small_backtest):
    # Provenance: a plain pandas computation on the sample's deals table, for Q4 2025, over
    # the deal ids of that window's forecast (the pipeline open on 2025-10-01).
    crm, _ = small
    start, end = _t("2025-10-01"), _t("2026-01-01")
    ids = small_backtest.deals.loc[small_backtest.deals[c.WINDOW_START] == start, c.DEAL_ID]
    deals = crm.tables[c.DEALS]
    closed = pd.to_datetime(deals[c.CLOSED_AT], utc=True)
    won = deals[c.DEAL_ID].isin(ids) & (deals[c.OUTCOME] == c.WON)
    won &= (closed >= start) & (closed < end)
    row = small_backtest.table.set_index(c.WINDOW_START).loc[start]
    assert row[c.ACTUAL_PIPELINE] == pytest.approx(deals.loc[won, c.AMOUNT].sum())
    assert row[c.OPEN_DEALS] == len(ids) and row[c.ACTUAL_PIPELINE] > 0
    # The actual adds the deals created in the window and won in it.
    new = (deals[c.OUTCOME] == c.WON) & (closed >= start) & (closed < end)
    new &= pd.to_datetime(deals[c.CREATED_AT], utc=True) > start
    assert row[c.NEW_WON] == new.sum() > 0
    assert row[c.ACTUAL] == pytest.approx(deals.loc[won | new, c.AMOUNT].sum())


def test_summary_matches_its_formulas(small_backtest):
    # Property: bias, MAPE and coverage recomputed from the per-window table; each method is
    # scored against the actual it forecasts (the model's total against all that was won; the
    # pipeline forecasts against what the pipeline open at the start won).
    table, summary = small_backtest.table, small_backtest.summary.set_index(c.METHOD)
    scored = {
        c.MEAN: (c.ACTUAL, c.P10, c.P90),
        c.PIPELINE_MEAN: (c.ACTUAL_PIPELINE, None, None),
        c.REP_WEIGHTED: (c.ACTUAL_PIPELINE, c.REP_P10, c.REP_P90),
        c.STAGE_WEIGHTED: (c.ACTUAL_PIPELINE, c.STAGE_P10, c.STAGE_P90),
    }
    for method, (target, low, high) in scored.items():
        actual = table[target]
        error = (table[method] - actual) / actual
        assert summary.loc[method, c.TARGET] == target
        assert summary.loc[method, c.BIAS] == pytest.approx(error.mean())
        assert summary.loc[method, c.MAPE] == pytest.approx(error.abs().mean())
        assert summary.loc[method, c.WINDOWS] == len(table)
        if low is None:
            assert np.isnan(summary.loc[method, c.COVERAGE])
            continue
        covered = ((table[low] <= actual) & (actual <= table[high])).sum()
        rate, ci_low, ci_high = rate_with_interval(covered, len(table), alpha=0.2)
        assert summary.loc[method, c.COVERAGE] == pytest.approx(rate[0])
        assert summary.loc[method, [c.CI_LOW, c.CI_HIGH]].tolist() == pytest.approx(
            [ci_low[0], ci_high[0]]
        )
    assert (table[c.REP_P10] <= table[c.REP_P90]).all()
    assert (table[c.STAGE_P10] <= table[c.STAGE_P90]).all()


def test_less_than_a_year_of_data_is_a_result_without_windows(crm):
    # Degenerate: 20 random deals over 120 days leave no window after the first year;
    # the result is empty and its summary rows carry the message code.
    ws = analysis.connect(crm.frames(crm.random_deals(np.random.default_rng(5), 20)))
    result = backtest_forecast(ws, simulations=10)
    assert result.to_frame().empty and list(result.table.columns) == list(WINDOW_COLUMNS)
    assert (result.summary[c.NOTE] == c.NOTE_NO_WINDOWS).all()
    assert result.summary[c.BIAS].isna().all()


@pytest.fixture(scope="module")
def seeded_backtests():
    """Quarterly and monthly backtests of the default sample and of three other seeds."""
    out = {}
    for seed in (None, 1, 2, 3):
        crm = generate_sample() if seed is None else generate_sample(5000, seed=seed)
        ws = analysis.connect(dict(crm.tables))
        for freq in ("quarter", "month"):
            out[seed, freq] = backtest_forecast(ws, freq=freq, simulations=1000)
    return out


def test_the_80_percent_interval_covers_about_80_percent_of_windows(seeded_backtests):
    # Planted truth (issue 14): the P10-P90 interval should hold the actual in 70-90% of past
    # windows. One sample has only 4 quarters and 12 months, so a single sample's share is
    # mostly chance (4 of 4 has probability 0.41 at a true 80%); pooled over four generator
    # seeds, quarters and months, 64 windows. Recorded: default seed 4/4 quarters, 12/12
    # months; seeds 1-3: 3, 4, 3 of 4 quarters and 9, 8, 8 of 12 months: 51 of 64 (80%).
    covered = sum(int(b.table[c.COVERED].sum()) for b in seeded_backtests.values())
    windows = sum(len(b.table) for b in seeded_backtests.values())
    assert windows == 64
    assert 0.70 <= covered / windows <= 0.90


def test_default_sample_rep_weighting_is_more_optimistic_than_the_model(seeded_backtests):
    # Planted truth: the generator's reps overstate their probabilities (planted optimism),
    # so on every seed the rep-weighted pipeline overshoots what its deals won by more than
    # the model's pipeline forecast does, and its own interval covers less often.
    for (seed, freq), result in seeded_backtests.items():
        summary = result.summary.set_index(c.METHOD)
        assert summary.loc[c.REP_WEIGHTED, c.BIAS] > summary.loc[c.PIPELINE_MEAN, c.BIAS], seed
        if freq == "month":
            assert len(result.table) == 12
            assert summary.loc[c.REP_WEIGHTED, c.COVERAGE] < summary.loc[c.MEAN, c.COVERAGE]
