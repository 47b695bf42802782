"""Charts for B2B against B2C: each metric by segment with its interval, titled by the finding."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from analysis.present.plot_style import PALETTE, error_bars, finding_title, percent, short_label
from analysis.segments import columns as c
from analysis.segments.compare import METRIC_CONVERSION, METRIC_WIN_RATE, SegmentComparison


def segment_title(comparison: SegmentComparison) -> str:
    """The finding of :func:`segment_chart`: the clearest gap between the two segments.

    The win rate when its difference is significant (its interval, which
    inverts the test, excludes 0); otherwise the stage with the largest
    conversion gap among those whose p-value adjusted across stages is below
    the comparison's ``alpha``; otherwise only what is drawn.
    """
    t = comparison.table
    a, b = short_label(comparison.a, 16), short_label(comparison.b, 16)
    neutral = f"Win rate and stage conversion, {a} and {b}"

    def gap(row: pd.Series) -> tuple[str, str, str, str]:
        # (higher segment, its rate, lower segment, its rate)
        if row[c.VALUE_A] >= row[c.VALUE_B]:
            return a, percent(row[c.VALUE_A]), b, percent(row[c.VALUE_B])
        return b, percent(row[c.VALUE_B]), a, percent(row[c.VALUE_A])

    win = t[(t[c.METRIC] == METRIC_WIN_RATE) & t[c.DIFF_CI_LOW].notna()]
    if len(win):
        row = win.iloc[0]
        if row[c.DIFF_CI_LOW] > 0 or row[c.DIFF_CI_HIGH] < 0:
            high, high_rate, low, low_rate = gap(row)
            return f"{high} wins more of its closed deals than {low} ({high_rate} vs {low_rate})"
    stages = t[(t[c.METRIC] == METRIC_CONVERSION) & (t[c.P_ADJUSTED] < comparison.alpha)]
    if len(stages):
        row = stages.loc[stages[c.DIFFERENCE].abs().idxmax()]
        high, high_rate, low, low_rate = gap(row)
        stage = short_label(row[c.STAGE], 20)
        return f"{high} converts more at {stage} than {low} ({high_rate} vs {low_rate} advance)"
    return neutral


def segment_chart(comparison: SegmentComparison) -> Figure:
    """Win rate and stage conversion of two segments with intervals, side by side.

    Titled by :func:`segment_title`.
    """
    sns.set_theme(style="whitegrid", palette=PALETTE)
    t = comparison.table
    rows = t[t[c.METRIC].isin([METRIC_WIN_RATE, METRIC_CONVERSION])].copy()
    labels = np.where(rows[c.METRIC] == METRIC_WIN_RATE, "win rate", rows[c.STAGE])
    fig, ax = plt.subplots(figsize=(8.0, 4.4), layout="constrained")
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
    ax.set_ylabel("rate")
    ax.legend()
    finding_title(fig, segment_title(comparison), "95% intervals", ax)
    return fig
