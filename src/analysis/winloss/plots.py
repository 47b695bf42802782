"""Charts of win/loss results: odds-ratio forest plot, loss-reason Pareto, theme shares.

Each function takes the frame a win/loss function returned (never raw rows)
and returns a matplotlib Figure titled by what it shows (the ``*_title``
functions, from the same frame). Labels that come from CRM data are shown as
plain text (matplotlib does not interpret markup; mathtext is switched off).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from analysis.present.plot_style import (
    clear_extreme,
    error_bars,
    finding_title,
    leader_title,
    new_figure,
    percent,
    short_label,
)
from analysis.present.redaction import redact
from analysis.winloss import columns as c

LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100)


def _label(value: object) -> str:
    """Data label for a chart: redacted, with ``$`` escaped so mathtext never parses it."""
    return str(redact(str(value))).replace("$", r"\$")


def _title_label(value: object, limit: int = 28) -> str:
    """A data label inside a title: redacted and cut short (titles are never read as mathtext)."""
    return short_label(redact(str(value)), limit)


def odds_ratio_title(terms: pd.DataFrame, alpha: float = 0.05) -> str:
    """The finding of :func:`odds_ratio_forest`: how many terms clearly change the odds of winning.

    A term counts when its p-value adjusted for testing every term
    (``p_adjusted``) is below ``alpha`` — without that column, when its
    interval excludes 1. Of those, the one with the largest estimated effect
    (``|log odds ratio|``) is named; "largest" is the point estimate's rank,
    not a claim that it beats the others.
    """
    shown = terms[terms[c.ODDS_RATIO].notna() & terms[c.CI_LOW].notna()] if len(terms) else terms
    if shown.empty:
        return "Odds ratios of winning"
    if c.P_ADJUSTED in shown:
        clear = shown[shown[c.P_ADJUSTED] < alpha]
    else:
        clear = shown[(shown[c.CI_LOW] > 1) | (shown[c.CI_HIGH] < 1)]
    if clear.empty:
        return "No deal attribute clearly changes the odds of winning"
    top = clear.loc[np.log(clear[c.ODDS_RATIO].astype(float)).abs().idxmax()]
    term = f"{_title_label(top[c.TERM], 32)} ({top[c.ODDS_RATIO]:.2g}×)"
    if len(clear) == 1:
        return f"1 of {len(shown)} terms clearly changes the odds of winning: {term}"
    return f"{len(clear)} of {len(shown)} terms clearly change the odds of winning; largest: {term}"


def odds_ratio_forest(terms: pd.DataFrame, title: str | None = None, alpha: float = 0.05) -> Figure:
    """Odds ratios with intervals on a log axis, one row per estimated term.

    Parameters
    ----------
    terms : pandas.DataFrame
        :meth:`analysis.winloss.drivers.model.WinDrivers.to_frame`; reference levels and
        terms without an estimate are left out.
    title : str, optional
        The chart's title; default the finding (:func:`odds_ratio_title`).
    alpha : float
        Level at which an adjusted p-value makes a term count in the title.
    """
    shown = terms[terms[c.ODDS_RATIO].notna() & terms[c.CI_LOW].notna()].copy()
    fig, ax = new_figure(8.0, max(3.0, 0.32 * len(shown) + 1.8))
    finding_title(
        fig,
        odds_ratio_title(terms, alpha) if title is None else title,
        "95% intervals (not adjusted); 1 = no effect",
        ax,
    )
    if shown.empty:
        ax.text(0.5, 0.5, "No odds ratio could be estimated", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    shown = shown.iloc[::-1]
    y = np.arange(len(shown))
    ax.errorbar(
        shown[c.ODDS_RATIO], y,
        xerr=error_bars(shown[c.ODDS_RATIO], shown[c.CI_LOW], shown[c.CI_HIGH]),
        fmt="o", capsize=3,
    )  # fmt: skip
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    lo, hi = float(shown[c.CI_LOW].min()), float(shown[c.CI_HIGH].max())
    ticks = [t for t in LOG_TICKS if min(lo, 1.0) / 1.2 <= t <= max(hi, 1.0) * 1.2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    labels = [
        _label(t) + (f" (vs {_label(r)})" if isinstance(r, str) and r else "")
        for t, r in zip(shown[c.TERM], shown[c.REFERENCE_LEVEL], strict=True)
    ]
    ax.set_yticks(y, labels)
    ax.set(xlabel="Odds ratio of winning (log scale)")
    return fig


def pareto_title(pareto: pd.DataFrame, group: str | None = None) -> str:
    """The finding of :func:`pareto_chart`: the top loss reason of each group, where it is clear.

    A reason is named only when its share's interval lies wholly above every
    other reason's in the group (:func:`analysis.present.plot_style.clear_extreme`);
    otherwise the title only says what is drawn.
    """
    data = pareto[pareto[c.LOSS_REASON].notna()] if len(pareto) else pareto
    groups = list(dict.fromkeys(data[group])) if group and group in data else [None]
    leaders = {}
    for g in groups:
        part = data if g is None else data[data[group] == g]
        top = clear_extreme(part[c.SHARE], part[c.CI_LOW], part[c.CI_HIGH]) if len(part) else None
        if top is not None:
            leaders[g] = (_title_label(part.at[top, c.LOSS_REASON]), percent(part.at[top, c.SHARE]))
    title = leader_title(leaders, len(groups), group, "Top loss reason", "of lost deals")
    return title or "Share of lost deals by loss reason"


def pareto_chart(pareto: pd.DataFrame, group: str | None = None) -> Figure:
    """Bars of loss-reason shares with the cumulative share, one panel per group.

    Parameters
    ----------
    pareto : pandas.DataFrame
        :meth:`analysis.winloss.outcomes.LossReasonPareto.to_frame`.
    group : str, optional
        Column to draw one panel per value of (e.g. ``segment``).
    """
    data = pareto[pareto[c.LOSS_REASON].notna()]
    if data.empty:
        fig, ax = new_figure(6.5, 2.5)
        finding_title(fig, pareto_title(pareto, group))
        ax.text(0.5, 0.5, "No lost deals with a loss reason", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    groups = list(dict.fromkeys(data[group])) if group and group in data else [None]
    fig, axes = new_figure(max(6.5, 5.0 * len(groups)), 5.0)
    fig.clf()
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, g in zip(axes, groups, strict=True):
        part = data if g is None else data[data[group] == g]
        x = np.arange(len(part))
        err = error_bars(part[c.SHARE], part[c.CI_LOW], part[c.CI_HIGH])
        ax.bar(x, part[c.SHARE], yerr=err, capsize=3, color="#4c72b0")
        ax.plot(x, part[c.CUMULATIVE_SHARE], marker="o", color="#dd8452", label="cumulative")
        ax.set_xticks(x, [_label(r) for r in part[c.LOSS_REASON]], rotation=40, ha="right")
        ax.set_ylim(0, 1.05)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set_title(_label(g) if g is not None else "")
    axes[0].set_ylabel("Share of lost deals (95% interval)")
    axes[0].legend(loc="center right")
    finding_title(fig, pareto_title(pareto, group))
    return fig


def theme_share_title(shares: pd.DataFrame, by: str = c.OUTCOME) -> str:
    """The finding of :func:`theme_share_chart`: the theme whose share differs most between groups.

    For each theme, the group mentioning it most is compared with the group
    mentioning it least; a theme counts only when those two intervals do not
    overlap, and the one with the largest gap is named. With one group, the
    most mentioned theme when its interval is clear of the others'. Otherwise
    the title only says what is drawn.
    """
    neutral = "Share of comments mentioning each theme"
    if shares.empty or not (shares[c.N_COMMENTS] > 0).any():
        return neutral
    data = shares[shares[c.N_COMMENTS] > 0].dropna(subset=[c.SHARE, c.CI_LOW, c.CI_HIGH])
    if by not in data or data[by].nunique() < 2:
        top = clear_extreme(data[c.SHARE], data[c.CI_LOW], data[c.CI_HIGH])
        if top is None:
            return neutral
        theme, share = _title_label(data.at[top, c.THEME]), percent(data.at[top, c.SHARE])
        return f"Most mentioned theme: {theme} ({share} of comments)"
    best = None
    for theme, part in data.groupby(c.THEME, sort=False):
        high, low = part.loc[part[c.SHARE].idxmax()], part.loc[part[c.SHARE].idxmin()]
        gap = high[c.SHARE] - low[c.SHARE]
        if high[c.CI_LOW] > low[c.CI_HIGH] and (best is None or gap > best[0]):
            best = (gap, theme, high, low)
    if best is None:
        return neutral
    _, theme, high, low = best
    return (
        f"{percent(high[c.SHARE])} of {_title_label(high[by], 16)} and {percent(low[c.SHARE])} of "
        f"{_title_label(low[by], 16)} comments mention {_title_label(theme)}"
    )


def theme_share_chart(shares: pd.DataFrame, by: str = c.OUTCOME) -> Figure:
    """Dodged bars of theme shares with intervals, one colour per ``by`` value.

    Titled by :func:`theme_share_title`.
    """
    fig, ax = new_figure(9.0, 4.6)
    finding_title(fig, theme_share_title(shares, by), "95% intervals", ax)
    if shares.empty or not (shares[c.N_COMMENTS] > 0).any():
        ax.text(0.5, 0.5, "No comments", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    themes = list(dict.fromkeys(shares[c.THEME]))
    groups = list(dict.fromkeys(shares[by])) if by in shares else [None]
    width = 0.8 / max(len(groups), 1)
    x = np.arange(len(themes))
    for i, g in enumerate(groups):
        part = shares if g is None else shares[shares[by] == g]
        part = part.set_index(c.THEME).reindex(themes)
        err = error_bars(part[c.SHARE], part[c.CI_LOW], part[c.CI_HIGH])
        ax.bar(x - 0.4 + width * (i + 0.5), part[c.SHARE], width, yerr=err, capsize=2,
               label=None if g is None else _label(g))  # fmt: skip
    ax.set_xticks(x, [_label(t) for t in themes], rotation=30, ha="right")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(ylabel="Share of comments")
    if groups != [None]:
        ax.legend(title=by)
    return fig
