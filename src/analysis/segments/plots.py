"""Charts for B2B against B2C: each metric by segment with its interval."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from analysis.present.plot_style import PALETTE, error_bars
from analysis.segments import columns as c
from analysis.segments.compare import METRIC_CONVERSION, METRIC_WIN_RATE, SegmentComparison


def segment_chart(comparison: SegmentComparison) -> Figure:
    """Win rate and stage conversion of two segments with intervals, side by side."""
    sns.set_theme(style="whitegrid", palette=PALETTE)
    t = comparison.table
    rows = t[t[c.METRIC].isin([METRIC_WIN_RATE, METRIC_CONVERSION])].copy()
    labels = np.where(rows[c.METRIC] == METRIC_WIN_RATE, "win rate", rows[c.STAGE])
    fig, ax = plt.subplots(figsize=(8.0, 3.8), layout="constrained")
    x = np.arange(len(rows))
    for offset, (seg, v, lo, hi) in zip(
        (-0.15, 0.15),
        (
            (comparison.a, c.VALUE_A, c.CI_LOW_A, c.CI_HIGH_A),
            (comparison.b, c.VALUE_B, c.CI_LOW_B, c.CI_HIGH_B),
        ),
        strict=True,
    ):
        y = rows[v].to_numpy(dtype=float)
        err = error_bars(y, rows[lo], rows[hi])
        ax.errorbar(x + offset, y, yerr=err, fmt="o", capsize=3, label=seg)
    ax.set_xticks(x, labels, rotation=20)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("rate (95% interval)")
    ax.legend()
    return fig
