"""Time in each stage by Kaplan–Meier, counting stays that are still running as censored.

A *stay* is one entry into an open stage; a finished stay ends when the deal
enters another stage, an ongoing one is censored at the data cut-off. The
engine reduces the stays to (group, stage, days, event, count) rows and
statsmodels' ``SurvfuncRight`` does the rest
(:mod:`analysis.pipeline.cycle.durations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.core import columns as c
from analysis.core.types import WindowLike
from analysis.engine.durations import null_timestamp, rounded_days
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import as_keys
from analysis.engine.journey import LEFT_AT, data_cutoff, stage_stays
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle.durations import (
    COUNT,
    DAYS,
    EVENT,
    MEDIAN_CI_HIGH,
    MEDIAN_CI_LOW,
    MEDIAN_DAYS,
    N_CENSORED,
    N_STAYS,
    NOTE_NO_EVENTS,
    NOTE_NO_STAYS,
    Q1_DAYS,
    Q3_DAYS,
    aggregate_durations,
    drop_unusable,
    iter_groups,
    km_summary,
)


@dataclass(frozen=True)
class TimeInStage:
    """Kaplan–Meier time in each open stage, per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, stage), stages in pipeline order: ``<by...>,
        stage, n_stays, n_censored, median_days, median_ci_low,
        median_ci_high, q1_days, q3_days, note``.
    durations : pandas.DataFrame
        The engine's aggregate ``<by...>, stage, days, event, count``.
    by : tuple of str
    alpha : float
    cutoff : pandas.Timestamp
        Where ongoing stays are censored.
    n_excluded : int
        Stays left out: no entry time, negative duration, or a closed deal
        whose last open stage has no exit time.
    """

    table: pd.DataFrame
    durations: pd.DataFrame
    by: tuple[str, ...]
    alpha: float
    cutoff: pd.Timestamp
    n_excluded: int

    def to_frame(self) -> pd.DataFrame:
        """The per-stage summary as a DataFrame (a copy)."""
        return self.table.copy()


def time_in_stage(
    ws: Workspace,
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    *,
    window: WindowLike | None = None,
) -> TimeInStage:
    """Median time in each open stage with its interval and quartiles (Kaplan–Meier).

    Parameters
    ----------
    ws : Workspace
        With ``deals`` and ``stage_events``.
    by : str or list of str, optional
        Deal columns to group by (segment, source, owner_id, ...).
    alpha : float
        1 - confidence level of the median's interval.
    window : Window or (start, end), optional
        Only deals created in ``[start, end)`` (naive times read as UTC); the
        cut-off stays the data's.

    Returns
    -------
    TimeInStage

    Notes
    -----
    A *stay* is one entry into an open stage (``journey.stage_stays``); a
    deal that re-enters a stage has several. A stay is finished (event) when
    the deal entered another stage (``left_at``) — advancing, moving back or
    being lost — and its duration is ``left_at - entered_at``. The deal's
    current stay is censored at ``data_cutoff(ws)`` when the deal is open; when
    the deal is closed but no terminal stage was recorded, the stay ends (event)
    at ``closed_at``, else it is excluded. Terminal stages are not stays.
    Durations are rounded to 0.01 day in the engine and the (days, event,
    count) table is fitted with ``SurvfuncRight(freq_weights=count)``; median
    and quartiles follow R ``survival`` (the midpoint where the curve is flat at
    exactly 0.5, 0.75 or 0.25); the interval is Brookmeyer–Crowley with
    Greenwood's variance
    (:func:`analysis.stats.survival.fit_km`, :func:`analysis.stats.survival.km_quantiles`).
    """
    keys = as_keys(by)
    pipeline = ws.pipeline
    cutoff = data_cutoff(ws)
    stays = stage_stays(ws, [LEFT_AT])  # the one window column read here
    stays = stays.filter(stays[c.STAGE].isin(list(pipeline.stages)))
    deals = deals_created_in(ws, window)
    closed_at = deals[c.CLOSED_AT] if c.CLOSED_AT in deals.columns else null_timestamp()
    deal_cols = deals.select(c.DEAL_ID, *keys, _outcome=deals[c.OUTCOME], _closed_at=closed_at)
    j = stays.inner_join(deal_cols, c.DEAL_ID)
    is_open = j._outcome == c.OPEN
    cut = ibis.literal(cutoff) if not pd.isna(cutoff) else null_timestamp()
    end = ibis.coalesce(j[LEFT_AT], ibis.ifelse(is_open, cut, j._closed_at))
    event = ibis.ifelse(j[LEFT_AT].notnull() | ~is_open, 1, 0)
    j = j.mutate(**{DAYS: rounded_days(ws, j[c.ENTERED_AT], end), EVENT: event})
    table, n_excluded = drop_unusable(aggregate_durations(ws, j, [*keys, c.STAGE], EVENT))

    rows = []
    for group, part in iter_groups(table, keys):
        for stage in pipeline.stages:
            s = part[part[c.STAGE] == stage]
            r = km_summary(
                s[DAYS].to_numpy(), s[EVENT].to_numpy(), s[COUNT].to_numpy(),
                alpha, NOTE_NO_STAYS, NOTE_NO_EVENTS,
            )  # fmt: skip
            rows.append({**dict(zip(keys, group, strict=True)), c.STAGE: stage, **r})
    out = pd.DataFrame(rows).rename(
        columns={
            "median": MEDIAN_DAYS,
            "ci_low": MEDIAN_CI_LOW,
            "ci_high": MEDIAN_CI_HIGH,
            "q1": Q1_DAYS,
            "q3": Q3_DAYS,
        }
    )
    cols = [*keys, c.STAGE, N_STAYS, N_CENSORED, MEDIAN_DAYS, MEDIAN_CI_LOW, MEDIAN_CI_HIGH]
    out = out.reindex(columns=[*cols, Q1_DAYS, Q3_DAYS, c.NOTE])
    return TimeInStage(out, table, tuple(keys), alpha, cutoff, n_excluded)
