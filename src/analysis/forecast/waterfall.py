"""How the pipeline of a forecast window moved between two dates: the waterfall.

The pipeline expected to close by a date (the end of a quarter) stands at one
level at the start of the period and another at the end. The waterfall
splits the difference into what came in (new deals, deals pulled in), what
changed size, and what went out (pushed out, won, lost), so that the parts
add up exactly to the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.core.types import TimeLike, to_utc
from analysis.engine.grouping import aggregate_by
from analysis.engine.journey import data_cutoff
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.history import AS_OF, label_keys, values_as_of
from analysis.forecast.snapshot import (
    PIPELINE_HISTORY,
    UNDATED,
    open_at,
    undated_close,
    undated_note,
)

__all__ = ["PipelineWaterfall", "pipeline_waterfall"]

_FINAL = "_final"  # the deal's last moment in the period: its close, or the end
_OPEN_S, _OPEN_E = "_open_start", "_open_end"  # open at the start / at the end


@dataclass(frozen=True)
class PipelineWaterfall:
    """The pipeline of a forecast window at two dates and the flows between them.

    Attributes
    ----------
    table : pandas.DataFrame
        One block of nine rows per group (the ``by`` columns first, when
        grouped), components in the order of
        :data:`analysis.forecast.columns.COMPONENTS`: ``start, created,
        moved_in, increased, decreased, moved_out, won, lost, end``, with
        ``component, count, amount``. Every count and amount is non-negative;
        :data:`~analysis.forecast.columns.COMPONENT_SIGNS` says how each adds up.
    start, end : pandas.Timestamp
        The two dates (UTC).
    close_by : pandas.Timestamp
        The forecast window's end: a deal counts while it is expected to close before it.
    by : tuple of str
        The deal columns the table is grouped by (empty when not grouped).
    notes : tuple of str
        What the figures could not take into account.
    """

    table: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    close_by: pd.Timestamp
    by: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The waterfall (a copy)."""
        return self.table.copy()


def _candidates(ws: Workspace, s: ibis.Value, e: ibis.Value, keys: list[str]) -> ibis.Table:
    """Deals created by ``end`` and not closed by ``start``, with when to read them.

    Adds whether each was open at the start and at the end, and :data:`_FINAL`,
    its last moment in the period: its close, or the end if it closed later or
    not at all, and never before its creation (a deal logged after it closed).
    """
    deals = ws.deals
    closed = deals[c.CLOSED_AT] if c.CLOSED_AT in deals.columns else ibis.null()
    deals = deals.mutate(**{c.CLOSED_AT: closed.cast("timestamp('UTC')")})
    created, closed = deals[c.CREATED_AT], deals[c.CLOSED_AT]
    deals = deals.filter(((created <= e) & (closed.isnull() | (closed > s))).fill_null(False))
    created, closed = deals[c.CREATED_AT], deals[c.CLOSED_AT]
    last = ibis.cases((closed.isnull() | (closed > e), e), else_=closed)
    last = ibis.cases((last < created, created), else_=last).cast(s.type())
    return deals.select(
        c.DEAL_ID, c.CREATED_AT, c.CLOSED_AT, c.OUTCOME, *keys,
        **{_OPEN_S: open_at(deals, s), _OPEN_E: open_at(deals, e), _FINAL: last,
           UNDATED: undated_close(deals)},
    )  # fmt: skip


