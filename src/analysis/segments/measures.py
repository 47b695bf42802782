"""A segment comparison as benchmark measures: one row per benchmarked metric and segment."""

from __future__ import annotations

import pandas as pd

from analysis.reference.benchmarks import (
    METRIC_CYCLE_DAYS,
    METRIC_DEAL_SIZE,
    METRIC_WIN_RATE,
    VALUE,
)
from analysis.segments import columns as c
from analysis.segments.compare import METRIC_CYCLE, METRIC_WON_DEAL

# Segment-comparison metrics and the published benchmark each one is compared with.
_BENCHMARK_METRIC = {
    METRIC_WIN_RATE: METRIC_WIN_RATE,
    METRIC_CYCLE: METRIC_CYCLE_DAYS,
    METRIC_WON_DEAL: METRIC_DEAL_SIZE,
}


def segment_measures(comparison: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """A two-segment comparison's win rate, cycle time and deal size as benchmark measures.

    Parameters
    ----------
    comparison : pandas.DataFrame
        ``metric, value_a, value_b, ...`` of segments ``a`` and ``b``
        (:meth:`SegmentComparison.to_frame`).
    a, b : str
        The two segments, in the order of ``value_a`` and ``value_b``.

    Returns
    -------
    pandas.DataFrame
        ``metric, stage, segment, value``: one row per benchmarked metric and
        segment (the median days to close is compared with the published
        cycle length, the mean won amount with the average deal size).
    """
    rows = comparison[comparison[c.METRIC].isin(list(_BENCHMARK_METRIC))]
    ours = [
        {
            c.METRIC: _BENCHMARK_METRIC[r[c.METRIC]],
            c.STAGE: None,
            c.SEGMENT: segment,
            VALUE: r[value],
        }
        for _, r in rows.iterrows()
        for segment, value in ((a, c.VALUE_A), (b, c.VALUE_B))
    ]
    return pd.DataFrame(ours)
