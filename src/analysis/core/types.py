"""One type per idea, shared by every package.

Time windows (:class:`Window`, read by :func:`as_window`), calendar
granularity, multiple-testing corrections and test alternatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd


def to_utc(value: str | pd.Timestamp) -> pd.Timestamp:
    """A timestamp in UTC; naive values are read as UTC."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


TimeLike = str | pd.Timestamp  # a date or time; naive values are read as UTC
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC; a side left None is open.

    Every analysis that restricts to a period takes one ``window`` argument:
    a :class:`Window` or a ``(start, end)`` pair (:data:`WindowLike`), read
    by :func:`as_window`.
    """

    start: pd.Timestamp | None
    end: pd.Timestamp | None

    @property
    def days(self) -> float:
        """Length of the window in days (NaN when a side is open)."""
        if self.start is None or self.end is None:
            return float("nan")
        return (self.end - self.start).total_seconds() / SECONDS_PER_DAY

    def label(self) -> str:
        """``'2026-04-01 to 2026-06-30'`` (the last day inclusive); open sides say so."""
        last = None if self.end is None else self.end - pd.Timedelta(days=1)
        if self.start is None and last is None:
            return "all dates"
        if self.start is None:
            return f"until {last:%Y-%m-%d}"
        if last is None:
            return f"from {self.start:%Y-%m-%d}"
        return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"

    def as_tuple(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """``(start, end)``."""
        return self.start, self.end


WindowLike = Window | tuple[TimeLike | None, TimeLike | None]


def as_window(
    window: WindowLike | None, name: str = "window", *, bounded: bool = False
) -> Window | None:
    """Read a ``window`` argument: a :class:`Window`, a ``(start, end)`` pair or None.

    Parameters
    ----------
    window : Window, (start, end) or None
        Dates or times; naive values are read as UTC. A side given as None is
        open (no bound); ``None`` for the whole window means no restriction.
    name : str
        The argument's name, for error messages.
    bounded : bool
        Require both sides (for comparisons between two windows).

    Returns
    -------
    Window or None

    Raises
    ------
    ValueError
        When ``window`` is not a pair, does not start before it ends, or
        lacks a side that ``bounded`` requires; the message names ``name``.
    """
    if window is None:
        if bounded:
            raise ValueError(f"{name} must be a Window or a (start, end) pair, got None.")
        return None
    if isinstance(window, Window):
        start = None if window.start is None else to_utc(window.start)
        end = None if window.end is None else to_utc(window.end)
    else:
        if isinstance(window, str | pd.Timestamp):
            window = (window,)  # a lone date is not a pair
        try:
            start, end = window
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must be a Window or a (start, end) pair, got {window!r}."
            ) from None
        start = None if start is None else to_utc(start)
        end = None if end is None else to_utc(end)
    if bounded and (start is None or end is None):
        raise ValueError(f"{name} needs both a start and an end, got [{start}, {end}).")
    if start is not None and end is not None and not start < end:
        raise ValueError(f"{name} must start before it ends, got [{start}, {end}).")
    if isinstance(window, Window) and window.as_tuple() == (start, end):
        return window
    return Window(start, end)


Correction = Literal["holm", "fdr_bh", "bonferroni", "none"]


CORRECTIONS: tuple[str, ...] = ("holm", "fdr_bh", "bonferroni", "none")


def check_correction(correction: str, allowed: Sequence[str] = CORRECTIONS) -> None:
    """Raise ``ValueError`` for a multiple-testing method that is not in ``allowed``."""
    if correction not in allowed:
        raise ValueError(f"correction must be one of {', '.join(allowed)}, not {correction!r}.")


Alternative = Literal["two-sided", "larger", "smaller"]


ALTERNATIVES = ("two-sided", "larger", "smaller")


def check_alternative(alternative: str) -> None:
    """Raise ``ValueError`` for an alternative other than the three supported."""
    if alternative not in ALTERNATIVES:
        raise ValueError(
            f'alternative must be "two-sided", "larger" or "smaller", not {alternative!r}.'
        )


Granularity = Literal["month", "quarter"]  # calendar buckets for trends and period tables
