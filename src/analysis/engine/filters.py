"""Row filters every analysis shares: deals created in a window."""

from __future__ import annotations

import ibis
import pandas as pd

from analysis.core import columns as c
from analysis.core.types import WindowPair, to_utc
from analysis.engine.workspace import Workspace


def deals_in_period(
    ws: Workspace, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
) -> ibis.Table:
    """Deals created in ``[start, end)``.

    Parameters
    ----------
    ws : Workspace
    start, end : str or Timestamp, optional
        Bounds of the creation date; None leaves that side open. Naive values
        are read as UTC.

    Returns
    -------
    ibis.Table
        The filtered deals expression. Deals without a ``created_at`` (allowed
        for some current-stage-only sources) are kept only when no bound is given.
    """
    deals = ws.deals
    if start is not None:
        deals = deals.filter(deals[c.CREATED_AT] >= to_utc(start))
    if end is not None:
        deals = deals.filter(deals[c.CREATED_AT] < to_utc(end))
    return deals


def created_in(ws: Workspace, period: WindowPair | None) -> ibis.Table:
    """The deals created in ``period = (start, end)`` (``[start, end)``, UTC); all when None."""
    if period is None:
        return ws.deals
    try:
        start, end = period
    except (TypeError, ValueError):
        raise ValueError(f"period must be a (start, end) pair or None, got {period!r}.") from None
    if not to_utc(start) < to_utc(end):
        raise ValueError(f"period must start before it ends, got [{start}, {end}).")
    return deals_in_period(ws, start, end)
