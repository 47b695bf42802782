"""Deal journeys: each stage entry with what came next, as one engine expression.

Funnel, cycle-time and velocity metrics all start from the same question:
after a deal entered a stage, where did it go next and when? ``stage_stays``
answers it once, with window functions in the engine, so no metric sorts
millions of stage events in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from analysis.core import columns as c
from analysis.engine.needs import STAGE_HISTORY
from analysis.engine.workspace import Workspace

# Columns of the stays table (in addition to deal_id, stage, entered_at).
STAGE_ORDER = "stage_order"  # position in the pipeline; won and lost share the last one
ENTRY_SEQ = "entry_seq"  # 0-based entry number within the deal, in time order
NEXT_STAGE = "next_stage"  # stage entered next (null for the deal's last entry)
LEFT_AT = "left_at"  # time the next stage was entered (null for the last entry)
IS_LAST = "is_last"  # the deal's latest entry
STAY_COLUMNS = (ENTRY_SEQ, NEXT_STAGE, LEFT_AT, IS_LAST)


def stage_position(ws: Workspace, stage: ibis.Value) -> ibis.Value:
    """Pipeline position of a stage column (-1 for a stage not in the pipeline)."""
    pipeline = ws.pipeline
    cases = [(s, pipeline.order(s)) for s in pipeline.all_stages]
    return stage.cases(*cases, else_=-1)


def _stage_events(ws: Workspace) -> ibis.Table:
    """The stage events, after checking the data has them (one check per reader)."""
    STAGE_HISTORY.check(ws)
    return ws.stage_events


def stage_stays(ws: Workspace, columns: Sequence[str] = STAY_COLUMNS) -> ibis.Table:
    """Every stage entry with the stage entered next and when.

    Parameters
    ----------
    ws : Workspace
        A workspace with a ``stage_events`` table.
    columns : sequence of str
        Which of ``entry_seq, next_stage, left_at, is_last`` to compute (all
        by default). Each is a window function over every stage event, so a
        metric that reads only some of them asks for those.

    Returns
    -------
    ibis.Table
        One row per stage event: ``deal_id, stage, entered_at, stage_order``
        and the requested of ``entry_seq, next_stage, left_at, is_last``.

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
    ev = _stage_events(ws)
    ev = ev.mutate(**{STAGE_ORDER: stage_position(ws, ev[c.STAGE])})
    window = ibis.window(
        group_by=ev[c.DEAL_ID],
        order_by=[ibis.asc(ev[c.ENTERED_AT], nulls_first=True), ev[STAGE_ORDER]],
    )
    unknown = set(columns) - set(STAY_COLUMNS)
    if unknown:
        raise ValueError(f"Unknown stay column {sorted(unknown)[0]!r}; choose from {STAY_COLUMNS}.")
    windowed = {
        ENTRY_SEQ: ibis.row_number().over(window),
        NEXT_STAGE: ev[c.STAGE].lead().over(window),
        LEFT_AT: ev[c.ENTERED_AT].lead().over(window),
    }
    needed = {*columns, *([NEXT_STAGE] if IS_LAST in columns else [])}
    base = (c.DEAL_ID, c.STAGE, c.ENTERED_AT, STAGE_ORDER)
    stays = ev.select(*base, **{k: v for k, v in windowed.items() if k in needed})
    if IS_LAST in columns:
        stays = stays.mutate(**{IS_LAST: stays[NEXT_STAGE].isnull()})
    return stays.select(*base, *[name for name in STAY_COLUMNS if name in columns])


def data_cutoff(ws: Workspace) -> pd.Timestamp:
    """The time the data runs to: the latest timestamp among deals, stage events and changes.

    Open deals and ongoing stays are censored here. The close dates of open
    deals (expected closes) do not count. When ingest recorded the export's
    own time (``as_of`` in the manifest: a CRM's last-modified stamps or
    ``--as-of``), that is the cut-off.
    """
    recorded = (ws.manifest or {}).get("as_of")
    if recorded:
        return pd.Timestamp(recorded).tz_convert("UTC")
    deals = ws.deals
    maxima = [deals.aggregate(_m0=deals[c.CREATED_AT].max())]
    if c.CLOSED_AT in deals.columns:
        # An open deal's close date is an expectation (Salesforce exports CloseDate for
        # open opportunities), often months ahead: it says nothing about the export.
        closed = deals.filter(deals[c.OUTCOME] != c.OPEN)
        maxima.append(closed.aggregate(_m1=closed[c.CLOSED_AT].max()))
    if ws.has(c.STAGE_EVENTS):
        maxima.append(ws.stage_events.aggregate(_m2=ws.stage_events[c.ENTERED_AT].max()))
    if ws.has(c.DEAL_CHANGES):
        changes = ws.tables[c.DEAL_CHANGES]
        maxima.append(changes.aggregate(_m3=changes[c.CHANGED_AT].max()))
    # One query (one job on Spark): the one-row maxima side by side.
    row = maxima[0]
    for other in maxima[1:]:
        row = row.cross_join(other)
    values = ws.execute(row).iloc[0].tolist()
    values = [pd.Timestamp(v) for v in values if v is not None and not pd.isna(v)]
    if not values:
        return pd.NaT
    latest = max(values)
    return latest.tz_localize("UTC") if latest.tzinfo is None else latest.tz_convert("UTC")


