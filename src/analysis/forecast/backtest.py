"""How good was the window forecast? Forecast past windows from their start and score it.

Each past calendar window is forecast from the pipeline as it stood at its
start (:func:`~analysis.forecast.outlook.forecast_window`) and compared with
what those deals actually won in it; the model's mean and interval are scored
beside the CRM's own answers (rep- and stage-weighted pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analysis.engine.journey import data_cutoff
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.outlook import (
    booked_draws,
    crm_probabilities,
    due_pipeline,
    forecast_window,
)
from analysis.stats.rates import rate_with_interval

__all__ = ["Backtest", "Frequency", "backtest_forecast", "backtest_windows"]

Frequency = Literal["quarter", "month"]
_MONTHS = {"quarter": 3, "month": 1}
WINDOW_COLUMNS = (
    c.WINDOW_START, c.WINDOW_END, c.ACTUAL, c.MEAN, c.P10, c.P50, c.P90, c.COVERED,
    c.ACTUAL_PIPELINE, c.PIPELINE_MEAN,
    c.REP_WEIGHTED, c.REP_P10, c.REP_P50, c.REP_P90,
    c.STAGE_WEIGHTED, c.STAGE_P10, c.STAGE_P50, c.STAGE_P90,
    c.OPEN_DEALS, c.DUE_PIPELINE, c.NEW_WON,
)  # fmt: skip
SUMMARY_COLUMNS = (
    c.METHOD, c.TARGET, c.WINDOWS, c.BIAS, c.MAPE, c.COVERAGE, c.CI_LOW, c.CI_HIGH, c.NOTE,
)  # fmt: skip
DEAL_COLUMNS = (
    c.WINDOW_START, c.DEAL_ID, c.SEGMENT, c.STAGE, c.AMOUNT, c.P_WIN, c.REP_P_WIN,
    c.STAGE_P_WIN, c.WON_IN_WINDOW,
)  # fmt: skip


@dataclass(frozen=True)
class Backtest:
    """Past windows forecast from their start, against what was won in them.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per window: ``window_start, window_end``; ``actual`` (won in
        the window by any deal), the model's ``mean, p10, p50, p90`` and
        ``covered``; ``actual_pipeline`` (won by the deals open at the
        start) and the model's ``pipeline_mean`` for them; the CRM's
        ``rep_weighted, rep_p10, rep_p50, rep_p90`` and ``stage_weighted,
        stage_p10, stage_p50, stage_p90`` (pipeline only); ``open_deals``,
        ``due_pipeline`` (their amount expected to close in the window) and
        ``new_deals_won``.
    summary : pandas.DataFrame
        One row per forecast (``method``: ``mean``, ``pipeline_mean``,
        ``rep_weighted``, ``stage_weighted``) with the actual it is scored
        against (``target``): ``windows, bias, mape, coverage, ci_low,
        ci_high, note`` (coverage of its P10-P90 with a Wilson interval).
    deals : pandas.DataFrame
        One row per (window, deal open at its start): ``window_start,
        deal_id, segment, stage, amount``, the three predicted chances of a
        win in the window (``p_win``, ``rep_p_win``, ``stage_p_win``) and
        ``won_in_window``.
    freq : {"quarter", "month"}
    alpha : float
        The forecast interval runs from the ``alpha/2`` to the ``1 - alpha/2`` quantile;
        the coverage's Wilson interval is at the same ``alpha``.
    simulations, seed : int
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    deals: pd.DataFrame
    freq: Frequency
    alpha: float
    simulations: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """The per-window table (a copy)."""
        return self.table.copy()


