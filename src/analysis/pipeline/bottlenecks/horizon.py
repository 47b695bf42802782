"""Stage outcomes within a common follow-up horizon, so young and old cohorts compare fairly.

A cohort that entered a stage last month has had less time to advance or be
lost than one that entered last year; comparing their decided shares mixes
the process with the calendar. Here every (deal, stage) gets the time from its
entry to its decision at that stage, and two windows are compared on what
happened within the same horizon ``H`` after entry, among deals followed for
at least ``H`` days. ``H`` comes from the data: a high quantile of the
decision times of the baseline window. Row-level work runs in the engine; the
result is one small row per (groups, stage) and window.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.durations import seconds_between
from analysis.engine.journey import data_cutoff
from analysis.engine.reach import decided_at, reach_rows
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle.durations import HORIZON_DAYS

# Columns of the per-(deal, stage) decision table and of the counts.
DECISION_DAYS = "decision_days"  # entry to advance (or loss) at the stage; null while undecided
FOLLOW_DAYS = "follow_days"  # entry to the data cutoff
MEDIAN_FOLLOW_DAYS = "median_follow_days"  # of a window's entrants: half followed this long
N_FOLLOWED = "followed"  # entered and followed for at least the horizon
N_OPEN_AT_HORIZON = "open_at_horizon"  # followed, but neither advanced nor lost within it
DEFAULT_HORIZON_QUANTILE = 0.9


def _days(ws: Workspace, start: ibis.Value, end: ibis.Value) -> ibis.Value:
    return (seconds_between(ws, start, end) / SECONDS_PER_DAY).cast("float64")


def decision_rows(ws: Workspace, reach: str, keys: list[str]) -> ibis.Table:
    """:func:`~analysis.engine.reach.deal_stage_reach` rows with decision and follow-up days.

    Returns
    -------
    ibis.Table
        ``deal_id, created_at, <keys>, stage, stage_entered_at, reached,
        is_advanced, is_lost_here`` of the reach rows, plus ``decision_days``
        (null unless the deal advanced or was lost at the stage, or when that
        time is unknown) and ``follow_days`` (entry to the data cut-off).

    Notes
    -----
    A deal advances from stage ``s`` when it first enters any later stage
    (won included); under the implied entry times of ``deal_stage_reach``
    that is the entry time of the next stage. The last open stage advances
    at the won entry (or ``closed_at`` of a won deal). A loss happens at the
    lost entry (or ``closed_at``). Negative times (entries recorded out of
    order) count as 0. The next stage's entry and the terminal entries come
    with the reach rows (:func:`~analysis.engine.reach.reach_rows`), from
    the same per-deal pass, so no window or join runs over the deal x stage rows.
    """
    rows = reach_rows(ws, reach, keys, moves=False, decision_times=True)
    entered = rows[c.STAGE_ENTERED_AT]
    cutoff = data_cutoff(ws)
    cut = ibis.literal(cutoff) if not pd.isna(cutoff) else ibis.null().cast("timestamp('UTC')")
    # Clip negative days at 0 but keep null (undecided): GREATEST ignores nulls
    # in DuckDB, so greatest(null, 0) would turn an open deal into a decision.
    days = _days(ws, entered, decided_at(rows))
    decision = ibis.cases((days < 0, 0.0), else_=days)
    out = rows.select(
        c.DEAL_ID, c.CREATED_AT, *keys, c.STAGE, c.STAGE_ENTERED_AT, c.REACHED,
        c.IS_ADVANCED, c.IS_LOST_HERE,
        **{DECISION_DAYS: decision, FOLLOW_DAYS: _days(ws, entered, cut)},
    )  # fmt: skip
    return out


def in_window(
    rows: ibis.Table, cohort: str, window: tuple[pd.Timestamp, pd.Timestamp]
) -> ibis.Table:
    """The rows of one window's cohort: by stage entry or by creation in ``[start, end)``."""
    start, end = window
    when = rows[c.STAGE_ENTERED_AT] if cohort == c.COHORT_STAGE_ENTRY else rows[c.CREATED_AT]
    return rows.filter(rows[c.REACHED] & (when >= start) & (when < end))


