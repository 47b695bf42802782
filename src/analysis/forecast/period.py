"""Which window to forecast and from when: the quarter in progress, from the data's cut-off."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import MissingInput
from analysis.core.types import to_utc
from analysis.engine.journey import data_cutoff
from analysis.engine.periods import last_full_quarter
from analysis.engine.workspace import Workspace

__all__ = ["forecast_period", "waterfall_dates"]


def forecast_period(
    ws: Workspace,
    period_start: str | None = None,
    period_end: str | None = None,
    as_of: str | None = None,
) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """The window ``[start, end)`` to forecast and the moment ``as_of`` to read the pipeline.

    Parameters
    ----------
    ws : Workspace
    period_start, period_end : str, optional
        The window; both None means the quarter after the last full quarter
        before the data's cut-off (the quarter in progress). A start alone
        runs three months.
    as_of : str, optional
        Default: the data's cut-off (:func:`analysis.engine.journey.data_cutoff`),
        or the window's start when that comes first.

    Raises
    ------
    MissingInput
        When the data has no date to place a default window or as_of.
    ValueError
        When an end is given without a start, or the window is empty.
    """
    dated = c.CREATED_AT in ws.deals.columns
    cutoff = data_cutoff(ws) if dated else pd.NaT
    if period_start is None:
        if period_end is not None:
            raise ValueError("period_end needs a period_start (or leave both empty).")
        if pd.isna(cutoff):
            raise MissingInput(
                "The forecast", "any date in the data", "pass period_start and as_of"
            )
        start = last_full_quarter(cutoff).end
    else:
        start = to_utc(period_start)
    end = start + pd.DateOffset(months=3) if period_end is None else to_utc(period_end)
    if not start < end:
        raise ValueError(f"The window must end after it starts; got {start} to {end}.")
    if as_of is not None:
        moment = to_utc(as_of)
    elif pd.isna(cutoff):
        raise MissingInput("The forecast", "any date in the data", "pass as_of")
    else:
        moment = min(to_utc(cutoff), end - pd.Timedelta(seconds=1))
    return start, end, moment


def waterfall_dates(
    start: pd.Timestamp, end: pd.Timestamp, as_of: pd.Timestamp
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The dates a forecast page bridges the pipeline between: one window's length to ``as_of``.

    The pipeline expected to close by ``end`` moves from ``min(start, as_of) - (end - start)``
    to ``as_of``: the last stretch as long as the window before it is read.
    """
    return min(start, as_of) - (end - start), as_of
