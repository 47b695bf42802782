"""What will close, and how did the pipeline move? Snapshots, waterfall, slippage, forecast.

The one import of the forecast notebook::

    from analysis import forecast
    forecast.pipeline_as_of(ws, "2026-03-31").to_frame()
    forecast.pipeline_waterfall(ws, "2026-04-01", "2026-07-01").to_frame()

:mod:`.history` rewinds each deal's tracked fields (amount, expected close,
stage, forecast category, probability) to a past moment from
``deal_changes``; :mod:`.snapshot` builds the open pipeline on a date from
it; :mod:`.waterfall` bridges the pipeline of a forecast window from one date
to another (created, moved in, increased, decreased, moved out, won, lost);
:mod:`.slippage` counts pushed expected close dates and compares the win
rates of pushed and unpushed deals (in words: :mod:`.findings`);
:mod:`.outlook` forecasts what the open pipeline will win in a window and
:mod:`.backtest` replays that forecast on past windows against what closed.
"""

from __future__ import annotations

from analysis.forecast import columns
from analysis.forecast.backtest import Backtest, backtest_forecast, backtest_windows
from analysis.forecast.calibration import Calibration, brier_score, forecast_calibration
from analysis.forecast.coverage import (
    TargetCoverage,
    load_target,
    target_coverage,
    window_target,
)
from analysis.forecast.findings import (
    FORECAST_KEY,
    backtest_sentences,
    calibration_sentences,
    coverage_sentences,
    forecast_headline,
    forecast_record,
    slippage_sentences,
)
from analysis.forecast.history import values_as_of
from analysis.forecast.outlook import WindowForecast, forecast_window
from analysis.forecast.period import forecast_period, waterfall_dates
from analysis.forecast.plots import backtest_chart, calibration_chart, waterfall_chart
from analysis.forecast.slippage import SLIPPAGE_HISTORY, Slippage, slippage
from analysis.forecast.snapshot import PIPELINE_HISTORY, PipelineSnapshot, pipeline_as_of
from analysis.forecast.view import (
    MONEY,
    SCORE_PERCENT,
    SLIPPAGE_PERCENT,
    readable_backtest,
    readable_coverage,
    readable_forecast,
    readable_scores,
    readable_slippage,
    readable_slippage_wins,
)
from analysis.forecast.waterfall import PipelineWaterfall, pipeline_waterfall

__all__ = [
    "FORECAST_KEY",
    "MONEY",
    "SCORE_PERCENT",
    "SLIPPAGE_PERCENT",
    "Backtest",
    "Calibration",
    "PIPELINE_HISTORY",
    "PipelineSnapshot",
    "PipelineWaterfall",
    "SLIPPAGE_HISTORY",
    "Slippage",
    "TargetCoverage",
    "WindowForecast",
    "backtest_forecast",
    "backtest_chart",
    "backtest_sentences",
    "backtest_windows",
    "brier_score",
    "calibration_chart",
    "calibration_sentences",
    "coverage_sentences",
    "forecast_headline",
    "forecast_record",
    "forecast_period",
    "columns",
    "forecast_calibration",
    "forecast_window",
    "load_target",
    "pipeline_as_of",
    "pipeline_waterfall",
    "readable_backtest",
    "readable_coverage",
    "readable_forecast",
    "readable_scores",
    "readable_slippage",
    "readable_slippage_wins",
    "slippage",
    "slippage_sentences",
    "target_coverage",
    "window_target",
    "values_as_of",
    "waterfall_dates",
    "waterfall_chart",
]
