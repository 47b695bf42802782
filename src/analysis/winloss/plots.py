"""Charts of win/loss results: odds-ratio forest plot, loss-reason Pareto, theme shares.

Each function takes the frame a win/loss function returned (never raw rows)
and returns a matplotlib Figure. Labels that come from CRM data are shown as
plain text (matplotlib does not interpret markup; mathtext is switched off).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from analysis.present.plot_style import error_bars, new_figure
from analysis.present.redaction import redact
from analysis.winloss import columns as c

LOG_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100)


def _label(value: object) -> str:
    """Data label for a chart: redacted, with ``$`` escaped so mathtext never parses it."""
    return str(redact(str(value))).replace("$", r"\$")


def odds_ratio_forest(terms: pd.DataFrame, title: str = "Win drivers") -> Figure:
    """Odds ratios with intervals on a log axis, one row per estimated term.

    Parameters
    ----------
    terms : pandas.DataFrame
        :meth:`analysis.winloss.drivers.model.WinDrivers.to_frame`; reference levels and
        terms without an estimate are left out.
    """
    shown = terms[terms[c.ODDS_RATIO].notna() & terms[c.CI_LOW].notna()].copy()
    fig, ax = new_figure(8.0, max(2.5, 0.32 * len(shown) + 1.2))
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
    ax.set(xlabel="Odds ratio of winning (95% interval, log scale)", title=title)
    return fig


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
        fig, ax = new_figure(6.0, 2.5)
        ax.text(0.5, 0.5, "No lost deals with a loss reason", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    groups = list(dict.fromkeys(data[group])) if group and group in data else [None]
    fig, axes = new_figure(5.0 * len(groups), 4.5)
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
        ax.set_title("Loss reasons" + (f": {_label(g)}" if g is not None else ""))
    axes[0].set_ylabel("Share of lost deals (95% interval)")
    axes[0].legend(loc="center right")
    return fig


def theme_share_chart(shares: pd.DataFrame, by: str = c.OUTCOME) -> Figure:
    """Dodged bars of theme shares with intervals, one colour per ``by`` value."""
    fig, ax = new_figure(9.0, 4.0)
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
    ax.set(ylabel="Share of comments (95% interval)", title="Feedback themes")
    if groups != [None]:
        ax.legend(title=by)
    return fig
