"""The forecast's tables as a page shows them: the columns a reader needs, money marked."""

from __future__ import annotations

import pandas as pd

from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.forecast.outlook import WindowForecast
from analysis.forecast.slippage import Slippage

__all__ = [
    "MONEY",
    "SLIPPAGE_PERCENT",
    "readable_backtest",
    "readable_forecast",
    "readable_slippage",
]

# Columns of the forecast's results that hold money (for present.styled_table(money=...)).
MONEY = (
    c.MEAN, c.PI_LOW, c.MEDIAN, c.PI_HIGH, c.REP_WEIGHTED, c.STAGE_WEIGHTED, c.ACTUAL,
    c.P10, c.P50, c.P90, c.ACTUAL_PIPELINE, c.PIPELINE_MEAN, c.DUE_PIPELINE,
    c.TARGET_AMOUNT, c.PIPELINE_NEEDED, c.PIPELINE_GAP,
)  # fmt: skip


# Columns of readable_slippage shown as percentages.
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


def readable_slippage(result: Slippage) -> pd.DataFrame:
    """Per group: deals at risk, share pushed, pushes and days, win rates pushed and not."""
    table = result.to_frame().reset_index(drop=True)
    wins = result.win_rates.reset_index(drop=True)
    shown = [c.AT_RISK, c.PUSHED, c.SHARE_PUSHED, c.CI_LOW, c.CI_HIGH, c.PUSHES_PER_DEAL,
             c.MEAN_DAYS_PUSHED]  # fmt: skip
    compared = [c.PUSHED_WIN_RATE, c.UNPUSHED_WIN_RATE, c.DIFFERENCE, c.DIFF_CI_LOW,
                c.DIFF_CI_HIGH, c.P_ADJUSTED]  # fmt: skip
    return pd.concat([table[[*result.by, *shown]], wins[compared]], axis=1)