def _deal_paths(
    ws: Workspace, start: pd.Timestamp, end: pd.Timestamp, close_by: pd.Timestamp | None,
    keys: list[str],
) -> ibis.Table:  # fmt: skip
    """One row per candidate deal: its flags (in the window at start and end, closed in
    the period, entered, created) and amounts (at the start, at its last moment)."""
    s = ibis.literal(start, type="timestamp('UTC')")
    e = ibis.literal(end, type="timestamp('UTC')")
    deals = _candidates(ws, s, e, keys)
    moments = ibis.union(
        deals.filter(deals[_OPEN_S]).select(c.DEAL_ID, **{AS_OF: s}),
        deals.filter(deals[_OPEN_E]).select(c.DEAL_ID, **{AS_OF: e}),
        deals.select(c.DEAL_ID, **{AS_OF: deals[_FINAL]}),
    )
    values = values_as_of(ws, moments, (c.AMOUNT, c.EXPECTED_CLOSE_AT))
    joined = deals.join(values, c.DEAL_ID)
    at, amount, close = joined[AS_OF], joined[c.AMOUNT], joined[c.EXPECTED_CLOSE_AT]
    t = joined.group_by([*deals.columns]).aggregate(
        _a_start=amount.max(where=at == s).fill_null(0.0),
        _a_last=amount.max(where=at == joined[_FINAL]).fill_null(0.0),
        _close_s=close.max(where=at == s),
        _close_e=close.max(where=at == e),
    )
    in_s, in_e = t[_OPEN_S], t[_OPEN_E]
    if close_by is not None:
        w = ibis.literal(close_by, type="timestamp('UTC')")
        in_s &= (t._close_s < w).fill_null(False)
        in_e &= (t._close_e < w).fill_null(False)
    closed_in = ((t[c.CLOSED_AT] > s) & (t[c.CLOSED_AT] <= e)).fill_null(False)
    entered = ~in_s & (in_e | closed_in)
    return t.mutate(
        _in_s=in_s,
        _in_e=in_e,
        _closed_in=closed_in,
        _entered=entered,
        _created=entered & (t[c.CREATED_AT] > s),
        _left_closed=closed_in & (in_s | entered),
        _delta=in_s.ifelse(t._a_last - t._a_start, 0.0),
    )


def _components(paths: ibis.Table) -> dict[str, tuple[ibis.Value, ibis.Value]]:
    """Each component's (deal flag, per-deal amount), in the order of COMPONENTS."""
    t = paths
    won = (t[c.OUTCOME] == c.WON).fill_null(False)
    return {
        c.START: (t._in_s, t._a_start),
        c.CREATED: (t._created, t._a_last),
        c.MOVED_IN: (t._entered & ~t._created, t._a_last),
        c.INCREASED: (t._delta > 0, t._delta),
        c.DECREASED: (t._delta < 0, -t._delta),
        c.MOVED_OUT: (t._in_s & ~t._in_e & ~t._closed_in, t._a_last),
        c.WON: (t._left_closed & won, t._a_last),
        c.LOST: (t._left_closed & ~won, t._a_last),
        c.END: (t._in_e, t._a_last),
    }


