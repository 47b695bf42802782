"""The forecast's tables as a page shows them: the columns a reader needs, money marked."""

from __future__ import annotations

import pandas as pd

from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.forecast.coverage import TargetCoverage
from analysis.forecast.outlook import WindowForecast
from analysis.forecast.slippage import Slippage

__all__ = [
    "MONEY",
    "SCORE_PERCENT",
    "SLIPPAGE_PERCENT",
    "readable_backtest",
    "readable_coverage",
    "readable_scores",
    "readable_forecast",
    "readable_slippage",
    "readable_slippage_wins",
]

# Columns of the forecast's results that hold money (for present.styled_table(money=...)).
MONEY = (
    c.MEAN, c.PI_LOW, c.MEDIAN, c.PI_HIGH, c.REP_WEIGHTED, c.STAGE_WEIGHTED, c.ACTUAL,
    c.P10, c.P50, c.P90, c.ACTUAL_PIPELINE, c.PIPELINE_MEAN, c.DUE_PIPELINE,
    c.TARGET_AMOUNT, c.PIPELINE_NEEDED, c.PIPELINE_GAP, c.WON_SO_FAR_AMOUNT,
)  # fmt: skip


# Columns of readable_slippage and readable_slippage_wins shown as percentages.
SLIPPAGE_PERCENT = (
    c.SHARE_PUSHED, c.CI_LOW, c.CI_HIGH, c.PUSHED_WIN_RATE, c.UNPUSHED_WIN_RATE, c.DIFFERENCE,
    c.DIFF_CI_LOW, c.DIFF_CI_HIGH,
)  # fmt: skip


def readable_forecast(forecast: WindowForecast) -> pd.DataFrame:
    """One row per group: deals, expected wins, the amount's mean and interval, the CRM's answers."""
    return forecast.table.rename(columns={c.PI_LOW: c.P10, c.MEDIAN: c.P50, c.PI_HIGH: c.P90})


def readable_backtest(backtest: Backtest) -> pd.DataFrame:
    """One row per past window: what was won against the model and the CRM's answers."""
    table = backtest.table
    window = [f"{s:%Y-%m-%d} to {e - pd.Timedelta(days=1):%Y-%m-%d}" for s, e in
              zip(table[c.WINDOW_START], table[c.WINDOW_END], strict=True)]  # fmt: skip
    shown = [
        c.ACTUAL, c.MEAN, c.P10, c.P90, c.COVERED, c.ACTUAL_PIPELINE, c.PIPELINE_MEAN,
        c.REP_WEIGHTED, c.STAGE_WEIGHTED, c.OPEN_DEALS, c.NEW_WON,
    ]  # fmt: skip
    return table[shown].assign(**{c.WINDOW: window})[[c.WINDOW, *shown]]


_METHOD_WORDS = {
    c.MEAN: "model: pipeline and new deals",
    c.PIPELINE_MEAN: "model: pipeline only",
    c.REP_WEIGHTED: "reps' probabilities",
    c.STAGE_WEIGHTED: "stages' win rates",
}
_TARGET_WORDS = {c.ACTUAL: "all won", c.ACTUAL_PIPELINE: "won by the pipeline at the start"}
# Columns of readable_scores shown as percentages.
SCORE_PERCENT = (c.BIAS, c.MAPE, c.COVERAGE, c.CI_LOW, c.CI_HIGH)


def readable_scores(backtest: Backtest) -> pd.DataFrame:
    """The backtest's summary with its methods and targets in words."""
    table = backtest.summary.drop(columns=[c.NOTE])
    return table.assign(**{
        c.METHOD: table[c.METHOD].map(_METHOD_WORDS).fillna(table[c.METHOD]),
        c.TARGET: table[c.TARGET].map(_TARGET_WORDS).fillna(table[c.TARGET]),
    })  # fmt: skip


def readable_slippage(result: Slippage) -> pd.DataFrame:
    """Per group: deals at risk, the share pushed, pushes and days pushed."""
    table = result.to_frame().reset_index(drop=True)
    shown = [c.AT_RISK, c.PUSHED, c.SHARE_PUSHED, c.CI_LOW, c.CI_HIGH, c.PUSHES_PER_DEAL,
             c.MEAN_DAYS_PUSHED]  # fmt: skip
    return table[[*result.by, *shown]]


def readable_slippage_wins(result: Slippage) -> pd.DataFrame:
    """Per group: the win rates of closed at-risk deals pushed and never pushed, compared."""
    wins = result.win_rates.reset_index(drop=True)
    shown = [c.PUSHED_CLOSED, c.PUSHED_WIN_RATE, c.UNPUSHED_CLOSED, c.UNPUSHED_WIN_RATE,
             c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH, c.P_ADJUSTED]  # fmt: skip
    return wins[[*result.by, *shown]]


_NOTE_WORDS = {
    c.NOTE_FEW_WINDOWS: "few past windows: a rough guide",
    c.NOTE_NO_WINDOWS: "no past window",
    c.NOTE_NOTHING_WON: "past pipelines won too little to say",
    c.NOTE_TARGET_MET: "already won",
}


def readable_coverage(coverage: TargetCoverage) -> pd.DataFrame:
    """The coverage row with its note in words."""
    table = coverage.to_frame()
    return table.assign(**{c.NOTE: table[c.NOTE].map(_NOTE_WORDS).fillna("")})
