"""Charts of team performance, trends and the B2B/B2C comparison (results in, figures out).

Each function takes a computed result — never raw rows — and returns a
matplotlib Figure, styled like :mod:`analysis.present.plots`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from analysis.present.plot_style import PALETTE, nothing_to_plot
from analysis.team import columns as c
from analysis.team.performance import RepScorecard

__all__ = ["funnel_plot", "trend_chart"]


def funnel_plot(scorecard: RepScorecard) -> Figure:
    """Each rep's raw win rate against closed deals, with the team's control limits.

    One panel per team: the team rate (line), 95% and 99.8% limits (dashed,
    dotted), reps as points labelled by id. A rep outside the limits differs
    from the team by more than chance; inside, no ranking is warranted.
    """
    sns.set_theme(style="whitegrid", palette=PALETTE)
    table, curves = scorecard.table, scorecard.funnel
    teams = sorted(set(table[c.TEAM]))
    fig, axes = plt.subplots(
        1, max(len(teams), 1), figsize=(4.2 * max(len(teams), 1), 4.0),
        sharey=True, layout="constrained", squeeze=False,
    )  # fmt: skip
    closed = table[table[c.N_CLOSED] > 0]
    if nothing_to_plot(axes[0][0], closed, "No rep has a closed deal in the window."):
        return fig
    for ax, team in zip(axes[0], teams, strict=False):
        curve = curves[curves[c.TEAM] == team]
        reps = table[(table[c.TEAM] == team) & (table[c.N_CLOSED] > 0)]
        ax.plot(curve[c.N_CLOSED], curve[c.TEAM_WIN_RATE], color="black", lw=1)
        ax.plot(curve[c.N_CLOSED], curve[c.LIMIT_LOW], "k--", lw=0.8)
        ax.plot(curve[c.N_CLOSED], curve[c.LIMIT_HIGH], "k--", lw=0.8)
        if "limit_low_999" in curve:
            ax.plot(curve[c.N_CLOSED], curve["limit_low_999"], "k:", lw=0.8)
            ax.plot(curve[c.N_CLOSED], curve["limit_high_999"], "k:", lw=0.8)
        colours = reps[c.FUNNEL_POSITION].map({"below": "C3", "above": "C2"}).fillna("C0")
        ax.scatter(reps[c.N_CLOSED], reps[c.WIN_RATE], c=colours, zorder=3)
        for _, r in reps.iterrows():
            ax.annotate(str(r[c.OWNER_ID]), (r[c.N_CLOSED], r[c.WIN_RATE]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")  # fmt: skip
        ax.set_title(str(team), fontsize=10)
        ax.set_xlabel("closed deals")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes[0][0].set_ylabel("win rate (won / closed)")
    return fig


def trend_chart(trend: pd.DataFrame, value: str = c.WIN_RATE, by: str | None = c.SEGMENT) -> Figure:
    """A measure per period from :func:`analysis.team.history.trend`, with its interval band.

    ``value`` is ``win_rate`` (band ``ci_low``–``ci_high``),
    ``median_cycle_days`` (band from its interval) or any other column (no band).
    """
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(8.0, 3.8), layout="constrained")
    bands = {
        c.WIN_RATE: (c.CI_LOW, c.CI_HIGH),
        c.MEDIAN_CYCLE_DAYS: (c.MEDIAN_CYCLE_CI_LOW, c.MEDIAN_CYCLE_CI_HIGH),
    }
    label = value.replace("_", " ")
    shown = trend.dropna(subset=[value]) if value in trend else trend.iloc[0:0]
    if nothing_to_plot(ax, shown, f"No {label} to show in this data."):  # e.g. no close dates
        return fig
    groups = trend.groupby(by, sort=True) if by and by in trend else [("all", trend)]
    for i, (name, g) in enumerate(groups):
        x = pd.to_datetime(g[c.PERIOD])
        ax.plot(x, g[value], marker="o", color=f"C{i}", label=str(name))
        if value in bands and set(bands[value]) <= set(g.columns):
            lo, hi = bands[value]
            ax.fill_between(x, g[lo].astype(float), g[hi].astype(float), color=f"C{i}", alpha=0.2)
    if value == c.WIN_RATE:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(label)
    ax.legend(title=by if by else None)
    return fig
