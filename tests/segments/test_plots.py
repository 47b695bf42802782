"""Tests for analysis.segments.plots: the title of the B2B-against-B2C chart.

Expected titles are hand calculations on the tiny comparison tables below.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.present.plot_style import wrap_title
from analysis.segments import columns as c
from analysis.segments import plots
from analysis.segments.compare import METRIC_CONVERSION, METRIC_WIN_RATE, SegmentComparison

COLS = [c.METRIC, c.STAGE, c.VALUE_A, c.CI_LOW_A, c.CI_HIGH_A, c.VALUE_B, c.CI_LOW_B,
        c.CI_HIGH_B, c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH, c.P_ADJUSTED]  # fmt: skip


def _comparison(rows: list[tuple]) -> SegmentComparison:
    return SegmentComparison(pd.DataFrame(rows, columns=COLS), c.B2B, c.B2C, 0.05)


WIN_CLEAR = (METRIC_WIN_RATE, "", 0.09, 0.07, 0.10, 0.13, 0.12, 0.15, -0.04, -0.07, -0.02, 0.001)
WIN_UNCLEAR = (METRIC_WIN_RATE, "", 0.12, 0.09, 0.15, 0.13, 0.11, 0.15, -0.01, -0.04, 0.02, 0.5)
PROPOSAL = (METRIC_CONVERSION, "proposal", 0.64, 0.58, 0.70, 0.72, 0.68, 0.76, -0.08, -0.15,
            -0.01, 0.01)  # fmt: skip
NEGOTIATION = (METRIC_CONVERSION, "negotiation", 0.60, 0.50, 0.70, 0.75, 0.70, 0.80, -0.15,
               -0.27, -0.03, 0.2)  # fmt: skip


def test_segment_title_states_a_significant_gap():
    # Win rate: B2B - B2C = -0.04 with interval [-0.07, -0.02], below 0: B2C wins more.
    assert plots.segment_title(_comparison([WIN_CLEAR, PROPOSAL])) == (
        "B2C wins more of its closed deals than B2B (13% vs 9%)"
    )
    # Win rate not different; of the stages only proposal has adjusted p < 0.05 (negotiation's
    # gap is larger but p = 0.2), so proposal is named: 72% against 64%.
    assert plots.segment_title(_comparison([WIN_UNCLEAR, PROPOSAL, NEGOTIATION])) == (
        "B2C converts more at proposal than B2B (72% vs 64% advance)"
    )


def test_segment_title_falls_back_without_a_significant_gap():
    neutral = _comparison([WIN_UNCLEAR, NEGOTIATION])
    assert plots.segment_title(neutral) == "Win rate and stage conversion, B2B and B2C"
    no_rate = (METRIC_WIN_RATE, "", np.nan, np.nan, np.nan, 0.13, 0.11, 0.15, np.nan, np.nan,
               np.nan, np.nan)  # fmt: skip
    assert plots.segment_title(_comparison([no_rate])) == (
        "Win rate and stage conversion, B2B and B2C"
    )
    fig = plots.segment_chart(neutral)
    assert fig.get_suptitle() == wrap_title(plots.segment_title(neutral))
    plt.close(fig)
