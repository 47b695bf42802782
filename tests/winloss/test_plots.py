"""Tests for analysis.winloss.plots: titles that state the finding of each win/loss chart.

Expected titles are hand calculations on the tiny frames below; overlapping
intervals give the neutral title.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.present.plot_style import wrap_title
from analysis.winloss import columns as c
from analysis.winloss import plots


def _terms(rows: list[tuple]) -> pd.DataFrame:
    cols = [c.TERM, c.REFERENCE_LEVEL, c.ODDS_RATIO, c.CI_LOW, c.CI_HIGH, c.P_ADJUSTED]
    return pd.DataFrame(rows, columns=cols)


TERMS = [
    ("x=1", "0", 2.0, 1.5, 2.7, 0.001),
    ("y=1", "0", 0.4, 0.25, 0.64, 0.0001),
    ("z=1", "0", 1.1, 0.9, 1.3, 0.4),
    ("x=0", "0", 1.0, np.nan, np.nan, np.nan),  # reference level: no estimate, not counted
]


def test_odds_ratio_title_counts_clear_terms_and_names_the_largest_estimate():
    # x and y have adjusted p < 0.05; |log 0.4| = 0.92 > |log 2| = 0.69, so y is named.
    assert plots.odds_ratio_title(_terms(TERMS)) == (
        "2 of 3 terms clearly change the odds of winning; largest: y=1 (0.4×)"
    )
    assert plots.odds_ratio_title(_terms([TERMS[0], TERMS[2]])) == (
        "1 of 2 terms clearly changes the odds of winning: x=1 (2×)"
    )
    # Without adjusted p-values, an interval that excludes 1 counts (x and y again).
    bare = _terms(TERMS).drop(columns=[c.P_ADJUSTED])
    assert plots.odds_ratio_title(bare).startswith("2 of 3 terms")


def test_odds_ratio_title_falls_back_when_no_term_is_clear():
    unclear = [TERMS[2], ("w=1", "0", 1.4, 0.95, 2.1, 0.2)]
    assert plots.odds_ratio_title(_terms(unclear)) == (
        "No deal attribute clearly changes the odds of winning"
    )
    assert plots.odds_ratio_title(_terms(TERMS[3:])) == "Odds ratios of winning"
    fig = plots.odds_ratio_forest(_terms(TERMS))
    assert fig.get_suptitle() == wrap_title(plots.odds_ratio_title(_terms(TERMS)))
    plt.close(fig)


def _pareto(rows: list[tuple]) -> pd.DataFrame:
    cols = [c.SEGMENT, c.LOSS_REASON, c.SHARE, c.CI_LOW, c.CI_HIGH]
    return pd.DataFrame(rows, columns=cols).assign(**{c.CUMULATIVE_SHARE: np.nan})


B2B = [("B2B", "price", 0.5, 0.45, 0.55), ("B2B", "timing", 0.3, 0.25, 0.35),
       ("B2B", "other", 0.2, 0.15, 0.25)]  # fmt: skip


def test_pareto_title_names_a_clear_top_reason_per_segment():
    # B2B: price's lower bound 0.45 is above timing's upper bound 0.35. B2C: price [0.35, 0.45]
    # and timing [0.33, 0.43] overlap, so only B2B is named.
    b2c_close = [("B2C", "price", 0.4, 0.35, 0.45), ("B2C", "timing", 0.38, 0.33, 0.43)]
    assert plots.pareto_title(_pareto(B2B + b2c_close), c.SEGMENT) == (
        "Top loss reason in B2B: price (50% of lost deals)"
    )
    b2c_price = [("B2C", "price", 0.6, 0.55, 0.65), ("B2C", "timing", 0.4, 0.35, 0.45)]
    assert plots.pareto_title(_pareto(B2B + b2c_price), c.SEGMENT) == (
        "Top loss reason in both segments: price (B2B 50%, B2C 60% of lost deals)"
    )
    b2c_timing = [("B2C", "timing", 0.6, 0.55, 0.65), ("B2C", "price", 0.4, 0.35, 0.45)]
    assert plots.pareto_title(_pareto(B2B + b2c_timing), c.SEGMENT) == (
        "Top loss reason: price in B2B (50% of lost deals), timing in B2C (60%)"
    )
    assert plots.pareto_title(_pareto(b2c_close), c.SEGMENT) == (
        "Share of lost deals by loss reason"
    )
    fig = plots.pareto_chart(_pareto(B2B), c.SEGMENT)
    assert fig.get_suptitle() == "Top loss reason in B2B: price (50% of lost deals)"  # 49 chars
    plt.close(fig)


def _shares(rows: list[tuple]) -> pd.DataFrame:
    cols = [c.OUTCOME, c.THEME, c.SHARE, c.CI_LOW, c.CI_HIGH]
    return pd.DataFrame(rows, columns=cols).assign(**{c.N_COMMENTS: 100})


def test_theme_share_title_names_the_widest_clear_gap_between_outcomes():
    # price: 0.40 lost vs 0.20 won (gap 0.20); support: 0.35 won vs 0.10 lost (gap 0.25);
    # both gaps are clear (0.35 > 0.25, 0.30 > 0.13), support's is wider.
    rows = [
        ("lost", "price", 0.40, 0.35, 0.45), ("won", "price", 0.20, 0.15, 0.25),
        ("lost", "support", 0.10, 0.07, 0.13), ("won", "support", 0.35, 0.30, 0.40),
    ]  # fmt: skip
    assert plots.theme_share_title(_shares(rows)) == (
        "35% of won and 10% of lost comments mention support"
    )
    overlap = [rows[0], ("won", "price", 0.30, 0.25, 0.36)]
    assert plots.theme_share_title(_shares(overlap)) == "Share of comments mentioning each theme"
    # One group: the most mentioned theme when it is clear of the others.
    lost = [r for r in rows if r[0] == "lost"]
    assert plots.theme_share_title(_shares(lost)) == (
        "Most mentioned theme: price (40% of comments)"
    )
    fig = plots.theme_share_chart(_shares(rows))
    assert fig.get_suptitle() == wrap_title(plots.theme_share_title(_shares(rows)))
    plt.close(fig)
