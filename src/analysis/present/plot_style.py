"""One chart style for every report: palette, figure size, interval bars, titles that state the finding."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

PALETTE = "colorblind"


def new_figure(width: float = 8.0, height: float = 4.0) -> tuple[Figure, plt.Axes]:
    sns.set_theme(style="whitegrid", palette=PALETTE)
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def error_bars(value, low, high) -> np.ndarray:
    """``[value - low, high - value]`` for matplotlib's ``xerr``/``yerr``, never negative.

    An interval bound can sit a rounding error inside its estimate (a Wilson
    upper bound of 0.9999999999999999 at a rate of 1), which matplotlib
    rejects; such a bar has length 0. Missing bounds stay NaN (no bar).
    """
    value, low, high = (np.asarray(v, dtype=float) for v in (value, low, high))
    with np.errstate(invalid="ignore"):
        return np.vstack([np.clip(value - low, 0, None), np.clip(high - value, 0, None)])


def points_with_intervals(
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
            yerr=error_bars(part[y], part[low], part[high]),
            fmt="o",
            capsize=3,
            color=colour,
            label=group,
        )
    ax.set_xticks(range(len(order)), order, rotation=30)
    if groups != [None]:
        ax.legend(title=hue)


def nothing_to_plot(ax: plt.Axes, frame: pd.DataFrame, note: str) -> bool:
    """Write ``note`` on empty axes and hide them when ``frame`` has no row to draw.

    A chart without data must say why on the page, not show bare 0–1 axes.
    Returns True when the caller should stop drawing.
    """
    if len(frame):
        return False
    ax.text(0.5, 0.5, note, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()
    return True


# Titles state the finding (issue 18): a sentence computed from the plotted frame, in
# bold above the chart, with the method (interval level, estimator) in a grey line
# under it or in an axis label. Pages scale charts to the screen, so a title's
# length, not the screen, decides how many lines it takes: at TITLE_SIZE points a
# line of TITLE_CHARS characters fits a 6.5-inch figure, and two lines are the most
# a title may take (on a 390-px phone the chart is scaled, not re-wrapped).
TITLE_SIZE = 15
TITLE_CHARS = 50
TITLE_LINES = 2


def wrap_title(text: str, width: int = TITLE_CHARS, max_lines: int = TITLE_LINES) -> str:
    """``text`` broken into at most ``max_lines`` balanced lines of at most ``width`` characters.

    Lines are broken at spaces and kept about equally long (no one-word last
    line). Case is kept (a title may start with a label from the data, such as
    an experiment id). A sentence longer than ``max_lines`` lines (a very long
    label from the data) is cut at the end of the last line with an ellipsis
    rather than pushing the chart down the page.
    """
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    for narrower in range(-(-len(text) // max_lines), width + 1):
        lines = textwrap.wrap(text, narrower, break_on_hyphens=False)
        if len(lines) <= max_lines:
            return "\n".join(lines)
    lines = textwrap.wrap(text, width, break_on_hyphens=False)
    last = textwrap.shorten(" ".join(lines[max_lines - 1 :]), width - 1, placeholder="")
    return "\n".join([*lines[: max_lines - 1], last.rstrip(" ,;:") + "…"])


def short_label(value: object, limit: int = 28) -> str:
    """A data label short enough for a title: cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def finding_title(fig: Figure, finding: str, note: str = "", ax: plt.Axes | None = None) -> None:
    """Title ``fig`` with ``finding`` (wrapped, bold) and ``note`` as a grey line under it.

    The note (the method: "95% intervals", "Kaplan–Meier") becomes the title of
    ``ax`` when given; charts with one panel per group put it in an axis label
    instead and pass no ``ax``. The finding is plain text: labels from the data
    in it (a loss reason "$5k too high") are never read as mathtext.
    """
    fig.suptitle(wrap_title(finding), fontsize=TITLE_SIZE, fontweight="bold", parse_math=False)
    if ax is not None and note:
        ax.set_title(note, fontsize="small", color="dimgrey")


