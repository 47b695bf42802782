"""Charts of experiment results: forest plot of effects, time-to-conversion curves.

Each function takes a computed table (never raw rows) and returns a Figure
titled by what it shows (the ``*_title`` functions, from the same table).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.experiments import columns as c
from analysis.experiments.timing import SHARE_CONVERTED
from analysis.present.plot_style import PALETTE, error_bars, finding_title, percent, short_label


def _points(difference: float) -> str:
    """A difference in conversion in points: ``0.061 -> '6 points'``, ``0.004 -> '0.4 points'``."""
    size = abs(100 * difference)
    return f"{size:.1f} points" if size < 1 else f"{size:.0f} points"


def forest_title(comparisons: pd.DataFrame) -> str:
    """The finding of :func:`forest_plot`: which variants convert clearly differently from control.

    A variant counts when its interval of the difference excludes 0 — the
    interval inverts the comparison's (adjusted) test, so this is the test's
    verdict at its level. One such variant is named with its difference; with
    several, how many are better and worse. Neutral when nothing was compared.
    """
    rows = _compared(comparisons)
    if rows.empty:
        return "Difference in conversion against control"
    better = rows[rows[c.DIFF_CI_LOW] > 0]
    worse = rows[rows[c.DIFF_CI_HIGH] < 0]
    clear = pd.concat([better, worse])
    if clear.empty:
        if len(rows) == 1:
            return "The variant does not convert clearly better or worse than its control"
        return "No variant converts clearly better or worse than its control"
    if len(clear) == 1:
        row = clear.iloc[0]
        way = "better" if row[c.DIFFERENCE] > 0 else "worse"
        return f"{_variant_label(row)} converts {_points(row[c.DIFFERENCE])} {way} than its control"
    return (
        f"{len(clear)} of {len(rows)} variants convert clearly differently from their control: "
        f"{len(better)} better, {len(worse)} worse"
    )


def _compared(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Rows of variants compared with a control (not the control, a difference computed)."""
    if comparisons.empty:
        return comparisons
    keep = ~comparisons[c.IS_CONTROL].astype(bool) & comparisons[c.DIFFERENCE].notna()
    return comparisons[keep]


def _variant_label(row: pd.Series) -> str:
    """``'<experiment> <variant>'`` for a title, each part kept short."""
    experiment = row.get(c.EXPERIMENT_ID, "")
    experiment = short_label(experiment, 24) if isinstance(experiment, str) else ""
    return f"{experiment} {short_label(row[c.VARIANT], 16)}".strip()


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
        Titled by :func:`forest_title`.
    """
    rows = _compared(comparisons)
    labels = [f"{r.get(c.EXPERIMENT_ID, '')} {r[c.VARIANT]}".strip() for _, r in rows.iterrows()]
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(8, 2.2 + 0.6 * max(len(rows), 1)), layout="constrained")
    y = list(range(len(rows)))[::-1]
    diff = rows[c.DIFFERENCE].to_numpy(float)
    err = error_bars(diff, rows[c.DIFF_CI_LOW], rows[c.DIFF_CI_HIGH])
    ax.errorbar(diff, y, xerr=err, fmt="o", capsize=4)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(y, labels)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:+.0f} pts")
    ax.set(xlabel="Difference in conversion against control")
    finding_title(
        fig,
        forest_title(comparisons),
        "95% intervals, adjusted across a test's variants; 0 = no difference",
        ax,
    )
    return fig


def time_to_conversion_title(curves: pd.DataFrame, experiment: str = "") -> str:
    """The finding of :func:`time_to_conversion_chart`: which variant has converted more by now.

    Compares the variants at the last day every variant's curve reaches: the
    variant converted most is named against the one converted least only
    when their pointwise intervals there do not overlap; otherwise the title
    only says what is drawn. Prefixed with ``experiment`` when given.
    """
    prefix = f"{short_label(experiment, 24)}: " if experiment else ""
    neutral = f"{prefix}share of deals converted by days in the test"
    if curves.empty or curves[c.VARIANT].nunique() < 2:
        return neutral
    day = curves.groupby(c.VARIANT)[c.DAYS].max().min()
    ordered = curves[curves[c.DAYS] <= day].sort_values(c.DAYS, kind="stable")
    at_day = ordered.groupby(c.VARIANT).tail(1).set_index(c.VARIANT)
    most = at_day[SHARE_CONVERTED].idxmax()
    least = at_day[SHARE_CONVERTED].idxmin()
    if not at_day.at[most, c.CI_LOW] > at_day.at[least, c.CI_HIGH]:
        return neutral
    return (
        f"{prefix}{short_label(most, 16)} has converted more than {short_label(least, 16)} by "
        f"day {day:.0f} ({percent(at_day.at[most, SHARE_CONVERTED])} vs "
        f"{percent(at_day.at[least, SHARE_CONVERTED])})"
    )


def time_to_conversion_chart(curves: pd.DataFrame, experiment: str = "") -> Figure:
    """Share converted by days since entering the test, per variant, with intervals.

    Parameters
    ----------
    curves : pandas.DataFrame
        :attr:`analysis.experiments.timing.TimeToConversion.curves`.
    experiment : str
        The experiment's id, which starts the title.

    Returns
    -------
    matplotlib.figure.Figure
        Titled by :func:`time_to_conversion_title`.
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
    ax.set(xlabel="Days since entering the test", ylabel="Share converted")
    ax.legend(title="variant")
    finding_title(
        fig, time_to_conversion_title(curves, experiment), "Kaplan–Meier, 95% pointwise bands", ax
    )
    return fig
