"""Deal journeys: each stage entry with what came next, as one engine expression.

Funnel, cycle-time and velocity metrics all start from the same question:
after a deal entered a stage, where did it go next and when? ``stage_stays``
answers it once, with window functions in the engine, so no metric sorts
millions of stage events in pandas.
"""

from __future__ import annotations

import ibis
import pandas as pd

from analysis import columns as c
from analysis.engine import Workspace

# Columns of the stays table (in addition to deal_id, stage, entered_at).
STAGE_ORDER = "stage_order"  # position in the pipeline; won and lost share the last one
ENTRY_SEQ = "entry_seq"  # 0-based entry number within the deal, in time order
NEXT_STAGE = "next_stage"  # stage entered next (null for the deal's last entry)
LEFT_AT = "left_at"  # time the next stage was entered (null for the last entry)
IS_LAST = "is_last"  # the deal's latest entry


def stage_position(ws: Workspace, stage: ibis.Value) -> ibis.Value:
    """Pipeline position of a stage column (-1 for a stage not in the pipeline)."""
    pipeline = ws.pipeline
    cases = [(s, pipeline.order(s)) for s in pipeline.all_stages]
    return stage.cases(*cases, else_=-1)


def stage_stays(ws: Workspace) -> ibis.Table:
    """Every stage entry with the stage entered next and when.

    Parameters
    ----------
    ws : Workspace
        A workspace with a ``stage_events`` table.

    Returns
    -------
    ibis.Table
        One row per stage event: ``deal_id, stage, entered_at, stage_order,
        entry_seq, next_stage, left_at, is_last``.

    Notes
    -----
    Entries of a deal are ordered by ``entered_at``, then by pipeline
    position so that simultaneous entries (and derived entries without a time)
    follow the pipeline. ``next_stage`` and ``left_at`` come from
    ``LEAD`` over that order; a stay with a null ``left_at`` is the deal's
    current (or terminal) stage. A backward move is a stay whose
    ``next_stage`` has a lower ``stage_order``; a re-entry is a stage that
    appears more than once for a deal.
    """
    ev = ws.stage_events
    ev = ev.mutate(**{STAGE_ORDER: stage_position(ws, ev[c.STAGE])})
    window = ibis.window(
        group_by=ev[c.DEAL_ID],
        order_by=[ibis.asc(ev[c.ENTERED_AT], nulls_first=True), ev[STAGE_ORDER]],
    )
    stays = ev.select(
        c.DEAL_ID,
        c.STAGE,
        c.ENTERED_AT,
        STAGE_ORDER,
        **{
            ENTRY_SEQ: ibis.row_number().over(window),
            NEXT_STAGE: ev[c.STAGE].lead().over(window),
            LEFT_AT: ev[c.ENTERED_AT].lead().over(window),
        },
    )
    return stays.mutate(**{IS_LAST: stays[NEXT_STAGE].isnull()})


def data_cutoff(ws: Workspace) -> pd.Timestamp:
    """The time the data runs to: the latest timestamp among deals and stage events.

    Open deals and ongoing stays are censored here. Reports may pass an
    explicit export time instead when the source records one.
    """
    deals = ws.deals
    candidates = [deals[c.CREATED_AT].max()]
    if c.CLOSED_AT in deals.columns:
        candidates.append(deals[c.CLOSED_AT].max())
    if ws.has(c.STAGE_EVENTS):
        candidates.append(ws.stage_events[c.ENTERED_AT].max())
    values = [ws.execute(expr) for expr in candidates]
    values = [pd.Timestamp(v) for v in values if v is not None and not pd.isna(v)]
    if not values:
        return pd.NaT
    latest = max(values)
    return latest.tz_localize("UTC") if latest.tzinfo is None else latest.tz_convert("UTC")
