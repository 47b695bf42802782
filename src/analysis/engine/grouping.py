"""Small helpers every metric uses to group, aggregate and handle time zones.

Kept in one place so that "by" arguments, grouped aggregates and UTC handling
behave the same in every analysis.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd


def as_keys(by: str | Sequence[str] | None) -> list[str]:
    """A ``by`` argument (None, one column or several) as a list of column names."""
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def aggregate_by(table: ibis.Table, keys: Sequence[str], **metrics: ibis.Value) -> ibis.Table:
    """``table.group_by(keys).aggregate(...)``, or one overall row when ``keys`` is empty."""
    if keys:
        return table.group_by(list(keys)).aggregate(**metrics)
    return table.aggregate(**metrics)


def series_to_utc(values: pd.Series) -> pd.Series:
    """A timestamp Series in UTC; backends return truncated times without their zone."""
    values = pd.to_datetime(values)
    if getattr(values.dt, "tz", None) is None:
        return values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC")