def choose_horizons(
    ws: Workspace,
    rows: ibis.Table,
    keys: list[str],
    skeleton: pd.DataFrame,
    quantile: float = DEFAULT_HORIZON_QUANTILE,
    fixed_days: float | None = None,
) -> pd.DataFrame:
    """Horizon ``H`` per (groups, stage) of ``skeleton``: a quantile of decision days, rounded up.

    ``rows`` are the baseline window's rows. ``H`` is the ``quantile`` of the
    decision days of the group's decided deals at the stage, rounded up to
    whole days (at least 1). Where a group has no decided deal at a stage, the
    stage's quantile over all groups is used; where no group has one, ``H``
    is NaN. ``fixed_days`` sets one horizon for every row instead.
    """
    out = skeleton[[*keys, c.STAGE]].copy()
    if fixed_days is not None:
        out[HORIZON_DAYS] = float(fixed_days)
        return out
    decided = rows.filter(rows[DECISION_DAYS].notnull())
    q = decided[DECISION_DAYS].quantile(quantile)
    per_stage = ws.execute(decided.group_by(c.STAGE).aggregate(_all=q))
    out = out.merge(per_stage, on=c.STAGE, how="left")
    if keys:
        per_group = ws.execute(decided.group_by([*keys, c.STAGE]).aggregate(_q=q))
        out = out.merge(per_group, on=[*keys, c.STAGE], how="left")
        value = out["_q"].astype(float).fillna(out["_all"].astype(float))
    else:
        value = out["_all"].astype(float)
    out[HORIZON_DAYS] = np.ceil(value.clip(lower=1.0))
    return out[[*keys, c.STAGE, HORIZON_DAYS]]


def _horizon_counts(
    ws: Workspace,
    rows: ibis.Table,
    keys: list[str],
    horizons: pd.DataFrame,
) -> pd.DataFrame:
    """Entered, followed, advanced, lost, open-at-horizon and median follow-up per (groups, stage).

    ``horizons`` has one ``horizon_days`` per (groups, stage); rows of other
    groups get no horizon (nothing is followed).
    """
    table = ibis.memtable(horizons.astype({HORIZON_DAYS: float}))
    on = [rows[k].identical_to(table[k]) for k in keys] + [rows[c.STAGE] == table[c.STAGE]]
    joined = rows.left_join(table, on)
    h = joined[HORIZON_DAYS]
    followed = (joined[FOLLOW_DAYS] >= h).fill_null(False)
    within = (joined[DECISION_DAYS] <= h).fill_null(False)
    advanced = followed & joined[c.IS_ADVANCED] & within
    lost = followed & joined[c.IS_LOST_HERE] & within

    def total(flag: ibis.Value) -> ibis.Value:
        return flag.cast("int64").sum()

    expr = joined.group_by([*[joined[k] for k in keys], joined[c.STAGE]]).aggregate(
        **{
            c.N_ENTERED: joined.count(),
            N_FOLLOWED: total(followed),
            c.N_ADVANCED: total(advanced),
            c.N_LOST: total(lost),
            MEDIAN_FOLLOW_DAYS: joined[FOLLOW_DAYS].median(),
        }
    )
    out = ws.execute(expr)
    out[N_OPEN_AT_HORIZON] = out[N_FOLLOWED] - out[c.N_ADVANCED] - out[c.N_LOST]
    return out


def window_counts(
    ws: Workspace, rows: ibis.Table, keys: list[str], horizons: pd.DataFrame
) -> pd.DataFrame:
    """:func:`_horizon_counts` on every (groups, stage) of ``horizons``, zero-filled, with ``H``."""
    counts = _horizon_counts(ws, rows, keys, horizons)
    out = horizons.merge(counts, on=[*keys, c.STAGE], how="left")
    for name in (c.N_ENTERED, N_FOLLOWED, c.N_ADVANCED, c.N_LOST, N_OPEN_AT_HORIZON):
        out[name] = out[name].fillna(0).astype("int64")
    return out
