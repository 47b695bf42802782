"""Duration tables for cycle time: rounding in the engine, Kaplan–Meier summaries per group.

Shared by :mod:`analysis.pipeline.cycle.stage` (time in stage) and
:mod:`analysis.pipeline.cycle.close` (time to close): the result column names and
message codes, the engine-side rounding and aggregation of durations to
(days, event or cause, count) rows, and the KM median / quartile summary
of one group.
"""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import COUNT, DAYS
from analysis.engine.workspace import Workspace
from analysis.stats import survival as sv

# --- result columns ----------------------------------------------------------------
EVENT = "event"  # duration table: 1 = finished (stay left / deal closed), 0 = censored
CAUSE = "cause"  # duration table of time to close: 0 open, 1 won, 2 lost
N_STAYS = "n_stays"
N_CENSORED = "n_censored"
MEDIAN_DAYS = "median_days"
MEDIAN_CI_LOW = "median_ci_low"
MEDIAN_CI_HIGH = "median_ci_high"
Q1_DAYS = "q1_days"  # 25% have finished by then
Q3_DAYS = "q3_days"  # 75% have finished by then
KM_MEDIAN_DAYS = "km_median_days"
KM_MEDIAN_CI_LOW = "km_median_ci_low"
KM_MEDIAN_CI_HIGH = "km_median_ci_high"
KM_Q1_DAYS = "km_q1_days"
KM_Q3_DAYS = "km_q3_days"
WON_ONLY_MEAN_DAYS = "won_only_mean_days"  # what CRM reports show: mean over won deals
WON_ONLY_MEDIAN_DAYS = "won_only_median_days"
CLOSED_ONLY_MEAN_DAYS = "closed_only_mean_days"
CLOSED_ONLY_MEDIAN_DAYS = "closed_only_median_days"
CIF_WON = "cif_won"  # probability of being won by `days`
CIF_LOST = "cif_lost"
VAR_WON, VAR_LOST = "var_cif_won", "var_cif_lost"  # delta-method variances (internal)
HORIZON_DAYS = "horizon_days"
P_WON, P_WON_CI_LOW, P_WON_CI_HIGH = "p_won", "p_won_ci_low", "p_won_ci_high"
P_LOST, P_LOST_CI_LOW, P_LOST_CI_HIGH = "p_lost", "p_lost_ci_low", "p_lost_ci_high"
P_OPEN = "p_open"

# --- message codes in the note column ------------------------------------------------
NOTE_NO_STAYS = "no_stays"
NOTE_NO_DEALS = "no_deals"
NOTE_NO_EVENTS = "no_completed_stays"
NOTE_MEDIAN_NOT_REACHED = "median_not_reached"
NOTE_CI_OPEN_ABOVE = "median_ci_open_above"
NOTE_CI_NOT_ESTIMABLE = "median_ci_not_estimable"
NOTE_BEYOND_FOLLOW_UP = "beyond_follow_up"


CLOSE_HORIZONS = (30, 90, 180, 365)
CAUSE_OPEN, CAUSE_WON, CAUSE_LOST = 0, 1, 2


def aggregate_durations(
    ws: Workspace, table: ibis.Table, keys: list[str], flag: str
) -> pd.DataFrame:
    """``<keys>, days, <flag>, count``: durations counted per group, day value and flag.

    Rows are sorted by ``<keys>, days, <flag>``: the engine returns a grouped
    aggregate in no particular order (it varies between runs on several
    threads), and sums over the rows (won-only means) should not.
    """
    expr = table.group_by([*keys, DAYS, flag]).aggregate(**{COUNT: table.count()})
    out = ws.execute(expr)
    out[COUNT] = out[COUNT].astype("int64")
    out = out.sort_values([*keys, DAYS, flag], kind="stable", na_position="last")
    return out.reset_index(drop=True)


def drop_unusable(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop durations that are missing or negative; return the rest and how many went.

    Done on the aggregate, so the engine runs one query instead of two.
    """
    usable = table[DAYS].notna() & (table[DAYS] >= 0)
    return table[usable].reset_index(drop=True), int(table.loc[~usable, COUNT].sum())


def iter_groups(frame: pd.DataFrame, keys: list[str]) -> Iterator[tuple[tuple, pd.DataFrame]]:
    """``(group values, rows)`` per group of ``frame`` (one ``((), frame)`` without keys)."""
    if not keys:
        yield (), frame
        return
    for key, part in frame.groupby(keys, sort=True, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), part


def km_summary(days, event, count, alpha: float, empty: str, no_events: str) -> dict:
    """KM median, interval and quartiles of one group, with a note code."""
    n = int(np.sum(count))
    censored = int(np.sum(np.asarray(count)[np.asarray(event) == 0]))
    row = {
        N_STAYS: n,
        N_CENSORED: censored,
        "median": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "q1": np.nan,
        "q3": np.nan,
    }
    if n == 0:
        return {**row, c.NOTE: empty}
    if n == censored:
        return {**row, c.NOTE: no_events}
    q = sv.km_quantiles(sv.fit_km(days, event, count), alpha)
    note = ""
    if np.isnan(q["median"]):
        note = NOTE_MEDIAN_NOT_REACHED
    elif np.isinf(q["ci_high"]):
        note = NOTE_CI_OPEN_ABOVE
    elif np.isnan(q["ci_low"]):
        note = NOTE_CI_NOT_ESTIMABLE
    q["ci_high"] = np.nan if np.isinf(q["ci_high"]) else q["ci_high"]
    return {**row, **q, c.NOTE: note}
