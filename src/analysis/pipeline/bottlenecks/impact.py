"""What a bottleneck costs: revenue impact through the downstream funnel, and benchmark gaps.

A transition converting worse loses deals that would have gone on to win at
the later stages' rates and closed at the average won deal size; this module
prices that, compares each transition with a cited benchmark, and compares
the window's win rate of deals decided in it with win-rate benchmarks.
Row-level work (deals closed in the window) runs in the engine.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.engine.grouping import aggregate_by
from analysis.engine.workspace import Workspace
from analysis.pipeline.funnel import cumulative_conversion
from analysis.pipeline.velocity import AVG_WON_AMOUNT
from analysis.reference.benchmarks import (
    BENCHMARK_DEFINITION,
    BENCHMARK_GAP,
    BENCHMARK_SOURCE,
    BENCHMARK_VALUE,
    DEFINITION_DIFFERS,
    METRIC_STAGE_CONVERSION,
    METRIC_WIN_RATE,
    Benchmarks,
    same_definition,
)
from analysis.stats.rates import rate_with_interval

# Our definitions, compared with each benchmark's (whitespace and case ignored).
STAGE_CONVERSION_DEFINITION = "advanced / (advanced + lost)"
WIN_RATE_DEFINITION = "won / (won + lost)"

DOWNSTREAM_WIN = "downstream_win_probability"
BENCHMARK_NOTE = "benchmark_note"


def downstream_win_probability(conversion: pd.Series) -> np.ndarray:
    """P(won | advanced past stage s) for the stages of one group, in pipeline order.

    The cumulative conversion to won from the next stage
    (:func:`analysis.pipeline.funnel.cumulative_conversion`), 1 for the last open stage.
    """
    ones = pd.Series(1.0, index=conversion.index)  # the interval is not used here
    point = cumulative_conversion(conversion, ones, 0.0)[c.CUMULATIVE_CONVERSION].to_numpy()
    return np.append(point[1:], 1.0)


def _closed_at(ws: Workspace) -> ibis.Table:
    """Deals with the time they were won or lost (``closed_at``, else the terminal entry)."""
    deals, pipeline = ws.deals, ws.pipeline
    if ws.has(c.STAGE_EVENTS):
        ev = ws.stage_events
        ends = (
            ev.filter(ev[c.STAGE].isin([pipeline.won, pipeline.lost]))
            .group_by(c.DEAL_ID)
            .aggregate(_ended=ev[c.ENTERED_AT].max())
        )
        deals = deals.left_join(ends, c.DEAL_ID).drop(f"{c.DEAL_ID}_right")
        ended = deals._ended
    else:
        ended = ibis.null().cast("timestamp('UTC')")
    closed = deals[c.CLOSED_AT].coalesce(ended) if c.CLOSED_AT in ws.deals.columns else ended
    return deals.mutate(_closed=closed)


def closed_in_window(
    ws: Workspace,
    keys: list[str],
    window: tuple[pd.Timestamp, pd.Timestamp],
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Won and lost deals closed in ``[start, end)`` per group, win rate and mean won amount.

    Returns
    -------
    pandas.DataFrame
        ``<keys>, won, lost, win_rate, ci_low, ci_high, won_amount,
        avg_won_amount``; one row per group with a deal closed in the window.

    Notes
    -----
    :math:`won / (won + lost)` among deals decided in the window (Wilson
    interval, :func:`analysis.stats.rates.rate_with_interval`); the mean won amount
    is won amount / won deals among them.
    """
    deals = _closed_at(ws)
    start, end = window
    closed = deals.filter(
        deals[c.OUTCOME].isin([c.WON, c.LOST]) & (deals._closed >= start) & (deals._closed < end)
    )
    won = closed[c.OUTCOME] == c.WON
    expr = aggregate_by(
        closed,
        keys,
        **{
            c.N_WON: won.cast("int64").sum(),
            c.N_LOST: (~won).cast("int64").sum(),
            c.WON_AMOUNT: closed[c.AMOUNT].sum(where=won),
            "_won_with_amount": (won & closed[c.AMOUNT].notnull()).cast("int64").sum(),
        },
    )
    out = ws.execute(expr)
    out[[c.N_WON, c.N_LOST]] = out[[c.N_WON, c.N_LOST]].fillna(0).astype("int64")
    n = out[c.N_WON] + out[c.N_LOST]
    out[c.WIN_RATE], out[c.CI_LOW], out[c.CI_HIGH] = rate_with_interval(
        out[c.N_WON], n, alpha=alpha
    )
    with_amount = out.pop("_won_with_amount").fillna(0)
    out[AVG_WON_AMOUNT] = out[c.WON_AMOUNT].astype(float) / with_amount.where(with_amount > 0)
    return out[n > 0].reset_index(drop=True)