def _long(wide: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Nine rows per group from the one-row-per-group aggregate."""
    rows = []
    for _, group in wide.sort_values(keys, kind="stable").iterrows() if keys else wide.iterrows():
        for name in c.COMPONENTS:
            amount = group[f"{name}_amount"]
            rows.append({
                **{key: group[key] for key in keys},
                c.COMPONENT: name,
                c.COUNT: int(group[f"{name}_count"]),
                c.AMOUNT: 0.0 if pd.isna(amount) else float(amount),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=[*keys, c.COMPONENT, c.COUNT, c.AMOUNT])


def _notes(ws: Workspace, start: pd.Timestamp, end: pd.Timestamp, window: bool) -> tuple:
    notes = []
    if not ws.has(c.DEAL_CHANGES):
        when = f"{start:%Y-%m-%d %H:%M} UTC and {end:%Y-%m-%d %H:%M} UTC"
        notes.append(c.NOTE_NO_CHANGE_HISTORY.format(date=when))
    if not window:
        notes.append(c.NOTE_NO_EXPECTED_CLOSE)
    cutoff = data_cutoff(ws)
    if not pd.isna(cutoff) and cutoff < end:
        notes.append(c.NOTE_AFTER_CUTOFF.format(cutoff=f"{cutoff:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
    return tuple(notes)


def pipeline_waterfall(
    ws: Workspace,
    start: TimeLike,
    end: TimeLike,
    by: str | Sequence[str] | None = None,
    close_by: TimeLike | None = None,
) -> PipelineWaterfall:
    """The pipeline expected to close by ``close_by``, at ``start`` and ``end``, and its flows.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals.created_at``; reads ``closed_at``, ``outcome`` and the
        change history (``deal_changes``) for amounts and expected closes as
        they stood.
    start, end : str or pandas.Timestamp
        The two dates (naive values are read as UTC); flows are counted in
        ``(start, end]``.
    by : str or sequence of str, optional
        Deal columns to group by (today's values, e.g. ``segment``,
        ``owner_id``); not a tracked field, whose value changes over time.
    close_by : str or pandas.Timestamp, optional
        The end of the forecast window (default ``end``): a deal is in the
        pipeline while its expected close, as it stood, is before it.

    Returns
    -------
    PipelineWaterfall

    Raises
    ------
    ValueError
        When ``end`` is not after ``start``, or ``by`` names a tracked field
        or a column the deals do not have.

    Notes
    -----
    Let :math:`P(t)` be the deals open at :math:`t` (created at or before
    :math:`t`, not closed by then) whose expected close as it stood at
    :math:`t` is before ``close_by`` :math:`W` (a deal without an expected
    close is outside the window). With :math:`S = P(\\text{start})`,
    :math:`E = P(\\text{end})` and a deal *closed in the period* when
    ``start`` < ``closed_at`` :math:`\\le` ``end`` (and it was created by ``end``):

    - ``start``: deals in :math:`S`; ``end``: deals in :math:`E`.
    - ``created``: deals not in :math:`S`, in :math:`E` or closed in the
      period, created after ``start``; ``moved_in``: the same, created
      by ``start`` (open then, expected to close at or after :math:`W`, or
      without a date).
    - ``moved_out``: deals in :math:`S`, not in :math:`E`, not closed in the
      period (open at ``end``, expected at or after :math:`W`, or without a date).
    - ``won`` / ``lost``: deals in :math:`S` or entered (created or moved
      in) that closed in the period, by ``outcome`` (any close but a win is lost).
    - ``increased`` / ``decreased``: deals in :math:`S` whose amount at their
      last moment in the period (at close, else at ``end``) is above / below
      their amount at ``start``; the amount is the net change.

    Amounts: ``start`` counts each deal's amount at ``start``; every other
    component the amount at the deal's last moment in the period, its close
    or ``end`` (the later of that and its creation). A missing amount counts
    as 0. Each deal then contributes to both sides of

    .. math::

        \\text{start} + \\text{created} + \\text{moved\\_in} + \\text{increased}
        - \\text{decreased} - \\text{moved\\_out} - \\text{won} - \\text{lost}
        = \\text{end}

    equally, so the identity holds exactly for amounts and, leaving out the
    informational counts of ``increased`` and ``decreased`` (deals that
    changed size are counted at both ends already), for counts. All values
    in the table are non-negative; the signs above are
    :data:`~analysis.forecast.columns.COMPONENT_SIGNS`. Amounts are summed
    as floats: with whole-unit amounts (or any that floats hold exactly)
    the identity is exact to the bit, otherwise to rounding.

    A deal that enters and leaves within the period (created and won; moved
    in and lost) shows on both sides; one that enters and is pushed out
    again, or is created outside the window and stays there, does not show.
    A deal logged after it closed (``closed_at`` before ``created_at``) is
    read at its creation. A deal won or lost without a ``closed_at`` counts
    as open throughout, and without any expected close dates (no column, no
    change history) every open deal is in the window; ``notes`` says so.
    """
    PIPELINE_HISTORY.check(ws)
    start, end = to_utc(start), to_utc(end)
    if not start < end:
        raise ValueError(f"end must be after start, got start={start} and end={end}.")
    close_by = end if close_by is None else to_utc(close_by)
    keys = label_keys(ws, by)
    window = c.EXPECTED_CLOSE_AT in ws.deals.columns or ws.has(c.DEAL_CHANGES)
    paths = _deal_paths(ws, start, end, close_by if window else None, keys)
    metrics = {}
    for name, (flag, amount) in _components(paths).items():
        metrics[f"{name}_count"] = paths.count(where=flag)
        metrics[f"{name}_amount"] = amount.sum(where=flag)
    metrics[UNDATED] = paths.count(where=paths[UNDATED])
    wide = ws.execute(aggregate_by(paths, keys, **metrics))
    table = _long(wide, keys)
    undated = undated_note(int(wide[UNDATED].sum()), "throughout the period")
    notes = _notes(ws, start, end, window) + undated
    return PipelineWaterfall(table, start, end, close_by, tuple(keys), notes)
