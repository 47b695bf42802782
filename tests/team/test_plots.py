"""Tests for analysis.team.plots: titles of the rep funnel plot and of the trend charts.

Expected titles are hand calculations on the tiny frames below; a change is
never claimed when open deals could still close it.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd

from analysis.team import columns as c
from analysis.team import plots


def _reps(positions: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c.N_CLOSED: 50, c.FUNNEL_POSITION: positions})


def test_funnel_plot_title_counts_reps_outside_the_limits_beside_what_chance_gives():
    # 20 reps, 2 above and 1 below; at alpha = 0.05 chance alone puts 0.05 * 20 = 1 outside.
    positions = ["above", "above", "below"] + ["within"] * 17
    assert plots.funnel_plot_title(_reps(positions)) == (
        "3 of 20 reps are outside their team's 95% limits (2 above, 1 below); "
        "chance puts about 1 there"
    )
    # 5 reps: 0.05 * 5 = 0.25 expected by chance.
    assert plots.funnel_plot_title(_reps(["below"] + ["within"] * 4)) == (
        "1 of 5 reps is outside their team's 95% limits (0 above, 1 below); "
        "chance puts under 1 there"
    )
    assert plots.funnel_plot_title(_reps(["within"] * 6), alpha=0.1) == (
        "All 6 reps are within their team's 90% limits"
    )
    none = pd.DataFrame({c.N_CLOSED: [0], c.FUNNEL_POSITION: [""]})
    assert plots.funnel_plot_title(none) == "Rep win rates against their team's"


def _trend(rows: list[tuple]) -> pd.DataFrame:
    """Monthly trend rows from (month, won, lost, open, win_rate, ci_low, ci_high)."""
    cols = ["month", c.N_WON, c.N_LOST, c.N_OPEN, c.WIN_RATE, c.CI_LOW, c.CI_HIGH]
    frame = pd.DataFrame(rows, columns=cols)
    frame[c.PERIOD] = pd.to_datetime(frame.pop("month")).dt.tz_localize("UTC")
    deals = frame[c.N_WON] + frame[c.N_LOST] + frame[c.N_OPEN]
    return frame.assign(**{c.OPEN_SHARE: frame[c.N_OPEN] / deals})


FIRST = ("2025-01-01", 20, 180, 0, 0.10, 0.066, 0.149)
MIDDLE = ("2025-02-01", 30, 170, 0, 0.15, 0.107, 0.206)


def test_trend_title_states_a_rise_between_the_first_and_last_readable_periods():
    # Apr: 60 of 200 = 30% [0.24, 0.37], above Jan's [0.066, 0.149]. May has half its deals
    # open (share 0.5 > 0.2) and reads 0%: it is not the last readable period.
    rows = [FIRST, MIDDLE, ("2025-04-01", 60, 140, 0, 0.30, 0.24, 0.37),
            ("2025-05-01", 0, 100, 100, 0.0, 0.0, 0.037)]  # fmt: skip
    assert plots.trend_title(_trend(rows), c.WIN_RATE, by=None) == (
        "Win rate rose from 10% (Jan 2025) to 30% (Apr 2025)"
    )


def test_trend_title_claims_no_change_that_open_deals_could_undo():
    # Apr: 34 of 170 closed = 20% [0.15, 0.26], whose lower bound is above Jan's 0.149 — but
    # 30 deals are open; if all were lost the rate would be 0.15 * 170 / 200 = 0.1275 < 0.149.
    rows = [FIRST, MIDDLE, ("2025-04-01", 34, 136, 30, 0.20, 0.15, 0.26)]
    assert plots.trend_title(_trend(rows), c.WIN_RATE, by=None) == (
        "Win rate of deals created each month"
    )
    # Quarterly periods are named as quarters; one period is no trend.
    quarterly = _trend([FIRST, ("2025-04-01", 20, 180, 0, 0.10, 0.066, 0.149)])
    assert plots.trend_title(quarterly.iloc[:1], c.WIN_RATE, by=None) == (
        "Win rate of deals created each month"
    )
    assert plots.trend_title(quarterly, c.WIN_RATE, by=None) == (
        "Win rate of deals created each quarter"
    )
