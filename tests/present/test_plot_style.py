"""Tests for analysis.present.plot_style: interval bars matplotlib accepts, finding titles."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.text import Text
from statsmodels.stats.proportion import proportion_confint

from analysis.present.plot_style import (
    TITLE_CHARS,
    clear_extreme,
    error_bars,
    finding_title,
    leader_title,
    points_with_intervals,
    wrap_title,
)


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


def test_wrap_title_keeps_a_finding_to_two_lines():
    # 80 characters at 50 per line: two lines, broken at a space, case kept.
    text = "B2B deals take 9.1× as long to close as B2C deals (median 18 vs 1.9 days) here"
    lines = wrap_title(text).splitlines()
    assert len(lines) == 2 and all(len(line) <= TITLE_CHARS for line in lines)
    assert " ".join(lines) == text
    # A label from the data too long for two lines is cut with an ellipsis, never a third line.
    long = "Top loss reason: " + "very-long-reason-" * 12
    wrapped = wrap_title(long).splitlines()
    assert len(wrapped) == 2 and wrapped[-1].endswith("…")
    assert all(len(line) <= TITLE_CHARS for line in wrapped)
    assert wrap_title("Short") == "Short"


def test_clear_extreme_needs_an_interval_clear_of_every_other():
    values = pd.Series([0.8, 0.5, 0.7], index=["a", "b", "c"])
    lows = pd.Series([0.75, 0.45, 0.62], index=values.index)
    highs = pd.Series([0.85, 0.55, 0.78], index=values.index)
    assert clear_extreme(values, lows, highs, largest=False) == "b"  # 0.55 < 0.62
    assert clear_extreme(values, lows, highs) is None  # a's 0.75 < c's 0.78: overlap
    assert clear_extreme(values[:1], lows[:1], highs[:1]) is None  # one point: no leader
    highs_nan = highs.copy()
    highs_nan["c"] = np.nan  # a row without an interval takes no part
    assert clear_extreme(values, lows, highs_nan) == "a"  # 0.75 > 0.55


def test_leader_title_forms():
    assert leader_title({}, 2, "segment", "Top", "of x") is None
    assert leader_title({None: ("p", "5%")}, 1, None, "Top", "of x") == "Top: p (5% of x)"
    assert leader_title({"B2B": ("p", "5%")}, 2, "segment", "Top", "of x") == (
        "Top in B2B: p (5% of x)"
    )
    same = {"B2B": ("p", "5%"), "B2C": ("p", "7%")}
    assert leader_title(same, 2, "segment", "Top", "of x") == (
        "Top in both segments: p (B2B 5%, B2C 7% of x)"
    )
    # Two of three regions with the same leader: listed, not "in all regions".
    assert (
        leader_title(same, 3, "region", "Top", "of x") == "Top: p in B2B (5% of x), p in B2C (7%)"
    )
    three = {"a": ("p", "1%"), "b": ("q", "2%"), "c": ("r", "3%")}
    assert leader_title(three, 3, "region", "Top", "of x") is None


def test_finding_title_is_plain_text_with_its_note_under_it():
    # Two "$" in a label from the data would make matplotlib typeset the text between them
    # as mathematics ("\\x" is then an error); the finding is drawn as written.
    finding = "Top loss reason: $5k \\x$ (40% of lost deals)"
    fig, ax = plt.subplots()
    finding_title(fig, finding, "95% intervals", ax)
    fig.canvas.draw()
    (title,) = [t for t in fig.get_children() if isinstance(t, Text) and t.get_text() == finding]
    assert not title.get_parse_math()
    assert ax.get_title() == "95% intervals"
    plt.close(fig)
