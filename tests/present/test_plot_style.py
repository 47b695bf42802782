"""Tests for analysis.present.plot_style: interval bars matplotlib accepts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from analysis.present.plot_style import error_bars, points_with_intervals


def test_error_bars_are_never_negative_at_a_rate_of_one():
    # statsmodels' Wilson interval for 7 of 7 has upper bound 0.9999999999999999,
    # a rounding error below the estimate 1.0; the bar above is then 0, not -1e-16.
    low, high = proportion_confint(7, 7, method="wilson")
    assert high < 1.0
    bars = error_bars([1.0, 0.5], [low, 0.4], [high, 0.7])
    assert bars.shape == (2, 2)
    assert bars[1, 0] == 0.0 and bars[0, 0] == 1.0 - low  # hand values
    assert np.allclose(bars[:, 1], [0.1, 0.2])
    # A missing bound draws no bar (NaN), not an error.
    assert np.isnan(error_bars([0.5], [np.nan], [0.6])[0, 0])


def test_points_with_intervals_draws_a_rate_of_one():
    # Before the clip, matplotlib raised "'yerr' must not contain negative values".
    low, high = proportion_confint(7, 7, method="wilson")
    frame = pd.DataFrame(
        {"stage": ["a", "b"], "rate": [1.0, 0.5], "lo": [low, 0.3], "hi": [high, 0.7], "g": "x"}
    )
    fig, ax = plt.subplots()
    points_with_intervals(ax, frame, "stage", "rate", "lo", "hi", "g")
    assert len(ax.containers) == 1
    plt.close(fig)
