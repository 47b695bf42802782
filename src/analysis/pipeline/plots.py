"""Charts for the pipeline: stage conversion, time in stage, time to close."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.core import columns as c
from analysis.present.plot_style import PALETTE, new_figure, nothing_to_plot, points_with_intervals


def stage_conversion_chart(conversion: pd.DataFrame, by: str | None = c.SEGMENT) -> Figure:
    """Conversion to the next stage per stage, with confidence intervals.

    Parameters
    ----------
    conversion : pandas.DataFrame
        :func:`analysis.pipeline.funnel.stage_conversion` frame (``to_frame()``).
    by : str or None
        The grouping column to colour by.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_figure()
    points_with_intervals(ax, conversion, c.STAGE, c.CONVERSION, c.CI_LOW, c.CI_HIGH, by)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(
        xlabel="Stage",
        ylabel="Advanced / (advanced + lost)",
        title="Stage conversion (95% intervals)",
    )
    return fig


def time_in_stage_chart(table: pd.DataFrame, by: str | None = c.SEGMENT) -> Figure:
    """Median days in each stage with its interval (log scale), per group.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`analysis.pipeline.cycle.time_in_stage` frame (``to_frame()``).
    by : str or None
        The grouping column to colour by.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = new_figure()
    shown = table.dropna(subset=["median_days", "median_ci_low", "median_ci_high"])
    ax.set_title("Time in stage (Kaplan–Meier, 95% intervals)")
    if nothing_to_plot(ax, shown, "No stage has a median with an interval yet: too few stays."):
        return fig
    points_with_intervals(ax, shown, c.STAGE, "median_days", "median_ci_low", "median_ci_high", by)
    ax.set_yscale("log")
    ax.set(
        xlabel="Stage",
        ylabel="Median days in stage",
        title="Time in stage (Kaplan–Meier, 95% intervals)",
    )
    return fig


def time_to_close_chart(curves: pd.DataFrame, by: str | None = c.SEGMENT) -> Figure:
    """Probability of being won, lost and still open by day, per group.

    Parameters
    ----------
    curves : pandas.DataFrame
        :attr:`analysis.pipeline.cycle.TimeToClose.curves`.
    by : str or None
        The grouping column (one panel per group).

    Returns
    -------
    matplotlib.figure.Figure
    """
    groups = (list(dict.fromkeys(curves[by])) if by and by in curves else []) or [None]
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, axes = plt.subplots(
        1, len(groups), figsize=(5 * len(groups), 3.8), layout="constrained", squeeze=False
    )
    if nothing_to_plot(axes[0][0], curves, "No deal has a creation date to count from."):
        return fig
    for ax, group in zip(axes[0], groups, strict=True):
        part = curves if group is None else curves[curves[by] == group]
        for column, label in (("cif_won", "won"), ("cif_lost", "lost"), ("survival", "still open")):
            ax.step(part["days"], part[column], where="post", label=label)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.set(xlabel="Days since created", title=str(group) if group is not None else "All deals")
    axes[0][0].set_ylabel("Share of deals")
    axes[0][-1].legend()
    return fig