def backtest_windows(
    ws: Workspace, freq: Frequency = "quarter", windows: int | None = None
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The calendar windows a backtest scores, oldest first.

    Every calendar quarter (or month) that starts at least a year after the
    first day of data (the first ``created_at``) and ends on or before the
    day after the data's cut-off (a cut-off on a window's last day counts it
    as complete, as :func:`analysis.engine.periods.last_full_quarter`); the
    last ``windows`` of them when given.
    """
    if freq not in _MONTHS:
        raise ValueError(f"freq must be one of {', '.join(_MONTHS)}; got {freq!r}.")
    if windows is not None and int(windows) < 1:
        raise ValueError(f"windows must be at least 1 (or None for all), got {windows}.")
    first = ws.execute(ws.deals[c.CREATED_AT].min())
    cutoff = data_cutoff(ws)
    if first is None or pd.isna(first) or pd.isna(cutoff):
        return []
    first = pd.Timestamp(first)
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    earliest = first.normalize() + pd.DateOffset(years=1)
    last_end = (cutoff + pd.Timedelta(days=1)).normalize()
    months = _MONTHS[freq]
    start = pd.Timestamp(year=earliest.year, month=earliest.month, day=1, tz="UTC")
    start += pd.DateOffset(months=(-(start.month - 1)) % months)  # first window boundary
    if start < earliest:
        start += pd.DateOffset(months=months)
    out = []
    while start + pd.DateOffset(months=months) <= last_end:
        end = start + pd.DateOffset(months=months)
        out.append((start, end))
        start = end
    return out if windows is None else out[-int(windows) :]


def _won_in_window(deals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    closed = pd.to_datetime(deals[c.CLOSED_AT], utc=True)
    return (deals[c.OUTCOME] == c.WON) & (closed >= start) & (closed < end)


def _baselines(forecast, end: pd.Timestamp, alpha: float, simulations: int, seed: int) -> dict:
    """The CRM's two weighted pipelines with their P10/P50/P90 as Bernoulli sums.

    Each deal due in the window is won with the rep's probability (or the
    stage's win rate), independently: the interval those probabilities
    claim, scored like the model's.
    """
    deals = forecast.deals
    amount = deals[c.AMOUNT].fillna(0.0).to_numpy(dtype=float)
    q, r = crm_probabilities(deals, forecast.start, end)
    rng = np.random.default_rng([seed, 1])
    everything = {c.TOTAL: np.ones(len(deals), bool)}
    out = {c.REP_WEIGHTED: (amount * q).sum(), c.STAGE_WEIGHTED: (amount * r).sum()}
    for p, names in (
        (q, (c.REP_P10, c.REP_P50, c.REP_P90)),
        (r, (c.STAGE_P10, c.STAGE_P50, c.STAGE_P90)),
    ):
        if len(p) and np.isnan(p).all():  # the CRM has no answer of this kind
            out |= dict.fromkeys(names, np.nan)
            continue
        draws = booked_draws(np.clip(p, 0, 1), amount, everything, simulations, rng)[c.TOTAL]
        out |= dict(zip(names, np.quantile(draws, [alpha / 2, 0.5, 1 - alpha / 2]), strict=True))
    return out


# What each summary row scores: (method, the actual it forecasts, its interval's columns).
SCORED = (
    (c.MEAN, c.ACTUAL, (c.P10, c.P90)),
    (c.PIPELINE_MEAN, c.ACTUAL_PIPELINE, None),
    (c.REP_WEIGHTED, c.ACTUAL_PIPELINE, (c.REP_P10, c.REP_P90)),
    (c.STAGE_WEIGHTED, c.ACTUAL_PIPELINE, (c.STAGE_P10, c.STAGE_P90)),
)


def _score(frame: pd.DataFrame, column: str, target: str, interval, alpha: float) -> dict:
    """Bias and MAPE (over windows with a positive actual) and the interval's coverage."""
    row = {c.METHOD: column, c.TARGET: target, c.NOTE: None}
    scored = frame[frame[target] > 0]
    error = (scored[column] - scored[target]) / scored[target]
    row[c.WINDOWS] = len(scored)
    row[c.BIAS] = error.mean() if len(scored) else np.nan
    row[c.MAPE] = error.abs().mean() if len(scored) else np.nan
    row[c.COVERAGE] = row[c.CI_LOW] = row[c.CI_HIGH] = np.nan
    if interval is not None and len(frame):
        low, high = interval
        covered = ((frame[low] <= frame[target]) & (frame[target] <= frame[high])).sum()
        rate, ci_low, ci_high = rate_with_interval(covered, len(frame), alpha=alpha)
        row[c.COVERAGE], row[c.CI_LOW], row[c.CI_HIGH] = rate[0], ci_low[0], ci_high[0]
    if not len(frame):
        row[c.NOTE] = c.NOTE_NO_WINDOWS
    elif len(scored) < len(frame):
        row[c.NOTE] = c.NOTE_ZERO_ACTUAL
    return row