def avg_won_amount(closed: pd.DataFrame, keys: list[str], table: pd.DataFrame) -> pd.Series:
    """The mean won amount of each row's group, from :func:`closed_in_window` (NaN if none)."""
    if not keys:
        value = float(closed[AVG_WON_AMOUNT].iloc[0]) if len(closed) else np.nan
        return pd.Series(value, index=table.index)
    merged = table[keys].merge(closed[[*keys, AVG_WON_AMOUNT]], on=keys, how="left")
    return pd.Series(merged[AVG_WON_AMOUNT].to_numpy(), index=table.index)


def stage_benchmarks(table: pd.DataFrame, keys: list[str], benchmarks: Benchmarks | None) -> None:
    """Add the first matching stage-conversion benchmark's columns to ``table`` in place."""
    table[BENCHMARK_VALUE] = np.nan
    for name in (BENCHMARK_DEFINITION, BENCHMARK_SOURCE, BENCHMARK_NOTE, DEFINITION_DIFFERS):
        table[name] = pd.Series(None, index=table.index, dtype=object)
    if benchmarks is None:
        return
    for i, row in table.iterrows():
        segment = row[c.SEGMENT] if c.SEGMENT in keys else None
        match = benchmarks.matching(METRIC_STAGE_CONVERSION, row[c.STAGE], segment)
        if match:
            e = match[0]
            table.loc[i, BENCHMARK_VALUE] = e.value
            table.at[i, BENCHMARK_DEFINITION] = e.definition
            table.at[i, BENCHMARK_SOURCE] = f"{e.source} ({e.year}) {e.url}"
            table.at[i, BENCHMARK_NOTE] = e.note
            table.at[i, DEFINITION_DIFFERS] = not same_definition(
                e.definition, STAGE_CONVERSION_DEFINITION
            )


def win_rate_gaps(
    closed: pd.DataFrame, keys: list[str], benchmarks: Benchmarks | None
) -> pd.DataFrame:
    """Win rate of deals decided in the window per group beside every matching win-rate benchmark."""
    columns = [
        *keys, c.N_WON, c.N_LOST, c.WIN_RATE, c.CI_LOW, c.CI_HIGH, BENCHMARK_VALUE,
        BENCHMARK_GAP, BENCHMARK_DEFINITION, DEFINITION_DIFFERS, BENCHMARK_SOURCE, BENCHMARK_NOTE,
    ]  # fmt: skip
    if benchmarks is None:
        return pd.DataFrame(columns=columns)
    rows = []
    for _, r in closed.iterrows():
        segment = r[c.SEGMENT] if c.SEGMENT in keys else None
        for e in benchmarks.matching(METRIC_WIN_RATE, None, segment):
            rows.append(
                {
                    **{k: r[k] for k in [*keys, c.N_WON, c.N_LOST]},
                    c.WIN_RATE: r[c.WIN_RATE], c.CI_LOW: r[c.CI_LOW], c.CI_HIGH: r[c.CI_HIGH],
                    BENCHMARK_VALUE: e.value, BENCHMARK_GAP: r[c.WIN_RATE] - e.value,
                    BENCHMARK_DEFINITION: e.definition,
                    DEFINITION_DIFFERS: not same_definition(e.definition, WIN_RATE_DEFINITION),
                    BENCHMARK_SOURCE: f"{e.source} ({e.year}) {e.url}", BENCHMARK_NOTE: e.note,
                }
            )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
