"""Stage reach and stage accounting: which deals reached each stage, and what became of them.

Every funnel number starts from one question per deal and open stage: did the
deal reach the stage, and if so did it advance, was it lost there, did it move
back, or is it still there? :func:`deal_stage_reach` answers it for every
(deal, stage) pair as one engine expression; :func:`stage_accounting` counts the
answers per group, period and stage so that

    entered == advanced + lost_here + regressed + still_open

holds exactly, with the stages deals skipped counted beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.types import Granularity, WindowLike
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import as_keys, series_to_utc
from analysis.engine.journey import (
    CURRENT_POSITION,
    FURTHEST_POSITION,
    LOST_AT,
    MASK_STAGES,
    STAGE_ORDER,
    WON_AT,
    deal_stage_pivot,
    has_bit,
    stage_bits,
)
from analysis.engine.workspace import Workspace

Reach = Literal["implied", "observed"]
Cohort = Literal["created", "stage_entry"]

# ibis truncate units; also valid pandas period frequencies.
PERIOD_TRUNCATE = {c.PERIOD_MONTH: "M", c.PERIOD_QUARTER: "Q"}
UNDECIDED = "_undecided"  # column of reach_rows: is_regressed | is_still_open
ACCOUNTING_COUNTS = (
    c.N_ENTERED,
    c.N_ADVANCED,
    c.N_LOST_HERE,
    c.N_REGRESSED,
    c.N_STILL_OPEN,
    c.N_SKIPPED,
    c.N_REENTERED,
    c.N_MOVED_BACK,
)
_FLAG_OF_COUNT = {
    c.N_ENTERED: c.REACHED,
    c.N_ADVANCED: c.IS_ADVANCED,
    c.N_LOST_HERE: c.IS_LOST_HERE,
    c.N_REGRESSED: c.IS_REGRESSED,
    c.N_STILL_OPEN: c.IS_STILL_OPEN,
    c.N_SKIPPED: c.IS_SKIPPED,
    c.N_REENTERED: c.IS_REENTERED,
    c.N_MOVED_BACK: c.IS_MOVED_BACK,
    c.N_OPEN: UNDECIDED,  # regressed + still open, from reach_rows
}


def group_keys(by: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Grouping columns as a list, rejecting names the funnel tables use themselves."""
    keys = as_keys(by)
    clash = {c.STAGE, c.PERIOD, c.DEAL_ID} & set(keys)
    if clash:
        raise ValueError(
            f"Cannot group by {sorted(clash)[0]!r}: the funnel tables use that column "
            "themselves; group by deal attributes such as segment, source or owner_id."
        )
    return keys


def check_options(reach: str, period: str | None, cohort: str) -> None:
    """Raise ``ValueError`` with an actionable sentence for an unknown option."""
    if reach not in (c.REACH_IMPLIED, c.REACH_OBSERVED):
        raise ValueError(f'reach must be "implied" or "observed", not {reach!r}.')
    if period is not None and period not in PERIOD_TRUNCATE:
        raise ValueError(f'period must be None, "month" or "quarter", not {period!r}.')
    if cohort not in (c.COHORT_CREATED, c.COHORT_STAGE_ENTRY):
        raise ValueError(f'cohort must be "created" or "stage_entry", not {cohort!r}.')


def _deals(
    ws: Workspace, keys: list[str], window: WindowLike | None, extra: tuple[str, ...] = ()
) -> ibis.Table:
    missing = [k for k in keys if k not in ws.deals.columns]
    if missing:
        have = ", ".join(ws.deals.columns)
        raise ValueError(f"The deals table has no column {missing[0]!r}; it has: {have}.")
    deals = deals_created_in(ws, window)
    return deals.select(c.DEAL_ID, c.OUTCOME, c.CREATED_AT, *keys, *extra)


