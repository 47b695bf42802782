"""Charts of team performance, trends and the B2B/B2C comparison (results in, figures out).

Each function takes a computed result — never raw rows — and returns a
matplotlib Figure in the shared style (:mod:`analysis.present.plot_style`),
titled by what it shows (the ``*_title`` functions, from the same result).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from analysis.present.plot_style import (
    PALETTE,
    days,
    finding_title,
    nothing_to_plot,
    percent,
    short_label,
)
from analysis.team import columns as c
from analysis.team.performance import POSITION_ABOVE, POSITION_BELOW, RepScorecard

__all__ = ["funnel_plot", "funnel_plot_title", "trend_chart", "trend_title"]

# A period's win rate is read in a trend title only when at most this share of its
# deals is still open (stage_conversion's max_open_share), and then within bounds
# that let every open deal end either way.
MAX_OPEN_SHARE = 0.2


def funnel_plot_title(table: pd.DataFrame, alpha: float = 0.05) -> str:
    """The finding of :func:`funnel_plot`: how many reps fall outside their team's limits.

    ``table`` is :attr:`RepScorecard.table`. With ``n`` reps that have closed
    deals and limits at level ``1 - alpha``, about ``alpha * n`` reps fall
    outside by chance alone even when every rep is like the team, and the
    title says so beside the count.
    """
    closed = table[table[c.N_CLOSED] > 0] if len(table) else table
    level = f"{100 * (1 - alpha):g}%"
    if closed.empty:
        return "Rep win rates against their team's"
    n = len(closed)
    above = int((closed[c.FUNNEL_POSITION] == POSITION_ABOVE).sum())
    below = int((closed[c.FUNNEL_POSITION] == POSITION_BELOW).sum())
    if above + below == 0:
        return f"All {n} reps are within their team's {level} limits"
    chance = alpha * n
    expected = f"about {chance:.0f}" if chance >= 0.5 else "under 1"
    verb = "is" if above + below == 1 else "are"
    return (
        f"{above + below} of {n} reps {verb} outside their team's {level} limits ({above} above, "
        f"{below} below); chance puts {expected} there"
    )


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
        1, max(len(teams), 1), figsize=(max(6.5, 4.2 * len(teams)), 4.4),
        sharey=True, layout="constrained", squeeze=False,
    )  # fmt: skip
    finding_title(fig, funnel_plot_title(table, scorecard.alpha))
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
    level = f"{100 * (1 - scorecard.alpha):g}%"
    axes[0][0].set_ylabel("win rate (won / closed)")
    fig.supxlabel(
        f"Solid: team win rate; dashed: its {level} limits; dotted: 99.8% limits",
        fontsize="small",
        color="dimgrey",
    )
    return fig


def _readable_bounds(rows: pd.DataFrame, value: str) -> pd.DataFrame:
    """Periods whose ``value`` can be read, with bounds (``lo``, ``hi``) that cover it.

    Win rate: periods with at most :data:`MAX_OPEN_SHARE` of deals open; the
    bounds widen the interval so each open deal may still be won or lost
    (``lo * closed / deals``, ``(hi * closed + open) / deals``), since a young
    cohort's early closes are mostly losses. Median cycle: its interval
    (Kaplan–Meier already counts open deals as still running).
    """
    if value == c.WIN_RATE:
        if c.OPEN_SHARE in rows:
            rows = rows[rows[c.OPEN_SHARE].fillna(1.0) <= MAX_OPEN_SHARE]
        rows = rows.dropna(subset=[value, c.CI_LOW, c.CI_HIGH])
        closed = (rows[c.N_WON] + rows[c.N_LOST]).astype(float)
        total = closed + rows[c.N_OPEN].astype(float)
        lo, hi = (
            rows[c.CI_LOW] * closed / total,
            (rows[c.CI_HIGH] * closed + rows[c.N_OPEN]) / total,
        )
    else:
        rows = rows.dropna(subset=[value, c.MEDIAN_CYCLE_CI_LOW, c.MEDIAN_CYCLE_CI_HIGH])
        lo, hi = rows[c.MEDIAN_CYCLE_CI_LOW], rows[c.MEDIAN_CYCLE_CI_HIGH]
    return rows.assign(lo=lo.astype(float), hi=hi.astype(float)).sort_values(c.PERIOD)


def _period_label(period: pd.Timestamp, quarterly: bool) -> str:
    return f"{period.year} Q{period.quarter}" if quarterly else f"{period:%b %Y}"


def trend_title(trend: pd.DataFrame, value: str = c.WIN_RATE, by: str | None = c.SEGMENT) -> str:
    """The finding of :func:`trend_chart`: a rise or fall from the first period to the last.

    For each group, the first and the last readable period
    (:func:`_readable_bounds`) are compared; a change is stated only when
    their bounds do not overlap, for at most two groups. Otherwise, and for
    measures without an interval, the title only says what is drawn.
    """
    label = value.replace("_", " ")
    label = "median days to close" if value == c.MEDIAN_CYCLE_DAYS else label
    periods = pd.to_datetime(trend[c.PERIOD]) if c.PERIOD in trend else pd.Series(dtype=object)
    gaps = periods.drop_duplicates().sort_values().diff().dt.days
    quarterly = bool(len(gaps.dropna())) and gaps.median() > 45
    neutral = f"{label[:1].upper()}{label[1:]} of deals created each {'quarter' if quarterly else 'month'}"
    if value not in (c.WIN_RATE, c.MEDIAN_CYCLE_DAYS) or value not in trend or trend.empty:
        return neutral
    shown = days if value == c.MEDIAN_CYCLE_DAYS else percent
    frame = trend.assign(**{c.PERIOD: periods})
    groups = list(dict.fromkeys(frame[by])) if by and by in frame else [None]
    changes = []
    for g in groups:
        rows = _readable_bounds(frame if g is None else frame[frame[by] == g], value)
        if len(rows) < 2:
            continue
        first, last = rows.iloc[0], rows.iloc[-1]
        if last["lo"] > first["hi"]:
            way = "rose"
        elif last["hi"] < first["lo"]:
            way = "fell"
        else:
            continue
        changes.append((g, way, first, last))
    if not changes or len(changes) > 2:
        return neutral
    if len(changes) == 1:
        g, way, first, last = changes[0]
        who = label[:1].upper() + label[1:] if g is None else f"{short_label(g, 16)} {label}"
        return (
            f"{who} {way} from {shown(first[value])} ({_period_label(first[c.PERIOD], quarterly)}) "
            f"to {shown(last[value])} ({_period_label(last[c.PERIOD], quarterly)})"
        )
    listed = " and ".join(
        f"{way} in {short_label(g, 12)} ({shown(first[value])} → {shown(last[value])})"
        for g, way, first, last in changes
    )
    return f"{label[:1].upper()}{label[1:]} {listed}"


def trend_chart(trend: pd.DataFrame, value: str = c.WIN_RATE, by: str | None = c.SEGMENT) -> Figure:
    """A measure per period from :func:`analysis.team.history.trend`, with its interval band.

    ``value`` is ``win_rate`` (band ``ci_low``–``ci_high``),
    ``median_cycle_days`` (band from its interval) or any other column (no band).
    Titled by :func:`trend_title`.
    """
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(8.0, 4.4), layout="constrained")
    note = "95% bands" if value in (c.WIN_RATE, c.MEDIAN_CYCLE_DAYS) else ""
    if value == c.WIN_RATE:
        note += "; recent periods still have open deals, so their rates may change"
    finding_title(fig, trend_title(trend, value, by), note, ax)
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
