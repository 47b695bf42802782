"""Analysis windows: the current period and its baseline, resolved from the data.

Notebooks take literal parameters; when a window is left empty it resolves
here, from the data's cut-off, so a scheduled run always analyses the last
complete quarter against the year before it.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.types import Window, to_utc
from analysis.engine.journey import data_cutoff
from analysis.engine.workspace import Workspace


def quarter_start(ts: pd.Timestamp) -> pd.Timestamp:
    """The first instant of the calendar quarter (UTC) containing ``ts``."""
    ts = to_utc(ts)
    return pd.Timestamp(year=ts.year, month=3 * ((ts.month - 1) // 3) + 1, day=1, tz="UTC")


def last_full_quarter(cutoff: pd.Timestamp) -> Window:
    """The last calendar quarter that ended on or before ``cutoff``.

    A cutoff on the last day of a quarter counts that quarter as complete
    (exports are usually taken during the last day).
    """
    cutoff = to_utc(cutoff)
    next_day = (cutoff + pd.Timedelta(days=1)).normalize()
    end = quarter_start(next_day)
    return Window(end - pd.DateOffset(months=3), end)


def preceding(window: Window, quarters: int = 4) -> Window:
    """The ``quarters`` calendar quarters immediately before ``window``."""
    return Window(window.start - pd.DateOffset(months=3 * quarters), window.start)


def resolve_windows(
    ws: Workspace,
    period_start: str | None = None,
    period_end: str | None = None,
    baseline_start: str | None = None,
    baseline_end: str | None = None,
    baseline_quarters: int = 4,
) -> tuple[Window, Window]:
    """The current and baseline windows from notebook parameters.

    Parameters
    ----------
    ws : Workspace
    period_start, period_end : str, optional
        The current window; both None means the last full quarter before the
        data's cut-off (:func:`analysis.engine.journey.data_cutoff`). A start alone
        runs to the end of the data; an end alone covers the three months
        before it.
    baseline_start, baseline_end : str, optional
        The baseline, with the same rules; both None means the
        ``baseline_quarters`` quarters just before the current window.
    baseline_quarters : int
        Length of the default baseline.

    Returns
    -------
    (Window, Window)
        Current and baseline; both open (all dates) when the data has no date
        at all and no window is given.

    Raises
    ------
    ValueError
        When a window is empty (its end is not after its start).
    """
    cutoff = data_cutoff(ws)
    if pd.isna(cutoff) and period_start is None and period_end is None:
        # Data without any date: no period to compare. Both windows are open;
        # the analyses that compare periods need dates and say so (their Shape).
        return Window(None, None), Window(None, None)
    current = _window(period_start, period_end, "period", cutoff)
    if current is None:
        current = last_full_quarter(cutoff)
    baseline = _window(baseline_start, baseline_end, "baseline", cutoff)
    if baseline is None:
        baseline = preceding(current, baseline_quarters)
    return current, baseline


def _window(start: str | None, end: str | None, name: str, cutoff: pd.Timestamp) -> Window | None:
    if start is None and end is None:
        return None
    if end is None:  # from start to the end of the data
        end = (to_utc(cutoff) + pd.Timedelta(days=1)).normalize()
    if start is None:  # the quarter (three months) ending at end
        start = to_utc(end) - pd.DateOffset(months=3)
    window = Window(to_utc(start), to_utc(end))
    if window.end <= window.start:
        raise ValueError(f"{name}_end ({end}) must come after {name}_start ({start}).")
    return window


def spanning(current: Window, baseline: Window) -> Window:
    """The window from the earlier start of the two to the current window's end.

    An open side stays open: with data without dates both windows are open
    and so is their span.
    """
    starts = (current.start, baseline.start)
    start = None if None in starts else min(starts)
    return Window(start, current.end)
