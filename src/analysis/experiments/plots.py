"""Charts of experiment results: forest plot of effects, time-to-conversion curves.

Each function takes a computed table (never raw rows) and returns a Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.experiments import columns as c
from analysis.experiments.timing import SHARE_CONVERTED
from analysis.present.plot_style import PALETTE, error_bars


def forest_plot(comparisons: pd.DataFrame) -> Figure:
    """Difference in conversion of each variant against its control, with intervals.

    Parameters
    ----------
    comparisons : pandas.DataFrame
        One or more ``ConversionComparison.to_frame()`` tables concatenated
        (rows with an ``experiment_id`` label each experiment).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rows = comparisons[~comparisons[c.IS_CONTROL].astype(bool) & comparisons[c.DIFFERENCE].notna()]
    labels = [f"{r.get(c.EXPERIMENT_ID, '')} {r[c.VARIANT]}".strip() for _, r in rows.iterrows()]
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.6 * max(len(rows), 1)), layout="constrained")
    y = list(range(len(rows)))[::-1]
    diff = rows[c.DIFFERENCE].to_numpy(float)
    err = error_bars(diff, rows[c.DIFF_CI_LOW], rows[c.DIFF_CI_HIGH])
    ax.errorbar(diff, y, xerr=err, fmt="o", capsize=4)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:+.0f} pts")
    ax.set(xlabel="Difference in conversion against control (95% interval)", title="Effects")
    return fig


def time_to_conversion_chart(curves: pd.DataFrame, title: str = "") -> Figure:
    """Share converted by days since entering the test, per variant, with intervals.

    Parameters
    ----------
    curves : pandas.DataFrame
        :attr:`analysis.experiments.timing.TimeToConversion.curves`.
    title : str
        Chart title (e.g. the experiment id).

    Returns
    -------
    matplotlib.figure.Figure
    """
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    for variant, part in curves.groupby(c.VARIANT, sort=True):
        line = ax.step(part[c.DAYS], part[SHARE_CONVERTED], where="post", label=str(variant))
        ax.fill_between(
            part[c.DAYS], part[c.CI_LOW], part[c.CI_HIGH], step="post", alpha=0.2,
            color=line[0].get_color(),
        )  # fmt: skip
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(xlabel="Days since entering the test", ylabel="Share converted", title=title)
    ax.legend(title="variant")
    return fig
