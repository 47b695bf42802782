"""Charts for the data overview: deal mix, monthly volume, win rate by group."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.core import columns as c
from analysis.present.plot_style import PALETTE, error_bars, new_figure, nothing_to_plot


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
    fig, ax = new_figure()
    ax.set_title("New deals per month")
    if nothing_to_plot(ax, monthly.dropna(subset=[c.MONTH]), "No creation dates in the data."):
        return fig
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
    fig, ax = new_figure(6.0, 0.6 + 0.5 * max(len(outcomes), 1))
    y = range(len(outcomes))
    ax.errorbar(
        outcomes[c.WIN_RATE],
        list(y),
        xerr=error_bars(outcomes[c.WIN_RATE], outcomes[c.CI_LOW], outcomes[c.CI_HIGH]),
        fmt="o",
        capsize=4,
    )
    ax.set_yticks(list(y), outcomes[by].astype(str) if by in outcomes else ["all"] * len(outcomes))
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(xlabel="Win rate of closed deals (95% interval)", title="Win rate: won / (won + lost)")
    return fig