def deal_stage_reach(
    ws: Workspace,
    reach: Reach = "implied",
    *,
    by: str | list[str] | None = None,
    window: WindowLike | None = None,
    implied_entry_times: bool = True,
) -> ibis.Table:
    """One row per deal and open stage with what the deal did at that stage.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals`` and ``stage_events``.
    reach : {"implied", "observed"}
        Which stages count as reached (see Notes).
    by : str or list of str, optional
        Deal columns to carry along for grouping.
    window : Window or (start, end), optional
        Creation-date window ``[start, end)`` of the deals.
    implied_entry_times : bool
        Fill ``stage_entered_at`` of implied stages from the first later
        entry (needed only for stage-entry cohorts). False leaves implied
        stages without an entry time (and saves one aggregate per stage).

    Returns
    -------
    ibis.Table
        Columns ``deal_id, outcome, created_at, <by>, stage, stage_order,
        entries, has_entry, stage_entered_at, reached, is_advanced,
        is_lost_here, is_regressed, is_still_open, is_skipped, is_reentered,
        is_moved_back``; every deal crossed with every open stage.

    Notes
    -----
    Let ``F`` be the furthest open stage the deal has a recorded entry for and
    ``later(s) = outcome is won or F > s``. Then for open stage ``s``:

    * ``has_entry``: at least one ``stage_events`` row for ``s``;
    * ``reached``: ``has_entry`` (observed), or ``has_entry or later(s)``
      (implied: entering a later stage implies passing ``s``; a won deal
      passed every open stage; a lost deal reached nothing beyond what it entered);
    * ``is_skipped``: ``later(s)`` without an entry for ``s``;
    * ``is_advanced``: reached and ``later(s)``;
    * for reached stages that are not ``later`` (``s == F``, the deal's
      furthest stage): ``is_lost_here`` if the deal is lost; otherwise
      ``is_regressed`` if its current stage (latest entry) is an earlier open
      stage (it moved back and has not returned), else ``is_still_open``;
    * ``is_reentered``: two or more entries; ``is_moved_back``: some entry of
      ``s`` was followed by an earlier open stage.

    A loss is charged to the furthest stage the deal reached, even when the
    deal had moved back before it was lost: that is where it left the funnel.
    The outcome comes from the deals table. ``stage_entered_at`` is the first
    entry of ``s``, or for an implied stage the first entry of any later stage
    (won included).

    The engine work is one ``GROUP BY deal_id`` over the stage events
    (:func:`analysis.engine.journey.deal_stage_pivot`: each stage's entry count,
    first entry and backward moves in a column per stage), joined to the deals
    and crossed with the open stages: no per-(deal, stage) join and no window
    over the deals x stages rows.
    """
    check_options(reach, None, c.COHORT_CREATED)
    keys = group_keys(by)
    rows = reach_rows(ws, reach, keys, window, implied_entry_times)
    return rows.select(*_REACH_COLUMNS, *keys, *_REACH_FLAGS)


_REACH_COLUMNS = (c.DEAL_ID, c.OUTCOME, c.CREATED_AT)
_REACH_FLAGS = (
    c.STAGE, STAGE_ORDER, c.STAGE_ENTERED_AT, c.N_ENTRIES, c.HAS_ENTRY, c.REACHED,
    c.IS_ADVANCED, c.IS_LOST_HERE, c.IS_REGRESSED, c.IS_STILL_OPEN, c.IS_SKIPPED,
    c.IS_REENTERED, c.IS_MOVED_BACK,
)  # fmt: skip
# Extra column of :func:`reach_rows` with ``decision_times=True`` (beside journey.WON_AT
# and journey.LOST_AT, re-exported here):
NEXT_ENTERED_AT = "_next_entered_at"  # entry time of the next open stage (implied)


