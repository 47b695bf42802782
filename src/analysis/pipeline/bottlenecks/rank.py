"""Which bottleneck rows can be read, what each could not compute, and their order.

A transition row is *mature* when enough of the current window's entrants
were followed for the whole horizon and few of those are still undecided at
it; message codes say what a row lacks; the ranking puts mature significant
drops first, by the revenue they cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import (
    BASELINE,
    CURRENT,
    DECIDED,
    DIFFERENCE,
    NOTE_NO_VARIATION,
    NOTE_NO_WON_DEALS,
    P_ADJUSTED,
    P_VALUE,
    RANK,
)
from analysis.pipeline.bottlenecks._compare import windowed
from analysis.pipeline.bottlenecks.horizon import HORIZON_DAYS, N_FOLLOWED
from analysis.pipeline.bottlenecks.impact import AVG_WON_AMOUNT, DOWNSTREAM_WIN

MAX_OPEN_SHARE = 0.2  # above it (undecided at the horizon) a row is immature
MIN_FOLLOWED_SHARE = 0.5  # below it (current entrants followed for the horizon) too


OPEN_SHARE_CURRENT = windowed(c.OPEN_SHARE, CURRENT)  # undecided at the horizon / followed
FOLLOWED_SHARE_CURRENT = windowed("followed_share", CURRENT)  # followed / entered
SIGNIFICANT_DROP = "significant_drop"
REVENUE_IMPACT = "revenue_impact"
OVERALL_RANK = "overall_rank"

# Message codes (joined with "; " when several apply).
NOTE_NO_ENTRIES_CURRENT = "no_entries_current"
NOTE_NO_FOLLOWED_CURRENT = "no_full_follow_up_current"  # nobody was followed for the horizon
NOTE_NO_DECIDED_CURRENT = "no_decided_current"
NOTE_NO_DECIDED_BASELINE = "no_decided_baseline"
NOTE_NO_DOWNSTREAM = "no_downstream_rate"
NOTE_NO_HORIZON = "no_horizon"  # no decided deal in the baseline to set the horizon


def is_mature(table: pd.DataFrame) -> pd.Series:
    """``followed_share_current >= 0.5`` and ``open_share_current <= 0.2`` (False where NaN)."""
    return (
        (table[FOLLOWED_SHARE_CURRENT] >= MIN_FOLLOWED_SHARE)
        & (table[OPEN_SHARE_CURRENT] <= MAX_OPEN_SHARE)
    ).astype(bool)


def row_notes(table: pd.DataFrame) -> pd.Series:
    """The message codes of each row, joined with ``"; "`` (empty when all is well)."""
    checks = [
        (table[HORIZON_DAYS].isna(), NOTE_NO_HORIZON),
        (table[windowed(c.N_ENTERED, CURRENT)] == 0, NOTE_NO_ENTRIES_CURRENT),
        (
            (table[windowed(c.N_ENTERED, CURRENT)] > 0)
            & (table[windowed(N_FOLLOWED, CURRENT)] == 0),
            NOTE_NO_FOLLOWED_CURRENT,
        ),
        (table[windowed(DECIDED, CURRENT)] == 0, NOTE_NO_DECIDED_CURRENT),
        (table[windowed(DECIDED, BASELINE)] == 0, NOTE_NO_DECIDED_BASELINE),
        (table[DIFFERENCE].notna() & table[P_VALUE].isna(), NOTE_NO_VARIATION),
        (table[DOWNSTREAM_WIN].isna(), NOTE_NO_DOWNSTREAM),
        (table[AVG_WON_AMOUNT].isna(), NOTE_NO_WON_DEALS),
        (~table[c.MATURE], c.NOTE_IMMATURE),
    ]
    parts = pd.DataFrame({code: np.where(mask, code, "") for mask, code in checks})
    return parts.apply(lambda r: "; ".join(x for x in r if x), axis=1).set_axis(table.index)


def rank_transitions(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Order the rows: mature first; within each, significant drops by revenue impact, then p.

    Adds ``rank`` (within each group of ``keys``) and ``overall_rank``; returns
    the rows sorted by group and rank.
    """
    work = table.assign(_revenue=-table[REVENUE_IMPACT], _p=table[P_ADJUSTED])
    parts = []
    for mature in (True, False):
        for drop in (True, False):
            part = work[(work[c.MATURE] == mature) & (work[SIGNIFICANT_DROP] == drop)]
            order = ["_revenue", "_p"] if drop else ["_p", "_revenue"]
            parts.append(part.sort_values(order, na_position="last", kind="stable"))
    ranked = pd.concat(parts)
    ranked[OVERALL_RANK] = np.arange(1, len(ranked) + 1)
    if keys:
        ranked[RANK] = ranked.groupby(keys, dropna=False, sort=False).cumcount() + 1
        ranked = ranked.sort_values([*keys, RANK], kind="stable")
    else:
        ranked[RANK] = ranked[OVERALL_RANK]
    return ranked.drop(columns=["_revenue", "_p"]).reset_index(drop=True)