def backtest_forecast(
    ws: Workspace,
    freq: Frequency = "quarter",
    windows: int | None = None,
    alpha: float = 0.2,
    simulations: int = 2_000,
    seed: int = 0,
) -> Backtest:
    """Forecast each past window from its start and compare with what was won in it.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals`` and a stage history (as :func:`forecast_window`).
    freq : {"quarter", "month"}
        Calendar windows to score (:func:`backtest_windows`).
    windows : int, optional
        Score only the last ``windows`` windows; default all.
    alpha : float
        Interval of the forecast (P10 to P90 at 0.2) and of the coverage.
    simulations, seed : int
        Monte Carlo draws and seed of each window's forecast (the same seed
        for every window).

    Returns
    -------
    Backtest

    Notes
    -----
    For a window :math:`[s, e)` the forecast is the ``total`` row of
    ``forecast_window(ws, s, e, by=None)``: the open pipeline read at
    :math:`s` with the history known at :math:`s`, plus the run rate of
    deals not yet created. The actual is :math:`A = \\sum_i a_i
    [\\text{won}_i, s \\le \\text{closed}_i < e]` over every deal (the
    pipeline at :math:`s` and the deals created after it), :math:`a_i` the
    deal's amount in ``deals`` (as booked, not as forecast at :math:`s`);
    ``actual_pipeline`` is the same sum over the pipeline at :math:`s` only.
    The model's total is scored against ``actual``; its pipeline part and
    the CRM's two answers, which see only the pipeline, against
    ``actual_pipeline``.

    For a forecast :math:`F_w` of window :math:`w` with :math:`A_w > 0`,
    ``bias`` is :math:`\\frac1W\\sum_w (F_w - A_w)/A_w` and ``mape``
    :math:`\\frac1W\\sum_w |F_w - A_w|/A_w` (windows with :math:`A_w = 0`
    are left out and the row's ``note`` says so). ``coverage`` is the share
    of windows with :math:`P10_w \\le A_w \\le P90_w`, nominally
    :math:`1 - \\alpha`, with its Wilson interval
    (:func:`analysis.stats.rates.rate_with_interval`); the windows overlap
    in deals and history, so they are not independent and the interval is
    optimistic.

    References
    ----------
    Hyndman, R. J. and Athanasopoulos, G. (2021). Forecasting: Principles and
    Practice, 3rd ed., §5.8 (evaluating point forecast accuracy) and §5.9
    (evaluating distributional forecast accuracy). OTexts.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    spans = backtest_windows(ws, freq, windows)
    cols = [c.DEAL_ID, c.OUTCOME, c.CREATED_AT, c.CLOSED_AT, c.AMOUNT]
    deals = ws.execute(ws.deals.select(*cols)).set_index(c.DEAL_ID)
    created = pd.to_datetime(deals[c.CREATED_AT], utc=True)  # parsed once, read per window
    rows, per_deal = [], []
    for start, end in spans:
        forecast = forecast_window(
            ws, start, end, by=None, alpha=alpha, simulations=simulations, seed=seed
        )
        table = forecast.table.set_index(c.GROUP)
        total = table.loc[c.TOTAL]
        open_at_start = deals.loc[forecast.deals[c.DEAL_ID]]
        won = _won_in_window(open_at_start, start, end)
        actual_pipeline = float(open_at_start[c.AMOUNT].fillna(0.0)[won].sum())
        new = deals[_won_in_window(deals, start, end) & (created > start)]
        actual = actual_pipeline + float(new[c.AMOUNT].fillna(0.0).sum())
        baselines = _baselines(forecast, end, alpha, simulations, seed)
        pipeline_mean = total[c.MEAN] - (
            table.loc[c.NEW_DEALS, c.MEAN] if c.NEW_DEALS in table.index else 0.0
        )
        rows.append({
            c.WINDOW_START: start, c.WINDOW_END: end, c.ACTUAL: actual, c.MEAN: total[c.MEAN],
            c.P10: total[c.PI_LOW], c.P50: total[c.MEDIAN], c.P90: total[c.PI_HIGH],
            c.COVERED: bool(total[c.PI_LOW] <= actual <= total[c.PI_HIGH]),
            c.ACTUAL_PIPELINE: actual_pipeline, c.PIPELINE_MEAN: pipeline_mean,
            **baselines, c.OPEN_DEALS: int(total[c.OPEN_DEALS]),
            c.DUE_PIPELINE: due_pipeline(forecast.deals, start, end), c.NEW_WON: len(new),
        })  # fmt: skip
        q, r = crm_probabilities(forecast.deals, start, end)
        kept = [col for col in DEAL_COLUMNS if col in forecast.deals.columns]
        part = forecast.deals[kept].assign(**{
            c.WINDOW_START: start, c.REP_P_WIN: q, c.STAGE_P_WIN: r,
            c.WON_IN_WINDOW: won.to_numpy(),
        })  # fmt: skip
        per_deal.append(part.reindex(columns=list(DEAL_COLUMNS)))
    table = pd.DataFrame(rows, columns=list(WINDOW_COLUMNS))
    summary = pd.DataFrame(
        [_score(table, *scored, alpha) for scored in SCORED],
        columns=list(SUMMARY_COLUMNS),
    )
    empty = pd.DataFrame(columns=list(DEAL_COLUMNS))
    deal_table = pd.concat(per_deal, ignore_index=True) if per_deal else empty
    return Backtest(table, summary, deal_table, freq, alpha, int(simulations), seed)
