"""What was decided in each review period, counted in the engine.

A review looks at what happened in a period: the deals closed in it, the
stages deals left in it, the revenue won in it, the reps who carried
pipeline through it. Every count here is one grouped query over all the
periods at once (each row tagged with the period it falls in), so a
scorecard with its trend costs a handful of queries, not one per period.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from analysis.core.types import Window, to_utc
from analysis.engine.durations import seconds_between
from analysis.engine.reach import decided_at, reach_rows
from analysis.engine.workspace import Workspace
from analysis.scorecard import columns as c


def window_of(when: ibis.Value, windows: Sequence[Window]) -> ibis.Value:
    """The index of the window ``[start, end)`` that holds ``when``; null outside them all."""
    cases = [((when >= to_utc(w.start)) & (when < to_utc(w.end)), i) for i, w in enumerate(windows)]
    return ibis.cases(*cases, else_=ibis.null().cast("int64"))


def _tagged(table: ibis.Table, when: ibis.Value, windows: Sequence[Window]) -> ibis.Table:
    tagged = table.mutate(**{c.WINDOW: window_of(when, windows)})
    return tagged.filter(tagged[c.WINDOW].notnull())


def closed_outcomes(ws: Workspace, windows: Sequence[Window], keys: list[str]) -> pd.DataFrame:
    """Deals won and lost per window of ``closed_at`` and group: ``window, <keys>, won, lost``."""
    deals = ws.deals
    closed = deals.filter(deals[c.OUTCOME].isin([c.WON, c.LOST]))
    closed = _tagged(closed, closed[c.CLOSED_AT], windows)
    expr = closed.group_by([c.WINDOW, *keys]).aggregate(
        **{
            c.N_WON: (closed[c.OUTCOME] == c.WON).cast("int64").sum(),
            c.N_LOST: (closed[c.OUTCOME] == c.LOST).cast("int64").sum(),
        }
    )
    return ws.execute(expr)


def days_to_win(ws: Workspace, windows: Sequence[Window], keys: list[str]) -> pd.DataFrame:
    """Whole days from creation to close of the deals won in each window, as counts.

    Returns ``window, <keys>, days, count``: a histogram, which is all a
    median and its bootstrap need. Deals closed before they were created
    (logged after the fact) count as 0 days.
    """
    deals = ws.deals
    won = deals.filter((deals[c.OUTCOME] == c.WON) & deals[c.CREATED_AT].notnull())
    won = _tagged(won, won[c.CLOSED_AT], windows)
    seconds = seconds_between(ws, won[c.CREATED_AT], won[c.CLOSED_AT])
    days = (seconds / 86_400).floor().cast("int64")
    won = won.mutate(**{c.DAYS: ibis.greatest(days, 0)})
    expr = won.group_by([c.WINDOW, *keys, c.DAYS]).aggregate(**{c.COUNT: won.count()})
    return ws.execute(expr)


def stage_decisions(ws: Workspace, windows: Sequence[Window], keys: list[str]) -> pd.DataFrame:
    """Deals that advanced from or were lost at each stage, per window of that decision.

    Returns ``window, <keys>, stage, advanced, lost_here``. A deal advances
    from a stage when it enters a later one (implied reach), and is lost at
    the furthest stage it reached (:func:`analysis.engine.reach.decided_at`).
    """
    rows = reach_rows(ws, c.REACH_IMPLIED, keys, moves=False, decision_times=True)
    rows = _tagged(rows, decided_at(rows), windows)
    expr = rows.group_by([c.WINDOW, *keys, c.STAGE]).aggregate(
        **{
            c.N_ADVANCED: rows[c.IS_ADVANCED].cast("int64").sum(),
            c.N_LOST_HERE: rows[c.IS_LOST_HERE].cast("int64").sum(),
        }
    )
    return ws.execute(expr)


def rep_revenue(ws: Workspace, windows: Sequence[Window], keys: list[str]) -> pd.DataFrame:
    """Won revenue of each rep who carried pipeline in a window: ``window, <keys>, owner_id, won_amount``.

    A rep carried pipeline in a window when one of their deals was open at
    some time in it (created before its end, not closed before its start).
    Revenue is the amount of their deals won in the window, 0 for reps who
    won nothing; deals without an owner belong to no rep.
    """
    deals = ws.deals
    owned = deals.filter(deals[c.OWNER_ID].notnull() & deals[c.CREATED_AT].notnull())
    frame = pd.DataFrame(
        {
            c.WINDOW: range(len(windows)),
            "_start": [to_utc(w.start) for w in windows],
            "_end": [to_utc(w.end) for w in windows],
        }
    )
    spans = ibis.memtable(frame)
    pairs = owned.cross_join(spans)
    open_in = (pairs[c.CREATED_AT] < pairs["_end"]) & (
        pairs[c.CLOSED_AT].isnull() | (pairs[c.CLOSED_AT] >= pairs["_start"])
    )
    pairs = pairs.filter(open_in)
    won_in = (
        (pairs[c.OUTCOME] == c.WON)
        & (pairs[c.CLOSED_AT] >= pairs["_start"])
        & (pairs[c.CLOSED_AT] < pairs["_end"])
    )
    amount = ibis.ifelse(won_in, pairs[c.AMOUNT].fill_null(0.0), 0.0)
    expr = pairs.group_by([c.WINDOW, *keys, pairs[c.OWNER_ID].cast("string").name(c.OWNER_ID)])
    expr = expr.aggregate(**{c.WON_AMOUNT: amount.sum()})
    return ws.execute(expr)