def reach_rows(
    ws: Workspace,
    reach: str,
    keys: list[str],
    window: WindowLike | None = None,
    implied_entry_times: bool = True,
    *,
    moves: bool = True,
    decision_times: bool = False,
    skips: bool = True,
) -> ibis.Table:
    """The rows of :func:`deal_stage_reach` (its columns first), for reuse by other modules.

    Every row also has :data:`UNDECIDED` (reached, not advanced, not lost:
    ``is_regressed | is_still_open``). ``moves=False`` leaves out
    ``is_regressed``, ``is_still_open`` and ``is_moved_back``, which need the
    deal's current stage and backward moves (a ``LEAD`` window over every
    stage event); the other columns are the same. With ``decision_times``
    the rows also carry ``closed_at`` (when the deals have it),
    :data:`NEXT_ENTERED_AT` (the implied entry time of the next open stage,
    null at the last one), :data:`WON_AT` and :data:`LOST_AT`. ``skips=False``
    leaves out ``is_skipped``; under observed reach the deals without stage
    events then reach nothing and drop out (an inner join instead of a left
    join), so only rows with ``reached`` are complete: for counts of reached
    deals.
    """
    stages = list(ws.pipeline.stages)
    n_open = len(stages)
    per_deal = deal_stage_pivot(  # raises MissingInput without stage history
        ws, later_entries=implied_entry_times or decision_times,
        terminal_entries=decision_times, moves=moves,
    )  # fmt: skip
    # Per-stage facts as bits of one integer per deal (see journey.stage_bits); a pipeline
    # too long for a mask picks each row's stage column instead.
    masked = n_open <= MASK_STAGES
    if masked:
        entry_counts = [per_deal[f"_n{i}"] for i in range(n_open)]
        masks = {
            "_entered": stage_bits([n > 0 for n in entry_counts]),
            "_reentered": stage_bits([n > 1 for n in entry_counts]),
        }
        if moves:
            masks["_moved_back"] = stage_bits([per_deal[f"_back{i}"] for i in range(n_open)])
        per_deal = per_deal.mutate(**masks)
    closed = (c.CLOSED_AT,) if decision_times and c.CLOSED_AT in ws.deals.columns else ()
    deals = _deals(ws, keys, window, closed)
    stage_list = ibis.memtable({c.STAGE: stages, STAGE_ORDER: list(range(n_open))})
    # Under observed reach a deal without stage events reaches nothing: unless its
    # skipped stages are asked for, the inner join leaves it out early.
    inner = reach == c.REACH_OBSERVED and not skips
    if inner:
        joined = deals.join(per_deal, c.DEAL_ID)
    else:
        joined = deals.left_join(per_deal, c.DEAL_ID).drop(f"{c.DEAL_ID}_right")
    rows = joined.cross_join(stage_list)
    order = rows[STAGE_ORDER]

    def pick(column: str, shift: int = 0) -> ibis.Value:
        """The per-deal column of the row's stage (of the stage ``shift`` later)."""
        cases = [(i, rows[f"{column}{i + shift}"]) for i in range(n_open - shift)]
        return order.cases(*cases)

    def entered_at(shift: int = 0) -> ibis.Value:
        first = pick("_first", shift)
        return first.coalesce(pick("_later", shift)) if implied_entry_times else first

    def stage_fact(mask: str, column: str, test) -> ibis.Value:
        """A per-stage fact of the row's stage: from the deal's mask, else its column."""
        return has_bit(rows[mask], order) if masked else test(pick(column)).fill_null(False)

    has_entry = stage_fact("_entered", "_n", lambda n: n > 0)
    won = (rows[c.OUTCOME] == c.WON).fill_null(False)
    lost = (rows[c.OUTCOME] == c.LOST).fill_null(False)
    later = won | (rows[FURTHEST_POSITION].fill_null(-1) > order)
    reached = has_entry | later if reach == c.REACH_IMPLIED else has_entry
    tail = reached & ~later
    flags = {
        c.STAGE_ENTERED_AT: entered_at(),
        c.N_ENTRIES: pick("_n").fill_null(0),
        c.HAS_ENTRY: has_entry,
        c.REACHED: reached,
        c.IS_ADVANCED: reached & later,
        c.IS_LOST_HERE: tail & lost,
    }
    if moves:
        cur = rows[CURRENT_POSITION]
        regressed = tail & ~lost & (cur >= 0).fill_null(False) & (cur < order).fill_null(False)
        flags[c.IS_REGRESSED] = regressed
        flags[c.IS_STILL_OPEN] = tail & ~lost & ~regressed
    if skips:
        flags[c.IS_SKIPPED] = ~has_entry & later
    flags[c.IS_REENTERED] = stage_fact("_reentered", "_n", lambda n: n > 1)
    if moves:
        flags[c.IS_MOVED_BACK] = stage_fact("_moved_back", "_back", lambda b: b)
    flags[UNDECIDED] = tail & ~lost
    if decision_times:
        nxt = entered_at(1) if n_open > 1 else ibis.null().cast("timestamp('UTC')")
        flags.update({NEXT_ENTERED_AT: nxt, WON_AT: rows[WON_AT], LOST_AT: rows[LOST_AT]})
        if c.CLOSED_AT in rows.columns:
            flags[c.CLOSED_AT] = rows[c.CLOSED_AT]
    return rows.select(*_REACH_COLUMNS, *keys, c.STAGE, STAGE_ORDER, **flags)


