"""Charts for the pipeline: funnel, stage conversion, time in stage, time to close.

Each chart takes a computed frame and is titled by what it shows: the title
functions (``*_title``) derive that sentence from the same frame and fall back
to a neutral description when the intervals do not support a finding.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.core import columns as c
from analysis.pipeline.cycle import (
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    MEDIAN_CI_HIGH,
    MEDIAN_CI_LOW,
    MEDIAN_DAYS,
)
from analysis.present.plot_style import (
    PALETTE,
    clear_extreme,
    days,
    finding_title,
    leader_title,
    new_figure,
    nothing_to_plot,
    percent,
    points_with_intervals,
    short_label,
)


def _groups(frame: pd.DataFrame, by: str | None) -> list:
    """The groups of ``by`` in order of appearance (a missing value once); ``[None]`` if ungrouped."""
    return list(pd.unique(frame[by])) if by and by in frame and len(frame) else [None]


def _part(frame: pd.DataFrame, by: str | None, group: object) -> pd.DataFrame:
    if group is None:
        return frame
    return frame[frame[by].isna()] if pd.isna(group) else frame[frame[by] == group]


def _next_stage(stages: list[str], stage: str) -> str:
    """The stage after ``stage`` in ``stages`` (pipeline order); ``"won"`` after the last."""
    i = stages.index(stage)
    return stages[i + 1] if i + 1 < len(stages) else c.WON


def stage_conversion_title(conversion: pd.DataFrame, by: str | None = c.SEGMENT) -> str:
    """The finding of :func:`stage_conversion_chart`: the weakest step, where there is a clear one.

    A step is named only when its interval lies wholly below every other
    mature stage's interval in its group (:func:`analysis.present.plot_style.clear_extreme`);
    immature rows (many deals still open) take no part. Otherwise the title
    gives the range of the conversions, or just ``"Stage conversion"`` for
    fewer than two rates.
    """
    rows = conversion.dropna(subset=[c.CONVERSION]) if c.CONVERSION in conversion else conversion
    if len(rows) < 2:
        return "Stage conversion"
    groups = _groups(conversion, by)
    leaders = {}
    for group in groups:
        part = _part(conversion, by, group)
        stages = [str(s) for s in part[c.STAGE]]
        mature = part[part[c.MATURE].astype(bool)] if c.MATURE in part else part
        weakest = clear_extreme(
            mature[c.CONVERSION], mature[c.CI_LOW], mature[c.CI_HIGH], largest=False
        )
        if weakest is not None:
            stage = str(part.at[weakest, c.STAGE])
            step = f"{stage} → {_next_stage(stages, stage)}"
            leaders[group] = (step, percent(part.at[weakest, c.CONVERSION]))
    title = leader_title(leaders, len(groups), by, "Weakest step", "advance")
    if title is not None:
        return title
    low, high = rows[c.CONVERSION].min(), rows[c.CONVERSION].max()
    return f"Between {percent(low)} and {percent(high)} of decided deals advance at each stage"


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
        Titled by :func:`stage_conversion_title`.
    """
    fig, ax = new_figure()
    points_with_intervals(ax, conversion, c.STAGE, c.CONVERSION, c.CI_LOW, c.CI_HIGH, by)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set(xlabel="Stage", ylabel="Advanced / (advanced + lost)")
    finding_title(
        fig,
        stage_conversion_title(conversion, by),
        "Conversion to the next stage, 95% intervals",
        ax,
    )
    return fig


def funnel_title(conversion: pd.DataFrame, by: str | None = c.SEGMENT) -> str:
    """The finding of :func:`funnel_chart`: the share of deals that reached the last stage.

    The share is ``entered`` at the last stage over ``entered`` at the first,
    a count of these deals rather than an estimate, so it needs no interval;
    it says "have reached" because deals still open may yet go further.
    Neutral (``"Deals reaching each stage"``) for fewer than two stages or
    when nobody entered the first.
    """
    shares, first, last = {}, "", ""
    for group in _groups(conversion, by):
        part = _part(conversion, by, group)
        if len(part) < 2 or not part[c.N_ENTERED].iloc[0] > 0:
            continue
        first, last = str(part[c.STAGE].iloc[0]), str(part[c.STAGE].iloc[-1])
        shares[group] = part[c.N_ENTERED].iloc[-1] / part[c.N_ENTERED].iloc[0]
    if not shares:
        return "Deals reaching each stage"
    reached = f"deals that entered {first} have reached {last}"
    if None in shares:
        return f"{percent(shares[None])} of {reached}"
    if len(shares) <= 2:
        parts = " and ".join(f"{percent(s)} of {short_label(g, 12)}" for g, s in shares.items())
        return f"{parts} {reached}"
    low, high = min(shares.values()), max(shares.values())
    return f"Between {percent(low)} and {percent(high)} of {reached}, by {by}"


