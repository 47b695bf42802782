"""Row filters every analysis shares: deals created in a window."""

from __future__ import annotations

import ibis

from analysis.core import columns as c
from analysis.core.types import WindowLike, as_window
from analysis.engine.workspace import Workspace


def deals_created_in(ws: Workspace, window: WindowLike | None = None) -> ibis.Table:
    """Deals created in ``window = [start, end)``; all deals when None.

    Parameters
    ----------
    ws : Workspace
    window : Window or (start, end), optional
        Bounds of the creation date (:func:`analysis.core.types.as_window`);
        a side left None is open. Naive values are read as UTC.

    Returns
    -------
    ibis.Table
        The filtered deals expression. Deals without a ``created_at`` (allowed
        for some current-stage-only sources) are kept only when no bound is given.
    """
    window = as_window(window)
    deals = ws.deals
    if window is None:
        return deals
    if window.start is not None:
        deals = deals.filter(deals[c.CREATED_AT] >= window.start)
    if window.end is not None:
        deals = deals.filter(deals[c.CREATED_AT] < window.end)
    return deals