def decided_at(rows: ibis.Table) -> ibis.Value:
    """When each reach row's stage was decided: the advance or the loss; null while open.

    ``rows`` come from :func:`reach_rows` with ``decision_times=True``. A deal
    advances from a stage when it first enters a later one (the next
    stage's implied entry; at the last open stage, the won entry or a won
    deal's ``closed_at``); it is lost at its lost entry or ``closed_at``.
    """
    if c.CLOSED_AT in rows.columns:
        closed_at = rows[c.CLOSED_AT]
    else:
        closed_at = ibis.null().cast("timestamp('UTC')")
    won_at = rows[WON_AT].coalesce(ibis.ifelse(rows[c.OUTCOME] == c.WON, closed_at, ibis.null()))
    advanced_at = rows[NEXT_ENTERED_AT].coalesce(won_at)
    lost_at = rows[LOST_AT].coalesce(closed_at)
    return ibis.cases(
        (rows[c.IS_ADVANCED], advanced_at), (rows[c.IS_LOST_HERE], lost_at), else_=ibis.null()
    )


def stage_skeleton(
    ws: Workspace, keys: list[str], period: str | None, counts: pd.DataFrame
) -> pd.DataFrame:
    """Every observed group x every period between the first and last x every stage."""
    parts = []
    if keys:
        combos = ws.execute(ws.deals.select(*keys).distinct())
        parts.append(combos.sort_values(keys).reset_index(drop=True))
    if period is not None:
        seen = counts[c.PERIOD].dropna()
        if seen.empty:
            periods = pd.Series([pd.NaT], dtype="datetime64[us, UTC]")
        else:
            span = pd.period_range(
                seen.min().tz_localize(None),
                seen.max().tz_localize(None),
                freq=PERIOD_TRUNCATE[period],
            )
            periods = pd.Series(span.to_timestamp()).dt.tz_localize("UTC")
            if counts[c.PERIOD].isna().any():
                periods = pd.concat([periods, pd.Series([pd.NaT], dtype=periods.dtype)])
        parts.append(pd.DataFrame({c.PERIOD: periods.to_numpy()}))
    parts.append(pd.DataFrame({c.STAGE: list(ws.pipeline.stages)}))
    skeleton = parts[0]
    for part in parts[1:]:
        skeleton = skeleton.merge(part, how="cross")
    return skeleton


def needs_entry_times(period: str | None, cohort: str) -> bool:
    """Whether counting by ``period`` and ``cohort`` reads stage entry times."""
    return period is not None and cohort == c.COHORT_STAGE_ENTRY


def grouped_counts(
    ws: Workspace,
    rows: ibis.Table,
    keys: list[str],
    period: str | None,
    cohort: str,
    counts: tuple[str, ...] = ACCOUNTING_COUNTS,
) -> pd.DataFrame:
    """Sum the flags of :func:`deal_stage_reach` rows per group, period and stage (in the engine).

    Returns one row per (groups, period, stage) of the skeleton, zero-filled,
    stages in pipeline order.
    """
    group = [rows[k] for k in keys]
    if period is not None:
        when = rows[c.CREATED_AT] if cohort == c.COHORT_CREATED else rows[c.STAGE_ENTERED_AT]
        group.append(when.truncate(PERIOD_TRUNCATE[period]).name(c.PERIOD))
    # Skipped stages are reached under implied reach; under observed, kept only if counted.
    counted_rows = (
        rows[c.REACHED] | rows[c.IS_SKIPPED] if c.N_SKIPPED in counts else rows[c.REACHED]
    )
    relevant = rows.filter(counted_rows)
    metrics = {name: relevant[_FLAG_OF_COUNT[name]].cast("int64").sum() for name in counts}
    expr = relevant.group_by([*group, relevant[c.STAGE]]).aggregate(**metrics)
    counted = ws.execute(expr)
    if period is not None:
        counted[c.PERIOD] = series_to_utc(counted[c.PERIOD])
    skeleton = stage_skeleton(ws, keys, period, counted)
    on = [*keys, *([c.PERIOD] if period is not None else []), c.STAGE]
    if period is not None:
        skeleton[c.PERIOD] = skeleton[c.PERIOD].astype(counted[c.PERIOD].dtype)
    if counted.empty:  # nothing counted (pandas cannot merge two empty Arrow string keys)
        table = skeleton.assign(**dict.fromkeys(counts, 0))
    else:
        table = skeleton.merge(counted, on=on, how="outer")
    for name in counts:
        table[name] = table[name].fillna(0).astype("int64")
    order = {s: i for i, s in enumerate(ws.pipeline.stages)}
    table["_order"] = table[c.STAGE].map(order)
    table = table.sort_values([*on[:-1], "_order"], na_position="last", kind="stable")
    return table.drop(columns="_order").reset_index(drop=True)


