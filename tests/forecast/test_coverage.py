"""Tests for analysis.forecast.coverage: the pipeline against a target, and what is needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.core.errors import ConfigError
from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.forecast.coverage import load_target, target_coverage
from analysis.forecast.outlook import WindowForecast


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


START, END = _t("2026-07-01"), _t("2026-10-01")


def _forecast(draws: np.ndarray) -> WindowForecast:
    """Three open deals, two due in Q3 (amounts 100 and 300), and the given simulated totals."""
    deals = pd.DataFrame({
        c.DEAL_ID: ["a", "b", "c"], c.AMOUNT: [100.0, 300.0, 50.0],
        c.EXPECTED_CLOSE_AT: [_t("2026-08-01"), _t("2026-09-30"), _t("2026-11-01")],
    })  # fmt: skip
    table = pd.DataFrame({c.GROUP: [c.TOTAL], c.MEAN: [float(draws.mean())]})
    return WindowForecast(table, deals, START, END, START, 0.2, draws.size, 0, (), draws)


def _backtest(due: list[float], actual: list[float]) -> Backtest:
    starts = pd.date_range("2025-01-01", periods=len(due), freq="QS", tz="UTC")
    table = pd.DataFrame({
        c.WINDOW_START: starts, c.WINDOW_END: starts + pd.DateOffset(months=3),
        c.DUE_PIPELINE: due, c.ACTUAL: actual,
    })  # fmt: skip
    return Backtest(table, pd.DataFrame(), pd.DataFrame(), "quarter", 0.2, 10, 0)


def test_coverage_by_hand():
    # Hand: due pipeline 100 + 300 = 400 (deal c closes after the window); target 200 -> 2.0x.
    # Past conversions 0.5, 0.25, 0.4, 0.2, 0.3 (actual / due); numpy's linear 20% quantile of
    # the sorted 0.2, 0.25, 0.3, 0.4, 0.5 is 0.2 + 0.8 x 0.05 = 0.24, so 1 / 0.24 = 4.1667x is
    # needed, 833.33 of pipeline, 433.33 short. Chance: 3 of the 4 draws reach 200.
    forecast = _forecast(np.array([150.0, 200.0, 250.0, 400.0]))
    backtest = _backtest([100, 200, 500, 1000, 100], [50, 50, 200, 200, 30])
    row = target_coverage(forecast, 200.0, backtest).to_frame().iloc[0]
    assert row[c.DUE_PIPELINE] == 400.0 and row[c.COVERAGE_NOW] == 2.0
    assert row[c.NEEDED_COVERAGE] == pytest.approx(1 / 0.24)
    assert row[c.PIPELINE_NEEDED] == pytest.approx(200 / 0.24)
    assert row[c.PIPELINE_GAP] == pytest.approx(200 / 0.24 - 400)
    assert row[c.CHANCE_OF_TARGET] == 0.75
    assert row[c.WINDOWS] == 5 and row[c.NOTE] == c.NOTE_FEW_WINDOWS


def test_read_inside_the_window_the_pipeline_covers_what_is_left():
    # Hand: target 200 with 150 won so far leaves 50; due pipeline 400 covers it 8x; the same
    # history (1 / 0.24 needed) asks for 208.33 of pipeline, so no gap. A target already won
    # says so and has no coverage ratio.
    forecast = _forecast(np.array([150.0, 200.0, 250.0, 400.0]))
    table = pd.DataFrame({c.GROUP: [c.WON_SO_FAR, c.TOTAL], c.MEAN: [150.0, 250.0]})
    inside = WindowForecast(
        table, forecast.deals, START, END, START + pd.Timedelta(days=30), 0.2, 4, 0, (),
        forecast.draws,
    )  # fmt: skip
    backtest = _backtest([100, 200, 500, 1000, 100], [50, 50, 200, 200, 30])
    row = target_coverage(inside, 200.0, backtest).to_frame().iloc[0]
    assert row[c.WON_SO_FAR_AMOUNT] == 150.0 and row[c.COVERAGE_NOW] == 8.0
    assert row[c.PIPELINE_NEEDED] == pytest.approx(50 / 0.24) and row[c.PIPELINE_GAP] == 0.0
    met = target_coverage(inside, 100.0, backtest).to_frame().iloc[0]
    assert met[c.NOTE] == c.NOTE_TARGET_MET and np.isnan(met[c.COVERAGE_NOW])


def test_history_from_windows_of_another_length_is_refused():
    # A month's conversion is not a quarter's: monthly backtest windows against a quarter.
    starts = pd.date_range("2025-01-01", periods=3, freq="MS", tz="UTC")
    table = pd.DataFrame({
        c.WINDOW_START: starts, c.WINDOW_END: starts + pd.DateOffset(months=1),
        c.DUE_PIPELINE: [1.0, 1.0, 1.0], c.ACTUAL: [1.0, 1.0, 1.0],
    })  # fmt: skip
    monthly = Backtest(table, pd.DataFrame(), pd.DataFrame(), "month", 0.2, 10, 0)
    with pytest.raises(ValueError, match="as long"):
        target_coverage(_forecast(np.array([1.0])), 1.0, monthly)


def test_windows_without_due_pipeline_are_left_out_and_no_history_is_said():
    forecast = _forecast(np.array([0.0, 500.0]))
    result = target_coverage(forecast, 100.0, _backtest([0.0, 100.0], [10.0, 50.0]))
    assert list(result.history[c.CONVERSION]) == [0.5]  # the window without due pipeline goes
    empty = target_coverage(forecast, 100.0, _backtest([], [])).to_frame().iloc[0]
    assert np.isnan(empty[c.NEEDED_COVERAGE]) and empty[c.NOTE] == c.NOTE_NO_WINDOWS
    with pytest.raises(ValueError, match="positive"):
        target_coverage(forecast, 0.0, _backtest([], []))
    with pytest.raises(ValueError, match="confidence"):
        target_coverage(forecast, 1.0, _backtest([], []), confidence=1.0)


def test_targets_file(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_text("targets:\n  2026-Q3: 1200000\n  2026-07: 400000\n  2026-10-01/2027-01-01: 9\n")
    assert load_target(START, END, path) == 1_200_000.0
    assert load_target(START, _t("2026-08-01"), path) == 400_000.0
    assert load_target(_t("2026-10-01"), _t("2027-01-01"), path) == 9.0
    assert load_target(_t("2027-01-01"), _t("2027-04-01"), path) is None
    path.write_text("targets:\n  2026-Q3: lots\n")
    with pytest.raises(ConfigError, match="positive number"):
        load_target(START, END, path)
    path.write_text("targets:\n  summer: 5\n")
    with pytest.raises(ConfigError, match="cannot read the period"):
        load_target(START, END, path)
    path.write_text("- 2026-Q3\n")
    with pytest.raises(ConfigError, match="targets"):
        load_target(START, END, path)