def _draw_funnel(ax: plt.Axes, part: pd.DataFrame) -> None:
    """Centred bars of deals entered per stage, counts on the bars, step conversions between."""
    stages = [str(s) for s in part[c.STAGE]]
    entered = part[c.N_ENTERED].to_numpy(dtype=float)
    widest = max(entered.max(), 1.0)
    first = entered[0]
    y = np.arange(len(stages))
    ax.barh(y, entered, left=-entered / 2, height=0.58, color=sns.color_palette(PALETTE)[0])
    for i, n in enumerate(entered):
        label = f"{n:,.0f} ({percent(n / first)})" if first > 0 else f"{n:,.0f}"
        if n >= 0.45 * widest:  # wide enough to hold its label
            ax.text(0, i, label, ha="center", va="center", color="white", fontweight="bold")
        else:
            ax.text(n / 2 + 0.03 * widest, i, label, ha="left", va="center")
    mature = part[c.MATURE].astype(bool) if c.MATURE in part else pd.Series(True, part.index)
    for i, (rate, ripe) in enumerate(zip(part[c.CONVERSION], mature, strict=True)):
        text = "↓ n/a" if pd.isna(rate) else f"↓ {percent(rate)}" + ("" if ripe else "*")
        if i == len(stages) - 1:
            text += " won"
        ax.text(0, i + 0.5, text, ha="center", va="center", fontsize="small", color="dimgrey")
    ax.set_yticks(y, stages)
    ax.set_ylim(len(stages) - 0.2, -0.5)  # first stage on top, room for the last step
    ax.set_xlim(-0.55 * widest, 0.55 * widest)
    ax.set_xticks([])
    ax.grid(False)
    ax.set_frame_on(False)


def funnel_chart(conversion: pd.DataFrame, by: str | None = c.SEGMENT) -> Figure:
    """A funnel of the stages: deals that reached each stage, one funnel per group.

    Parameters
    ----------
    conversion : pandas.DataFrame
        :func:`analysis.pipeline.funnel.stage_conversion` frame (``to_frame()``),
        one row per (group, stage) in pipeline order, without a period split.
    by : str or None
        The grouping column: one funnel per group, side by side.

    Returns
    -------
    matplotlib.figure.Figure
        Titled by :func:`funnel_title`.

    Notes
    -----
    Each bar's width is ``entered`` (deals that reached the stage, by the
    frame's reach rule), centred, and labelled with the count and its share of
    the first stage. Between two bars, ``↓`` gives the stage's conversion
    ``advanced / (advanced + lost)`` — open deals are neither, so it can differ
    from the ratio of the two bars; its interval is in the conversion table.
    A ``*`` marks a stage where too many deals are still open to read the rate
    (``mature`` is false).
    """
    if c.PERIOD in conversion:
        raise ValueError(
            "funnel_chart draws one funnel per group, not per period: pass a "
            "stage_conversion frame computed without period=."
        )
    shown = conversion[conversion[c.N_ENTERED] > 0] if len(conversion) else conversion
    title = funnel_title(conversion, by)
    if shown.empty:
        fig, ax = new_figure(6.5, 2.5)
        finding_title(fig, title)
        nothing_to_plot(ax, shown, "No deal reached any stage.")
        return fig
    groups = _groups(conversion, by)
    n_stages = conversion[c.STAGE].nunique()
    sns.set_theme(style="white", palette=PALETTE)
    fig, axes = plt.subplots(
        1, len(groups), figsize=(max(6.5, 4.6 * len(groups)), 1.9 + 0.6 * n_stages),
        layout="constrained", squeeze=False,
    )  # fmt: skip
    stage_lists = set()
    for ax, group in zip(axes[0], groups, strict=True):
        part = _part(conversion, by, group)
        stage_lists.add(tuple(part[c.STAGE]))
        _draw_funnel(ax, part)
        if group is not None:
            name = f"no {by}" if pd.isna(group) else short_label(group, 30)
            ax.set_title(name, fontsize="medium", parse_math=False)
    if len(stage_lists) == 1:  # same stages in every panel: name them once, on the left
        for ax in axes[0][1:]:
            ax.tick_params(labelleft=False)
    note = (
        "Bars: deals that reached each stage (share of the first stage). ↓: share of decided "
        "deals that move on (open deals are neither; intervals in the conversion table)."
    )
    if c.MATURE in conversion and not conversion[c.MATURE].astype(bool).all():
        note += " *: many deals still open, the rate may change."
    width_chars = int(13 * fig.get_figwidth())
    fig.supxlabel(textwrap.fill(note, width_chars), fontsize="small", color="dimgrey")
    finding_title(fig, title)
    return fig