@dataclass(frozen=True)
class StageAccounting:
    """Where the deals that reached each stage went, per group, period and stage.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, period, stage): ``entered, advanced, lost_here,
        regressed, still_open, skipped, reentered, moved_back, note``, where
        ``entered == advanced + lost_here + regressed + still_open``. ``note`` is
        ``"no_entries"`` where nobody reached the stage.
    by : tuple of str
        Grouping columns.
    period : str or None
        ``"month"``, ``"quarter"`` or None.
    cohort : str
        ``"created"`` or ``"stage_entry"``.
    reach : str
        ``"implied"`` or ``"observed"``.
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    period: str | None
    cohort: str
    reach: str

    def to_frame(self) -> pd.DataFrame:
        """The accounting table as a DataFrame (a copy)."""
        return self.table.copy()


def stage_accounting(
    ws: Workspace,
    by: str | list[str] | None = None,
    period: Granularity | None = None,
    reach: Reach = "implied",
    *,
    cohort: Cohort = "created",
    window: WindowLike | None = None,
) -> StageAccounting:
    """Count, per stage, the deals that reached it and what became of them.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str, optional
        Deal columns to group by (segment, source, owner_id, region, product...).
    period : {"month", "quarter"}, optional
        Split by calendar period (UTC) of the cohort date.
    reach : {"implied", "observed"}
        Reach rule, see :func:`deal_stage_reach`.
    cohort : {"created", "stage_entry"}
        Granularity of the deal's creation, or of its (first) entry into the stage.
    window : Window or (start, end), optional
        Creation-date window ``[start, end)``.

    Returns
    -------
    StageAccounting

    Notes
    -----
    Deals are counted, not visits: a deal counts once per stage it reached,
    however often it entered it. With the flags of :func:`deal_stage_reach`,
    each reached (deal, stage) is exactly one of

    * ``advanced``: the deal won, or has an entry at a later open stage;
    * ``lost_here``: the stage is the furthest the deal reached and it was lost;
    * ``regressed``: the stage is the furthest the deal reached, the deal is
      open and its current stage is an earlier one (it moved back);
    * ``still_open``: the stage is the furthest the deal reached, the deal is
      open and sits there (or its current stage is unknown),

    so ``entered = advanced + lost_here + regressed + still_open`` exactly.
    ``skipped`` counts deals that reached a later stage (or won) without an
    entry here; under ``reach="implied"`` they are also in ``entered`` and
    ``advanced``, under ``"observed"`` in neither. ``reentered`` (two or more
    entries) and ``moved_back`` (an entry followed by an earlier stage) count
    journey irregularities among the entered deals. Under implied reach,
    ``entered`` of a stage equals ``advanced`` of the stage before it.
    """
    check_options(reach, period, cohort)
    keys = group_keys(by)
    rows = deal_stage_reach(
        ws, reach, by=keys, window=window,
        implied_entry_times=needs_entry_times(period, cohort),
    )  # fmt: skip
    table = grouped_counts(ws, rows, keys, period, cohort)
    table[c.NOTE] = np.where(table[c.N_ENTERED] > 0, "", c.NOTE_NO_ENTRIES)
    return StageAccounting(table, tuple(keys), period, cohort, reach)