def percent(value: float) -> str:
    """A share for a title: ``0.615 -> '62%'`` (one decimal below 1%, e.g. ``'0.4%'``)."""
    if 0 < abs(value) < 0.01:
        return f"{100 * value:.1f}%"
    return f"{100 * value:.0f}%"


def days(value: float) -> str:
    """Days for a title: one decimal below 10 (``'2.5'``), whole days above (``'18'``)."""
    return f"{value:.1f}" if abs(value) < 10 else f"{value:.0f}"


def clear_extreme(
    values: pd.Series, lows: pd.Series, highs: pd.Series, largest: bool = True
) -> object | None:
    """Index of the value whose interval lies wholly above (below) every other interval.

    Returns None when fewer than two values have intervals or the top
    (bottom) interval overlaps another: the chart then shows no clear leader,
    and its title must not name one. Rows with a missing value or bound take
    no part.

    Notes
    -----
    Non-overlap of two 95% intervals is a stricter criterion than a test of
    their difference at 5%, so a title that names a leader never claims more
    than the intervals on the chart show.
    """
    frame = pd.DataFrame({"v": values, "lo": lows, "hi": highs}).astype(float).dropna()
    if len(frame) < 2:
        return None
    top = frame["v"].idxmax() if largest else frame["v"].idxmin()
    rest = frame.drop(index=top)
    if largest and frame.at[top, "lo"] > rest["hi"].max():
        return top
    if not largest and frame.at[top, "hi"] < rest["lo"].min():
        return top
    return None


def groups_phrase(by: str, n: int) -> str:
    """``'both segments'``, ``'all 3 regions'``: every group of a ``by`` column."""
    noun = by.replace("_", " ") + "s"
    return f"both {noun}" if n == 2 else f"all {n} {noun}"


def leader_title(
    leaders: dict[object, tuple[str, str]], n_groups: int, by: str | None, what: str, unit: str
) -> str | None:
    """A title naming each group's clear leader, or None when there is nothing to name.

    Parameters
    ----------
    leaders : dict
        Group (None for ungrouped data) -> (item, figure) of the groups whose
        leader is clear (:func:`clear_extreme`), e.g. ``{"B2B": ("price", "32%")}``.
    n_groups : int
        Groups drawn, with or without a clear leader.
    by : str or None
        The grouping column.
    what, unit : str
        What the leader is (``"Top loss reason"``) and the unit after its figure
        (``"of lost deals"``).

    Returns
    -------
    str or None
        ``'What: item (figure unit)'`` for one group; ``'What in both
        segments: item (B2B f1, B2C f2 unit)'`` when every group has the same
        clear leader; ``'What: item1 in g1 (f1 unit), item2 in g2 (f2)'`` for
        at most two groups; None otherwise (the caller's neutral title).
    """
    if not leaders:
        return None
    if None in leaders:
        item, figure = leaders[None]
        return f"{what}: {item} ({figure} {unit})"
    if len(leaders) == 1:
        ((group, (item, figure)),) = leaders.items()
        return f"{what} in {short_label(group, 20)}: {item} ({figure} {unit})"
    items = {item for item, _ in leaders.values()}
    if len(items) == 1 and len(leaders) == n_groups and by:
        figures = ", ".join(f"{short_label(g, 12)} {f}" for g, (_, f) in leaders.items())
        if n_groups > 3:
            return f"{what} in {groups_phrase(by, n_groups)}: {items.pop()}"
        return f"{what} in {groups_phrase(by, n_groups)}: {items.pop()} ({figures} {unit})"
    if len(leaders) == 2:
        (g1, (i1, f1)), (g2, (i2, f2)) = leaders.items()
        return (
            f"{what}: {i1} in {short_label(g1, 12)} ({f1} {unit}), "
            f"{i2} in {short_label(g2, 12)} ({f2})"
        )
    return None
