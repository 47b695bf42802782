"""Charts of computed results (never of raw rows).

Each function takes the frame a metric function returned and gives back a
matplotlib Figure, so notebooks stay one line per chart and the HTML report
shows the same styling everywhere.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.core import columns as c

PALETTE = "colorblind"


def _figure(width: float = 8.0, height: float = 4.0) -> tuple[Figure, plt.Axes]:
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def deal_mix_chart(mix: pd.DataFrame, stage_order: list[str] | tuple[str, ...]) -> Figure:
    """Bars of deals per current stage and outcome, one panel per segment.

    Parameters
    ----------
    mix : pandas.DataFrame
        :func:`analysis.overview.summary.deal_mix` output.
    stage_order : sequence of str
        Stages in pipeline order (``Workspace.pipeline.all_stages``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    sns.set_theme(style="whitegrid", palette=PALETTE)
    present = [s for s in stage_order if s in set(mix[c.STAGE].dropna())]
    grid = sns.catplot(
        data=mix,
        x=c.STAGE,
        y=c.N_DEALS,
        hue=c.OUTCOME,
        col=c.SEGMENT,
        kind="bar",
        order=present,
        hue_order=[o for o in c.OUTCOMES if o in set(mix[c.OUTCOME])],
        estimator="sum",
        errorbar=None,
        height=3.6,
        aspect=1.3,
    )
    grid.set_axis_labels("Current stage", "Deals")
    grid.set_titles("{col_name}")
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=35)
    return grid.figure


def monthly_deals_chart(monthly: pd.DataFrame, by: str = c.SEGMENT) -> Figure:
    """Deals created per month, one line per group.

    Parameters
    ----------
    monthly : pandas.DataFrame
        :func:`analysis.overview.summary.monthly_created` output.
    by : str
        The grouping column of ``monthly``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure()
    sns.lineplot(data=monthly, x=c.MONTH, y=c.N_DEALS, hue=by, marker="o", ax=ax)
    ax.set(xlabel="Month created", ylabel="Deals created", title="New deals per month")
    return fig


def win_rate_chart(outcomes: pd.DataFrame, by: str = c.SEGMENT) -> Figure:
    """Win rate per group as points with their confidence intervals.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        :func:`analysis.overview.summary.outcome_summary` frame (``to_frame()``).
    by : str
        The grouping column; absent for an overall summary.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _figure(6.0, 0.6 + 0.5 * max(len(outcomes), 1))
    y = range(len(outcomes))
    ax.errorbar(
        outcomes[c.WIN_RATE],
        list(y),
        xerr=[
            outcomes[c.WIN_RATE] - outcomes[c.CI_LOW],
            outcomes[c.CI_HIGH] - outcomes[c.WIN_RATE],
        ],
        fmt="o",
        capsize=4,
    )
    ax.set_yticks(list(y), outcomes[by].astype(str) if by in outcomes else ["all"] * len(outcomes))
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(xlabel="Win rate of closed deals (95% interval)", title="Win rate: won / (won + lost)")
    return fig


def _points_with_intervals(
    ax: plt.Axes, frame: pd.DataFrame, x: str, y: str, low: str, high: str, hue: str | None
) -> None:
    """Dodged points with interval bars, one colour per ``hue`` group."""
    order = list(dict.fromkeys(frame[x]))
    groups = list(dict.fromkeys(frame[hue])) if hue and hue in frame else [None]
    width = 0.6 / max(len(groups), 1)
    colours = sns.color_palette(PALETTE, len(groups))
    for i, (group, colour) in enumerate(zip(groups, colours, strict=True)):
        part = frame if group is None else frame[frame[hue] == group]
        pos = [order.index(v) - 0.3 + width * (i + 0.5) for v in part[x]]
        ax.errorbar(
            pos,
            part[y],
            yerr=[part[y] - part[low], part[high] - part[y]],
            fmt="o",
            capsize=3,
            color=colour,
            label=group,
        )
    ax.set_xticks(range(len(order)), order, rotation=30)
    if groups != [None]:
        ax.legend(title=hue)


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
    fig, ax = _figure()
    _points_with_intervals(ax, conversion, c.STAGE, c.CONVERSION, c.CI_LOW, c.CI_HIGH, by)
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
    fig, ax = _figure()
    shown = table.dropna(subset=["median_days", "median_ci_low", "median_ci_high"])
    _points_with_intervals(ax, shown, c.STAGE, "median_days", "median_ci_low", "median_ci_high", by)
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
    groups = list(dict.fromkeys(curves[by])) if by and by in curves else [None]
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, axes = plt.subplots(
        1, len(groups), figsize=(5 * len(groups), 3.8), layout="constrained", squeeze=False
    )
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
