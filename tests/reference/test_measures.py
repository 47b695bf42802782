"""Tests for analysis.reference.measures: our win rates in the benchmark comparison's shape."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.reference.benchmarks import VALUE
from analysis.reference.measures import win_rate_measures


def test_win_rates_become_one_measure_per_segment_with_their_interval():
    # Hand-built win-rate table (the columns pipeline.win_rates gives, plus extras).
    rates = pd.DataFrame(
        {
            c.SEGMENT: [c.B2B, c.B2C],
            c.WIN_RATE: [0.25, 0.5],
            c.CI_LOW: [0.2, 0.4],
            c.CI_HIGH: [0.3, 0.6],
            c.N_WON: [10, 20],
        }
    )
    measures = win_rate_measures(rates)
    assert list(measures.columns) == [c.METRIC, c.STAGE, c.SEGMENT, VALUE, c.CI_LOW, c.CI_HIGH]
    assert measures[c.METRIC].tolist() == ["win_rate", "win_rate"]
    assert measures[c.STAGE].isna().all()
    assert measures[VALUE].tolist() == [0.25, 0.5] and measures[c.CI_HIGH].tolist() == [0.3, 0.6]
