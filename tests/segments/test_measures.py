"""Tests for analysis.segments.measures: a segment comparison as benchmark measures."""

from __future__ import annotations

import pandas as pd

from analysis.reference.benchmarks import VALUE
from analysis.segments import columns as c
from analysis.segments.measures import segment_measures


def test_benchmarked_metrics_become_one_row_per_segment():
    # Hand-built comparison: three benchmarked metrics and one that has no benchmark.
    comparison = pd.DataFrame(
        {
            c.METRIC: ["win_rate", "median_days_to_close", "mean_won_amount", "conversion"],
            c.VALUE_A: [0.2, 40.0, 9000.0, 0.5],
            c.VALUE_B: [0.3, 5.0, 800.0, 0.6],
        }
    )
    measures = segment_measures(comparison, "B2B", "B2C")
    assert list(measures.columns) == [c.METRIC, c.STAGE, c.SEGMENT, VALUE]
    # The benchmark names: win_rate, sales_cycle_days, avg_deal_size (config/benchmarks.yaml).
    assert measures[c.METRIC].tolist() == [
        "win_rate", "win_rate", "sales_cycle_days", "sales_cycle_days",
        "avg_deal_size", "avg_deal_size",
    ]  # fmt: skip
    assert measures[c.SEGMENT].tolist() == ["B2B", "B2C"] * 3
    assert measures[VALUE].tolist() == [0.2, 0.3, 40.0, 5.0, 9000.0, 800.0]
    assert measures[c.STAGE].isna().all()
