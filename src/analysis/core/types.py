"""One type per idea, shared by every package: time windows, period granularity, multiple-testing corrections and test alternatives."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd


def to_utc(value: str | pd.Timestamp) -> pd.Timestamp:
    """A timestamp in UTC; naive values are read as UTC."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


WindowPair = tuple[str | pd.Timestamp, str | pd.Timestamp]


def window_pair(window: WindowPair, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """A ``(start, end)`` argument as UTC timestamps, checked.

    Raises
    ------
    ValueError
        When ``window`` is not a pair or does not start before it ends; the
        message names the argument (``name``).
    """
    try:
        start, end = window
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (start, end) pair, got {window!r}.") from None
    start, end = to_utc(start), to_utc(end)
    if not start < end:
        raise ValueError(f"{name} must start before it ends, got [{start}, {end}).")
    return start, end


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> float:
        """Length of the window in days."""
        return (self.end - self.start).total_seconds() / 86_400

    def label(self) -> str:
        """``'2026-04-01 to 2026-06-30'`` (the last day inclusive)."""
        last = self.end - pd.Timedelta(days=1)
        return f"{self.start:%Y-%m-%d} to {last:%Y-%m-%d}"

    def as_tuple(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(start, end)`` for functions that take a pair."""
        return self.start, self.end


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
