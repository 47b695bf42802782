"""A trend line small enough to sit in a table cell: an SVG image embedded in the page.

Leaders read the scorecard on a phone or on paper, so the line is vector
(sharp at any zoom, prints cleanly). It is an ``<img>`` with a ``data:``
URI, the one form of picture the pages' sanitiser lets through (an image
cannot run script), and carries its values in ``title`` and ``alt``, which
browsers show on hover and screen readers read out.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Sequence

from analysis.present.redaction import escape_html

WIDTH, HEIGHT, PAD = 96, 24, 3


def sparkline(
    values: Sequence[float],
    labels: Sequence[str] | None = None,
    describe: Callable[[float], str] = "{:.3g}".format,
    colour: str = "#4c72b0",
) -> str:
    """An inline SVG line through ``values`` (oldest first), its last point marked.

    Parameters
    ----------
    values : sequence of float
        NaN (a period with nothing to measure) leaves a gap.
    labels : sequence of str, optional
        The periods, for the hover text.
    describe : callable
        Formats a value for the hover text.
    colour : str

    Returns
    -------
    str
        ``<img class="sparkline" …>`` markup; an empty string when fewer than
        two values are known.
    """
    known = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(known) < 2:
        return ""
    low, high = min(v for _, v in known), max(v for _, v in known)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)

    def point(i: int, v: float) -> tuple[float, float]:
        return PAD + i * step, HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD)

    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None or math.isnan(v):
            runs.append([])
        else:
            runs[-1].append(point(i, v))
    lines = "".join(
        f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in run)}" fill="none" '
        f'stroke="{colour}" stroke-width="1.5"/>'
        for run in runs
        if len(run) > 1
    )
    x, y = point(*known[-1])
    names = list(labels) if labels is not None else [str(i + 1) for i in range(len(values))]
    hover = "; ".join(f"{names[i]}: {describe(v)}" for i, v in known)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">{lines}'
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/></svg>'
    )
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img class="sparkline" width="{WIDTH}" height="{HEIGHT}" alt="{escape_html(hover)}" '
        f'title="{escape_html(hover)}" src="data:image/svg+xml;base64,{data}">'
    )
