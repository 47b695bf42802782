"""One chart style for every report: palette, figure size, points with interval bars."""

from __future__ import annotations

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