# Columns of deal_stage_pivot besides the per-stage ones (_n<i>, _first<i>, _later<i>, _back<i>).
FURTHEST_POSITION = "_furthest"  # position of the furthest open stage entered
CURRENT_POSITION = "_current"  # position of the latest entry (won and lost share the last)
WON_AT, LOST_AT = "_won_at", "_lost_at"  # first won / lost entry


MASK_STAGES = 62  # open stages a per-deal mask holds (bits of a signed 64-bit integer)


def stage_bits(conditions: Sequence[ibis.Value]) -> ibis.Value:
    """One integer with bit ``i`` set where ``conditions[i]`` holds (a per-deal mask).

    Test a stage with :func:`has_bit`: built once per deal, one shift per (deal,
    stage) row instead of picking the stage's column with a ``CASE``, and one
    narrow column through the join with the deals instead of one per stage.
    """
    if len(conditions) > MASK_STAGES:
        raise ValueError(
            f"A pipeline of {len(conditions)} open stages does not fit the per-deal stage "
            "masks (62 at most); merge stages in the stage configuration."
        )
    bits = [ibis.ifelse(cond.fill_null(False), 1 << i, 0) for i, cond in enumerate(conditions)]
    return sum(bits[1:], bits[0]).cast("int64")


def has_bit(mask: ibis.Value, position: ibis.Value) -> ibis.Value:
    """Whether bit ``position`` of ``mask`` is set (False for a null mask)."""
    return (((mask >> position) & 1) == 1).fill_null(False)


def deal_stage_pivot(
    ws: Workspace,
    *,
    later_entries: bool = False,
    terminal_entries: bool = False,
    moves: bool = True,
) -> ibis.Table:
    """One row per deal with stage events: furthest open stage and columns per stage.

    Returns ``deal_id``, :data:`FURTHEST_POSITION` and, for open stage ``i`` (its
    pipeline position), ``_n<i>`` (entries) and ``_first<i>`` (first entry).
    With ``later_entries`` also :data:`WON_AT` and ``_later<i>``, the first
    entry of any stage after ``i`` (won included); with ``terminal_entries``
    :data:`WON_AT` and :data:`LOST_AT`; with ``moves`` (a ``LEAD`` window over
    every event) :data:`CURRENT_POSITION` and ``_back<i>`` (an entry of ``i``
    was followed by an earlier open stage).

    Notes
    -----
    One ``GROUP BY deal_id`` with filtered aggregates: the funnel's deals x
    stages rows pick their stage's column from it instead of joining a
    per-(deal, stage) table. Every filter compares the integer position
    (string comparisons in many filtered aggregates cost seconds at scale),
    and the ``LEAD`` of ``moves`` is over that integer, ordered like
    :func:`stage_stays` (time, then position). Without ``moves`` or won and
    lost entries, only open-stage events are grouped: a deal with none is
    absent, which the callers' left join reads as no entries.
    """
    pipeline = ws.pipeline
    n_open = len(pipeline.stages)
    ev = _stage_events(ws)
    ev = ev.mutate(**{STAGE_ORDER: stage_position(ws, ev[c.STAGE])})
    if moves:
        window = ibis.window(
            group_by=ev[c.DEAL_ID],
            order_by=[ibis.asc(ev[c.ENTERED_AT], nulls_first=True), ev[STAGE_ORDER]],
        )
        ev = ev.mutate(_next=ev[STAGE_ORDER].lead().over(window))
    elif not (later_entries or terminal_entries):
        ev = ev.filter((ev[STAGE_ORDER] >= 0) & (ev[STAGE_ORDER] < n_open))
    pos, at = ev[STAGE_ORDER], ev[c.ENTERED_AT]
    is_open = (pos >= 0) & (pos < n_open)
    metrics = {FURTHEST_POSITION: pos.max(where=is_open)}
    if moves:
        nxt = ev["_next"]
        back = (is_open & (nxt >= 0) & (nxt < pos)).fill_null(False)  # no next: not back
        metrics[CURRENT_POSITION] = pos.max(where=nxt.isnull())
    for i in range(n_open):
        metrics[f"_n{i}"] = ev.count(where=pos == i)
        metrics[f"_first{i}"] = at.min(where=pos == i)
        if moves:
            metrics[f"_back{i}"] = back.any(where=pos == i)
    # Won and lost share a position: their entries are told apart by name (one filter each).
    if later_entries or terminal_entries:
        metrics[WON_AT] = at.min(where=ev[c.STAGE] == pipeline.won)
    if terminal_entries:
        metrics[LOST_AT] = at.min(where=ev[c.STAGE] == pipeline.lost)
    per_deal = ev.group_by(c.DEAL_ID).aggregate(**metrics)
    if later_entries:
        # First entry after stage i = the earlier of the next stage's first entry and the
        # first entry after that one: per deal, cheaper than six more filtered aggregates.
        per_deal = per_deal.mutate(**{f"_later{n_open - 1}": per_deal[WON_AT]})
        for i in reversed(range(n_open - 1)):
            nearer = _earliest(per_deal[f"_first{i + 1}"], per_deal[f"_later{i + 1}"])
            per_deal = per_deal.mutate(**{f"_later{i}": nearer})
    return per_deal


def _earliest(a: ibis.Value, b: ibis.Value) -> ibis.Value:
    """The earlier of two timestamps, ignoring a null (null when both are)."""
    return ibis.cases((a.isnull(), b), (b.isnull() | (a <= b), a), else_=b)
