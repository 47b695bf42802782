"""Charts of the forecast: the pipeline waterfall, the backtest and the calibration.

Each chart takes a computed result and is titled by what it shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.forecast.calibration import Calibration
from analysis.forecast.waterfall import PipelineWaterfall
from analysis.present.formatting import format_money
from analysis.present.plot_style import (
    PALETTE,
    error_bars,
    finding_title,
    new_figure,
    nothing_to_plot,
)

__all__ = ["backtest_chart", "calibration_chart", "waterfall_chart"]

_LABELS = {
    c.START: "start", c.CREATED: "created", c.MOVED_IN: "moved in", c.INCREASED: "increased",
    c.DECREASED: "decreased", c.MOVED_OUT: "pushed out", c.WON: "won", c.LOST: "lost",
    c.END: "end",
}  # fmt: skip


def waterfall_chart(waterfall: PipelineWaterfall) -> Figure:
    """The pipeline due by the window's end, from one date to the other, as a bridge of bars.

    Notes
    -----
    Ungrouped totals: each flow is a floating bar from the running total
    (green adds, red takes away), the two levels are full bars; the title
    says how the pipeline changed.
    """
    frame = waterfall.table
    if waterfall.by:
        frame = frame.groupby(c.COMPONENT, sort=False)[[c.COUNT, c.AMOUNT]].sum().reset_index()
    fig, ax = new_figure(8.0, 4.0)
    if frame.empty:
        finding_title(fig, "The pipeline waterfall")
        nothing_to_plot(ax, frame, "No pipeline in either date.")
        return fig
    amounts = frame.set_index(c.COMPONENT)[c.AMOUNT].reindex(c.COMPONENTS).fillna(0.0)
    colours = sns.color_palette(PALETTE, 4)
    for i, (name, top) in enumerate(zip(c.COMPONENTS, _bar_tops(amounts), strict=True)):
        sign, value = c.COMPONENT_SIGNS[name], amounts[name]
        colour = colours[0] if sign == 0 else colours[2] if sign > 0 else colours[3]
        ax.bar(i, value, bottom=top - value, color=colour)
        sign_text = "" if sign == 0 else "+" if sign > 0 else "−"
        ax.annotate(  # each bar's amount, so the small flows still read
            f"{sign_text}{format_money(value)}", (i, top), ha="center", va="bottom",
            fontsize="x-small", xytext=(0, 2), textcoords="offset points",
        )  # fmt: skip
    ax.set_xticks(range(len(c.COMPONENTS)), [_LABELS[n] for n in c.COMPONENTS], rotation=30)
    ax.yaxis.set_major_formatter(lambda v, _: format_money(v))
    start, end = amounts[c.START], amounts[c.END]
    verb = "grew" if end > start else "shrank" if end < start else "held"
    title = (
        f"Pipeline due by {waterfall.close_by - pd.Timedelta(days=1):%d %b %Y} {verb} from "
        f"{format_money(start)} to {format_money(end)}"
    )
    period = f"{waterfall.start:%d %b} to {waterfall.end:%d %b %Y}; amounts as they stood"
    finding_title(fig, title, period, ax)
    return fig


def _bar_tops(amounts: pd.Series) -> list[float]:
    """The top of each bar of the waterfall: the running total after (or before) each flow."""
    running, tops = 0.0, []
    for name in c.COMPONENTS:
        sign, value = c.COMPONENT_SIGNS[name], amounts[name]
        if sign == 0:
            running = value
            tops.append(value)
            continue
        tops.append(running + value if sign > 0 else running)
        running += sign * value
    return tops


def backtest_chart(backtest: Backtest) -> Figure:
    """Each past window's forecast interval and mean against what was won, with the reps' figure."""
    table = backtest.table
    fig, ax = new_figure(8.0, 4.0)
    if table.empty:
        finding_title(fig, "The forecast on past windows")
        nothing_to_plot(ax, table, "No past window has a year of history before it.")
        return fig
    x = np.arange(len(table))
    colours = sns.color_palette(PALETTE, 3)
    level = f"{1 - backtest.alpha:.0%}"
    ax.errorbar(
        x, table[c.MEAN], yerr=error_bars(table[c.MEAN], table[c.P10], table[c.P90]),
        fmt="o", capsize=4, color=colours[0], label=f"model: mean and {level} interval",
    )  # fmt: skip
    ax.scatter(x, table[c.ACTUAL], marker="D", s=40, color="black", zorder=3, label="won")
    ax.scatter(
        x, table[c.ACTUAL_PIPELINE], marker="D", s=40, facecolors="none", edgecolors="black",
        zorder=3, label="won by the start's pipeline",
    )  # fmt: skip
    ax.scatter(
        x, table[c.REP_WEIGHTED], marker="x", s=50, color=colours[1], zorder=3,
        label="reps' probabilities (the start's pipeline)",
    )  # fmt: skip
    labels = [f"{s:%b %Y}" for s in table[c.WINDOW_START]]
    ax.set_xticks(x, labels, rotation=30)
    ax.yaxis.set_major_formatter(lambda v, _: format_money(v))
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    covered, n = int(table[c.COVERED].sum()), len(table)
    title = f"The {level} interval held the actual in {covered} of {n} past windows"
    finding_title(fig, title, "each window forecast from the pipeline at its start", ax)
    return fig


def calibration_chart(calibration: Calibration) -> Figure:
    """Predicted chance against share won, per band, for the model and the CRM's two answers."""
    bins = calibration.bins
    fig, ax = new_figure(6.5, 5.0)
    if bins.empty:
        finding_title(fig, "Calibration of the predicted chances")
        nothing_to_plot(ax, bins, "No deal to score.")
        return fig
    colours = sns.color_palette(PALETTE, 3)
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for colour, method in zip(colours, (c.MODEL, c.REP, c.STAGE_DEFAULT), strict=True):
        part = bins[(bins[c.METHOD] == method) & (bins[c.DEAL_WINDOWS] >= 5)]
        ax.errorbar(
            part[c.PREDICTED], part[c.OBSERVED],
            yerr=error_bars(part[c.OBSERVED], part[c.CI_LOW], part[c.CI_HIGH]),
            fmt="o-", capsize=3, color=colour, label=method,
        )  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Predicted chance of a win in the window")
    ax.set_ylabel("Share won")
    ax.legend(fontsize="small")
    scores = calibration.scores.set_index(c.METHOD)[c.BRIER]
    best = scores.idxmin()
    title = f"Closest to what happened: {best} (Brier {scores[best]:.3f})"
    level = f"{1 - calibration.alpha:.0%}"
    finding_title(fig, title, f"bands of 0.1 with 5+ deals; {level} Wilson intervals", ax)
    return fig
