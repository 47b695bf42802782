"""Tests for analysis.experiments.plots: titles that state the forest plot's and curves' finding.

Expected titles are hand calculations on the tiny frames below; overlapping
intervals give the neutral title.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.experiments import columns as c
from analysis.experiments import plots
from analysis.experiments.timing import SHARE_CONVERTED
from analysis.present.plot_style import wrap_title


def _effects(rows: list[tuple]) -> pd.DataFrame:
    """Comparison rows from (variant, difference, diff_ci_low, diff_ci_high), after a control A."""
    control = [("t1", "A", True, np.nan, np.nan, np.nan)]
    variants = [("t1", v, False, d, lo, hi) for v, d, lo, hi in rows]
    cols = [c.EXPERIMENT_ID, c.VARIANT, c.IS_CONTROL, c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH]
    return pd.DataFrame(control + variants, columns=cols)


def test_forest_title_names_the_one_variant_whose_interval_excludes_zero():
    # B: +0.061 with [0.01, 0.11], above 0: 6.1 points rounds to 6 points better.
    assert plots.forest_title(_effects([("B", 0.061, 0.01, 0.11)])) == (
        "t1 B converts 6 points better than its control"
    )
    # A difference under a point keeps its decimal: -0.004 -> 0.4 points worse.
    assert plots.forest_title(_effects([("B", -0.004, -0.007, -0.001)])) == (
        "t1 B converts 0.4 points worse than its control"
    )


def test_forest_title_counts_several_and_falls_back_when_every_interval_holds_zero():
    # B above 0, C below 0, D's interval [-0.02, 0.04] holds 0: 2 of 3, 1 better and 1 worse.
    several = _effects(
        [("B", 0.05, 0.01, 0.09), ("C", -0.04, -0.07, -0.01), ("D", 0.01, -0.02, 0.04)]
    )
    assert plots.forest_title(several) == (
        "2 of 3 variants convert clearly differently from their control: 1 better, 1 worse"
    )
    none = _effects([("B", 0.02, -0.03, 0.07), ("C", -0.01, -0.05, 0.03)])
    assert plots.forest_title(none) == (
        "No variant converts clearly better or worse than its control"
    )
    assert plots.forest_title(_effects([("B", 0.02, -0.03, 0.07)])) == (
        "The variant does not convert clearly better or worse than its control"
    )
    assert plots.forest_title(_effects([])) == "Difference in conversion against control"
    fig = plots.forest_plot(several)
    assert fig.get_suptitle() == wrap_title(plots.forest_title(several))
    plt.close(fig)


def _curves(a_rows: list[tuple], b_rows: list[tuple]) -> pd.DataFrame:
    """Curves from (days, share_converted, ci_low, ci_high) per variant A and B."""
    cols = [c.DAYS, SHARE_CONVERTED, c.CI_LOW, c.CI_HIGH]
    a = pd.DataFrame(a_rows, columns=cols).assign(**{c.VARIANT: "A"})
    b = pd.DataFrame(b_rows, columns=cols).assign(**{c.VARIANT: "B"})
    return pd.concat([a, b], ignore_index=True)


def test_time_to_conversion_title_compares_at_the_last_day_both_curves_reach():
    # B's curve ends at day 20, so A is read at its last step up to day 20 (day 10: 20%
    # [0.15, 0.25]); B at day 20 has 50% [0.44, 0.56], above A's interval.
    a = [(0, 0.0, 0.0, 0.0), (10, 0.2, 0.15, 0.25), (30, 0.6, 0.5, 0.7)]
    b = [(0, 0.0, 0.0, 0.0), (12, 0.4, 0.33, 0.47), (20, 0.5, 0.44, 0.56)]
    assert plots.time_to_conversion_title(_curves(a, b), "t1") == (
        "t1: B has converted more than A by day 20 (50% vs 20%)"
    )
    # B's lower bound 0.24 falls inside A's interval: no finding.
    b_close = [*b[:2], (20, 0.5, 0.24, 0.76)]
    assert plots.time_to_conversion_title(_curves(a, b_close), "t1") == (
        "t1: share of deals converted by days in the test"
    )
    one = _curves(a, [])
    assert plots.time_to_conversion_title(one) == "share of deals converted by days in the test"
    fig = plots.time_to_conversion_chart(_curves(a, b), "t1")
    assert fig.get_suptitle() == wrap_title(plots.time_to_conversion_title(_curves(a, b), "t1"))
    plt.close(fig)