def time_in_stage_title(table: pd.DataFrame, by: str | None = c.SEGMENT) -> str:
    """The finding of :func:`time_in_stage_chart`: the stage deals stay longest in, if clear.

    A stage is named only when its median's interval lies wholly above every
    other stage's in its group; otherwise the title gives the range of the
    medians (per group, for up to two groups).
    """
    shown = table.dropna(subset=[MEDIAN_DAYS, MEDIAN_CI_LOW, MEDIAN_CI_HIGH])
    if len(shown) < 2:
        return "Median days in each stage"
    groups = _groups(shown, by)
    leaders = {}
    for group in groups:
        part = _part(shown, by, group)
        longest = clear_extreme(part[MEDIAN_DAYS], part[MEDIAN_CI_LOW], part[MEDIAN_CI_HIGH])
        if longest is not None:
            leaders[group] = (str(part.at[longest, c.STAGE]), days(part.at[longest, MEDIAN_DAYS]))
    title = leader_title(leaders, len(groups), by, "Longest median stay", "days")
    if title is not None:
        return title
    spans = {
        g: f"{days(p[MEDIAN_DAYS].min())}–{days(p[MEDIAN_DAYS].max())} days"
        for g in groups
        if len(p := _part(shown, by, g))
    }
    if None in spans or len(spans) > 2:
        low, high = shown[MEDIAN_DAYS].min(), shown[MEDIAN_DAYS].max()
        return f"Median time in a stage ranges from {days(low)} to {days(high)} days"
    listed = ", ".join(f"{span} in {short_label(g, 12)}" for g, span in spans.items())
    return f"Median time in a stage: {listed}"


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
        Titled by :func:`time_in_stage_title`.
    """
    fig, ax = new_figure()
    shown = table.dropna(subset=[MEDIAN_DAYS, MEDIAN_CI_LOW, MEDIAN_CI_HIGH])
    finding_title(fig, time_in_stage_title(table, by), "Kaplan–Meier medians, 95% intervals", ax)
    if nothing_to_plot(ax, shown, "No stage has a median with an interval yet: too few stays."):
        return fig
    points_with_intervals(ax, shown, c.STAGE, MEDIAN_DAYS, MEDIAN_CI_LOW, MEDIAN_CI_HIGH, by)
    ax.set_yscale("log")
    ax.set(xlabel="Stage", ylabel="Median days in stage")
    return fig


def time_to_close_title(medians: pd.DataFrame | None, by: str | None = c.SEGMENT) -> str:
    """The finding of :func:`time_to_close_chart`, from :class:`TimeToClose` ``.to_frame()``.

    With two or more groups, how many times as long the slowest group's
    median time to close is as the fastest's — only when their intervals do
    not overlap; otherwise the medians themselves (up to three groups). With
    one group, its median. Neutral without medians (none given, or fewer than
    half of the deals closed).
    """
    neutral = "Deals won, lost and still open by days since created"
    if medians is None or KM_MEDIAN_DAYS not in medians:
        return neutral
    known = medians.dropna(subset=[KM_MEDIAN_DAYS])
    groups = _groups(known, by)
    if known.empty:
        return "Fewer than half of the deals have closed so far"
    if groups == [None] or len(known) == 1:
        row = known.iloc[0]
        who = "the deals" if groups == [None] else f"{short_label(row[by], 20)} deals"
        return f"Half of {who} close, won or lost, within {days(row[KM_MEDIAN_DAYS])} days"
    slow = known.loc[known[KM_MEDIAN_DAYS].idxmax()]
    fast = known.loc[known[KM_MEDIAN_DAYS].idxmin()]
    if slow[KM_MEDIAN_CI_LOW] > fast[KM_MEDIAN_CI_HIGH] and fast[KM_MEDIAN_DAYS] > 0:
        ratio = slow[KM_MEDIAN_DAYS] / fast[KM_MEDIAN_DAYS]
        return (
            f"{short_label(slow[by], 16)} deals take {ratio:.1f}× as long to close as "
            f"{short_label(fast[by], 16)} deals (median {days(slow[KM_MEDIAN_DAYS])} vs "
            f"{days(fast[KM_MEDIAN_DAYS])} days)"
        )
    if len(known) > 3:
        return neutral
    listed = ", ".join(
        f"{short_label(r[by], 12)} {days(r[KM_MEDIAN_DAYS])}" for _, r in known.iterrows()
    )
    return f"Median days to close: {listed}"


def time_to_close_chart(
    curves: pd.DataFrame, by: str | None = c.SEGMENT, medians: pd.DataFrame | None = None
) -> Figure:
    """Probability of being won, lost and still open by day, per group.

    Parameters
    ----------
    curves : pandas.DataFrame
        :attr:`analysis.pipeline.cycle.TimeToClose.curves`.
    by : str or None
        The grouping column (one panel per group).
    medians : pandas.DataFrame, optional
        ``TimeToClose.to_frame()``, whose medians and intervals give the title
        (:func:`time_to_close_title`); without it the title is descriptive.

    Returns
    -------
    matplotlib.figure.Figure
    """
    groups = (list(dict.fromkeys(curves[by])) if by and by in curves else []) or [None]
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, axes = plt.subplots(
        1, len(groups), figsize=(max(6.5, 5 * len(groups)), 4.2), layout="constrained",
        squeeze=False,
    )  # fmt: skip
    finding_title(fig, time_to_close_title(medians, by))
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
    axes[0][0].set_ylabel("Share of deals (open deals still running)")
    axes[0][-1].legend()
    return fig
