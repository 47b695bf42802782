"""Tests for analysis.pipeline.plots: the funnel chart and the titles that state each chart's finding.

Expected titles are hand calculations on the tiny frames built here (noted
beside each); the neutral fallbacks are checked where the intervals overlap or
there is a single point.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import analysis
from analysis.core import columns as c
from analysis.pipeline import cycle
from analysis.pipeline import plots as p
from analysis.pipeline.funnel import stage_conversion
from analysis.present.plot_style import wrap_title


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _conversion(rows: list[tuple], group: str | None = None) -> pd.DataFrame:
    """A stage_conversion-like frame from (stage, entered, conversion, ci_low, ci_high, mature)."""
    cols = [c.STAGE, c.N_ENTERED, c.CONVERSION, c.CI_LOW, c.CI_HIGH, c.MATURE]
    frame = pd.DataFrame(rows, columns=cols)
    if group is not None:
        frame.insert(0, c.SEGMENT, group)
    return frame


# Three stages; b converts worst and its interval [0.45, 0.55] lies below a's [0.75, 0.85]
# and c's [0.62, 0.78].
B2B = [("a", 200, 0.80, 0.75, 0.85, True), ("b", 120, 0.50, 0.45, 0.55, True),
       ("c", 50, 0.70, 0.62, 0.78, True)]  # fmt: skip
B2C = [("a", 400, 0.60, 0.50, 0.70, True), ("b", 100, 0.40, 0.35, 0.45, True),
       ("c", 40, 0.90, 0.85, 0.95, True)]  # fmt: skip


def test_stage_conversion_title_names_the_clearly_weakest_step():
    # b (50%, upper bound 0.55) lies below every other lower bound (0.62, 0.75); b is followed by c.
    assert p.stage_conversion_title(_conversion(B2B), None) == "Weakest step: b → c (50% advance)"
    # The same step is clearly weakest in both segments (B2C: 0.45 < 0.50 and 0.85).
    both = pd.concat([_conversion(B2B, "B2B"), _conversion(B2C, "B2C")], ignore_index=True)
    assert p.stage_conversion_title(both) == (
        "Weakest step in both segments: b → c (B2B 50%, B2C 40% advance)"
    )
    # The last open stage is followed by won.
    last = [B2B[0], B2B[1][:2] + (0.9, 0.85, 0.95, True), ("c", 50, 0.3, 0.2, 0.4, True)]
    assert p.stage_conversion_title(_conversion(last), None) == (
        "Weakest step: c → won (30% advance)"
    )


def test_stage_conversion_title_is_neutral_when_intervals_overlap_or_one_point():
    # b's upper bound 0.65 now reaches into c's interval [0.62, 0.78]: no clear weakest step;
    # the title gives the range of the rates, 50% to 80%.
    overlap = [B2B[0], ("b", 120, 0.50, 0.45, 0.65, True), B2B[2]]
    assert p.stage_conversion_title(_conversion(overlap), None) == (
        "Between 50% and 80% of decided deals advance at each stage"
    )
    # An immature row (many deals still open) is never named: without b, a and c overlap.
    immature = [B2B[0], B2B[1][:5] + (False,), B2B[2]]
    assert p.stage_conversion_title(_conversion(immature), None) == (
        "Between 50% and 80% of decided deals advance at each stage"
    )
    assert p.stage_conversion_title(_conversion(B2B[:1]), None) == "Stage conversion"
    assert p.stage_conversion_title(_conversion([]), None) == "Stage conversion"


def test_stage_conversion_title_names_only_the_segment_with_a_clear_step():
    # B2C's b interval [0.35, 0.60] overlaps a's [0.50, 0.70]: only B2B is named.
    b2c = [B2C[0], ("b", 100, 0.40, 0.35, 0.60, True), B2C[2]]
    both = pd.concat([_conversion(B2B, "B2B"), _conversion(b2c, "B2C")], ignore_index=True)
    assert p.stage_conversion_title(both) == "Weakest step in B2B: b → c (50% advance)"


def test_funnel_title_states_the_share_that_reached_the_last_stage():
    # 50 of 200 = 25% (B2B) and 40 of 400 = 10% (B2C) reached c.
    assert p.funnel_title(_conversion(B2B), None) == "25% of deals that entered a have reached c"
    both = pd.concat([_conversion(B2B, "B2B"), _conversion(B2C, "B2C")], ignore_index=True)
    assert p.funnel_title(both) == "25% of B2B and 10% of B2C deals that entered a have reached c"
    # One stage, or nobody at the first: nothing to state.
    assert p.funnel_title(_conversion(B2B[:1]), None) == "Deals reaching each stage"
    assert p.funnel_title(_conversion([("a", 0, np.nan, np.nan, np.nan, False), B2B[1]]), None) == (
        "Deals reaching each stage"
    )


def _bars(ax) -> list[tuple[float, float]]:
    """(left edge, width) of each bar, top to bottom."""
    rects = sorted(ax.patches, key=lambda r: r.get_y())
    return [(r.get_x(), r.get_width()) for r in rects]


def test_funnel_chart_draws_one_centred_bar_per_stage_with_the_entered_counts():
    both = pd.concat([_conversion(B2B, "B2B"), _conversion(B2C, "B2C")], ignore_index=True)
    fig = p.funnel_chart(both)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["B2B", "B2C"]  # one funnel per segment
    for ax, rows in zip(axes, (B2B, B2C), strict=True):
        widths = [w for _, w in _bars(ax)]
        assert widths == [float(r[1]) for r in rows]  # one bar per stage, width = entered
        assert all(left == -w / 2 for left, w in _bars(ax))  # centred like a funnel
        assert list(ax.get_yticks()) == [0, 1, 2]
    # Same stages in both panels: named once, on the left.
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["a", "b", "c"]
    assert not axes[1].get_yticklabels()
    texts = {t.get_text() for t in axes[0].texts}
    # Count and share of the first stage (120 / 200 = 60%), step conversions between bars.
    assert {"200 (100%)", "120 (60%)", "50 (25%)", "↓ 80%", "↓ 50%", "↓ 70% won"} <= texts
    assert fig.get_suptitle() == wrap_title(p.funnel_title(both))


def test_funnel_chart_marks_immature_steps_and_says_when_there_is_nothing_to_draw():
    immature = [B2B[0], B2B[1][:5] + (False,), B2B[2]]
    fig = p.funnel_chart(_conversion(immature), None)
    assert "↓ 50%*" in {t.get_text() for t in fig.get_axes()[0].texts}
    empty = p.funnel_chart(_conversion([]), None)
    (ax,) = empty.get_axes()
    assert not ax.patches and not ax.axison
    assert [t.get_text() for t in ax.texts] == ["No deal reached any stage."]
    assert empty.get_suptitle() == "Deals reaching each stage"


def test_funnel_chart_refuses_a_period_split():
    frame = _conversion(B2B).assign(**{c.PERIOD: pd.Timestamp("2025-01-01", tz="UTC")})
    with pytest.raises(ValueError, match="without period"):
        p.funnel_chart(frame, None)


def test_funnel_chart_draws_the_entered_counts_of_stage_conversion(processed_folder):
    # Planted-data check: the bars are stage_conversion's own entered counts, per segment.
    ws = analysis.connect(processed_folder)
    conversion = stage_conversion(ws, c.SEGMENT).to_frame()
    fig = p.funnel_chart(conversion)
    for ax in fig.get_axes():
        part = conversion[conversion[c.SEGMENT] == ax.get_title()]
        assert [w for _, w in _bars(ax)] == part[c.N_ENTERED].astype(float).tolist()
    assert len(fig.get_suptitle().splitlines()) <= 2


def _stays(rows: list[tuple], group: str | None = None) -> pd.DataFrame:
    cols = [c.STAGE, cycle.MEDIAN_DAYS, cycle.MEDIAN_CI_LOW, cycle.MEDIAN_CI_HIGH]
    frame = pd.DataFrame(rows, columns=cols)
    return frame if group is None else frame.assign(**{c.SEGMENT: group})


def test_time_in_stage_title():
    # b's interval [8, 12] lies above a's [1.5, 2.5] and c's [3, 5]: the longest stay.
    clear = [("a", 2.0, 1.5, 2.5), ("b", 10.0, 8.0, 12.0), ("c", 4.0, 3.0, 5.0)]
    assert p.time_in_stage_title(_stays(clear), None) == "Longest median stay: b (10 days)"
    # b's lower bound 4.5 reaches into c's [3, 5]: only the range of the medians, 2.0 to 10.
    overlap = [clear[0], ("b", 10.0, 4.5, 12.0), clear[2]]
    assert p.time_in_stage_title(_stays(overlap), None) == (
        "Median time in a stage ranges from 2.0 to 10 days"
    )
    two = pd.concat([_stays(overlap, "B2B"), _stays(overlap, "B2C")], ignore_index=True)
    assert p.time_in_stage_title(two) == (
        "Median time in a stage: 2.0–10 days in B2B, 2.0–10 days in B2C"
    )
    assert p.time_in_stage_title(_stays(clear[:1]), None) == "Median days in each stage"


def _medians(rows: list[tuple]) -> pd.DataFrame:
    cols = [c.SEGMENT, cycle.KM_MEDIAN_DAYS, cycle.KM_MEDIAN_CI_LOW, cycle.KM_MEDIAN_CI_HIGH]
    return pd.DataFrame(rows, columns=cols)


def test_time_to_close_title():
    # 30 / 10 = 3.0; B2B's lower bound 25 lies above B2C's upper bound 12.
    apart = _medians([("B2B", 30.0, 25.0, 36.0), ("B2C", 10.0, 8.0, 12.0)])
    assert p.time_to_close_title(apart) == (
        "B2B deals take 3.0× as long to close as B2C deals (median 30 vs 10 days)"
    )
    # B2C's upper bound 26 reaches B2B's lower bound 25: no ratio claimed, medians only.
    close = _medians([("B2B", 30.0, 25.0, 36.0), ("B2C", 10.0, 8.0, 26.0)])
    assert p.time_to_close_title(close) == "Median days to close: B2B 30, B2C 10"
    one = _medians([("all", 5.6, 5.3, 5.9)]).drop(columns=[c.SEGMENT])
    assert p.time_to_close_title(one, None) == (
        "Half of the deals close, won or lost, within 5.6 days"
    )
    unknown = _medians([("B2B", np.nan, np.nan, np.nan)])
    assert p.time_to_close_title(unknown) == "Fewer than half of the deals have closed so far"
    assert p.time_to_close_title(None) == "Deals won, lost and still open by days since created"
