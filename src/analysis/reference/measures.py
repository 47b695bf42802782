"""Our figures in the shape the benchmark comparison reads: one row per metric and segment.

:func:`analysis.reference.compare_to_benchmarks` takes ``metric, stage,
segment, value`` (and optionally ``ci_low, ci_high``). These functions turn
the results of the team and segment analyses into that shape, so notebooks
do not rename columns themselves.
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.reference.benchmarks import (
    METRIC_CYCLE_DAYS,
    METRIC_DEAL_SIZE,
    METRIC_WIN_RATE,
    VALUE,
)

# Segment-comparison metrics (analysis.segments) and the benchmark metric each one is.
SEGMENT_METRIC_TO_BENCHMARK = {
    "win_rate": METRIC_WIN_RATE,
    "median_days_to_close": METRIC_CYCLE_DAYS,
    "mean_won_amount": METRIC_DEAL_SIZE,
}


def win_rate_measures(win_rates: pd.DataFrame) -> pd.DataFrame:
    """Win rates by segment as benchmark measures.

    Parameters
    ----------
    win_rates : pandas.DataFrame
        ``segment, win_rate, ci_low, ci_high, ...`` (a win-rate table by segment,
        e.g. :func:`analysis.pipeline.funnel.win_rates`).

    Returns
    -------
    pandas.DataFrame
        ``metric, stage, segment, value, ci_low, ci_high`` with ``metric =
        "win_rate"`` and no stage.
    """
    ours = win_rates.rename(columns={c.WIN_RATE: VALUE}).assign(
        **{c.METRIC: METRIC_WIN_RATE, c.STAGE: None}
    )
    return ours[[c.METRIC, c.STAGE, c.SEGMENT, VALUE, c.CI_LOW, c.CI_HIGH]]


def segment_measures(comparison: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """A two-segment comparison's win rate, cycle time and deal size as benchmark measures.

    Parameters
    ----------
    comparison : pandas.DataFrame
        ``metric, value_a, value_b, ...`` of segments ``a`` and ``b``
        (:meth:`analysis.segments.SegmentComparison.to_frame`).
    a, b : str
        The two segments, in the order of ``value_a`` and ``value_b``.

    Returns
    -------
    pandas.DataFrame
        ``metric, stage, segment, value``: one row per benchmarked metric and
        segment (the median days to close is compared with the published
        cycle length, the mean won amount with the average deal size).
    """
    rows = comparison[comparison[c.METRIC].isin(list(SEGMENT_METRIC_TO_BENCHMARK))]
    ours = [
        {
            c.METRIC: SEGMENT_METRIC_TO_BENCHMARK[r[c.METRIC]],
            c.STAGE: None,
            c.SEGMENT: segment,
            VALUE: r[value],
        }
        for _, r in rows.iterrows()
        for segment, value in ((a, c.VALUE_A), (b, c.VALUE_B))
    ]
    return pd.DataFrame(ours)
