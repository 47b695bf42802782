"""Our figures in the shape the benchmark comparison reads: one row per metric and segment.

:func:`analysis.reference.compare_to_benchmarks` takes ``metric, stage,
segment, value`` (and optionally ``ci_low, ci_high``). :func:`win_rate_measures`
turns a win-rate table into that shape, so notebooks do not rename columns
themselves; :func:`analysis.segments.segment_measures` does the same for a
segment comparison.
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.reference.benchmarks import METRIC_WIN_RATE, VALUE


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
