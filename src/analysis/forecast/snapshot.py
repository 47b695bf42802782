"""The open pipeline as it stood on a past date, rebuilt from the change history."""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.core.types import TimeLike, to_utc
from analysis.engine.durations import rounded_days
from analysis.engine.needs import PIPELINE_HISTORY
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.history import AS_OF, values_as_of

__all__ = ["PIPELINE_HISTORY", "PipelineSnapshot", "open_at", "pipeline_as_of", "undated_close"]

UNDATED = "_undated_close"  # won or lost without a close date: open on every date

# Deal labels carried into the snapshot as they are today (they have no history).
LABELS = (c.SEGMENT, c.OWNER_ID, c.PIPELINE)
SNAPSHOT_COLUMNS = (
    c.DEAL_ID, c.SEGMENT, c.OWNER_ID, c.PIPELINE, c.STAGE, c.AMOUNT, c.EXPECTED_CLOSE_AT,
    c.PROBABILITY, c.FORECAST_CATEGORY, c.CREATED_AT, c.AGE_DAYS, c.STAGE_ENTERED_AT,
    c.DAYS_IN_STAGE,
)  # fmt: skip


@dataclass(frozen=True)
class PipelineSnapshot:
    """The open pipeline on one date.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per deal open on ``as_of``, by ``deal_id``: ``deal_id,
        segment, owner_id, pipeline`` (the last two when the deals carry
        them), ``stage, amount, expected_close_at, probability,
        forecast_category`` as they stood, ``created_at, age_days,
        stage_entered_at, days_in_stage``.
    as_of : pandas.Timestamp
        The date (UTC) the pipeline stood on.
    notes : tuple of str
        What the figures could not take into account (no change history).
    """

    table: pd.DataFrame
    as_of: pd.Timestamp
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The snapshot (a copy)."""
        return self.table.copy()


def open_at(deals: ibis.Table, at: ibis.Value) -> ibis.Value:
    """Whether a deal was open at ``at``: created by then and not closed by then.

    A deal without ``closed_at`` (or without the column) has not closed; a
    deal without ``created_at`` is never counted.
    """
    is_open = deals[c.CREATED_AT] <= at
    if c.CLOSED_AT in deals.columns:
        is_open &= deals[c.CLOSED_AT].isnull() | (deals[c.CLOSED_AT] > at)
    return is_open.fill_null(False)


def undated_close(deals: ibis.Table) -> ibis.Value:
    """Whether a deal is won or lost but has no close date (so it never closes in a snapshot)."""
    if c.OUTCOME not in deals.columns:
        return ibis.literal(False)
    decided = deals[c.OUTCOME].isin([c.WON, c.LOST]).fill_null(False)
    if c.CLOSED_AT not in deals.columns:
        return decided
    return decided & deals[c.CLOSED_AT].isnull()


def snapshot_expr(ws: Workspace, at: pd.Timestamp) -> ibis.Table:
    """The snapshot as an engine expression (unordered), with the flag :data:`UNDATED`."""
    deals = ws.deals
    moment = ibis.literal(at, type="timestamp('UTC')")
    alive = deals.filter(open_at(deals, moment))
    labels = [col for col in LABELS if col in deals.columns]
    alive = alive.select(
        c.DEAL_ID, *labels, c.CREATED_AT, **{AS_OF: moment, UNDATED: undated_close(alive)}
    )
    values = values_as_of(ws, alive)
    joined = alive.join(values, [c.DEAL_ID, AS_OF])
    ages = {
        c.AGE_DAYS: rounded_days(ws, joined[c.CREATED_AT], joined[AS_OF]),
        c.DAYS_IN_STAGE: rounded_days(ws, joined[c.STAGE_ENTERED_AT], joined[AS_OF]),
    }
    joined = joined.mutate(**ages)
    return joined.select(*[col for col in SNAPSHOT_COLUMNS if col in joined.columns], UNDATED)


def undated_note(n: int, when: str) -> tuple[str, ...]:
    """The note on won or lost deals without a close date, when there are any."""
    if not n:
        return ()
    deals = "1 deal" if n == 1 else f"{n} deals"
    return (c.NOTE_UNDATED_CLOSES.format(deals=deals, when=when),)


def history_notes(ws: Workspace, date: pd.Timestamp) -> tuple[str, ...]:
    """The note that amounts and close dates are today's, when there is no change history."""
    if ws.has(c.DEAL_CHANGES):
        return ()
    return (c.NOTE_NO_CHANGE_HISTORY.format(date=f"{date:%Y-%m-%d %H:%M} UTC"),)


def pipeline_as_of(ws: Workspace, date: TimeLike) -> PipelineSnapshot:
    """The open pipeline as it stood on ``date``: stages, amounts and close dates then.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals.created_at``; reads ``deal_changes`` and
        ``stage_events`` when present.
    date : str or pandas.Timestamp
        The moment to look back to (naive values are read as UTC; a date
        alone is its midnight). Changes made at ``date`` count, later ones do not.

    Returns
    -------
    PipelineSnapshot

    Notes
    -----
    A deal is open at :math:`t` when ``created_at`` :math:`\\le t` and
    ``closed_at`` is null or :math:`> t`. Its tracked fields (amount,
    expected close, stage, forecast category, probability) are rewound to
    :math:`t` by :func:`analysis.forecast.history.values_as_of`: the new
    value of the last change at or before :math:`t`; before a field's first
    change, that change's old value; for a field that never changed, today's
    value (for the stage, the last stage event by :math:`t` when there is a
    stage history). Without a ``deal_changes`` table every tracked field
    but the stage is today's value, and ``notes`` says so. Segment, owner and
    pipeline have no history: they are today's. A deal won or lost without a
    ``closed_at`` cannot be placed in time: it counts as open, and ``notes``
    says how many there are.

    ``age_days`` is :math:`t -` ``created_at`` and ``days_in_stage``
    :math:`t -` ``stage_entered_at``, in days rounded to 0.01.

    Nothing recorded after :math:`t` changes the result, except through
    the old value of a field's first later change (the value before it).

    Examples
    --------
    >>> snap = pipeline_as_of(ws, "2026-03-31")          # doctest: +SKIP
    >>> snap.to_frame().groupby("stage").amount.sum()   # doctest: +SKIP
    """
    PIPELINE_HISTORY.check(ws)
    at = to_utc(date)
    table = ws.execute(snapshot_expr(ws, at).order_by(c.DEAL_ID)).reset_index(drop=True)
    undated = int(table.pop(UNDATED).sum())
    notes = history_notes(ws, at) + undated_note(undated, f"on {at:%Y-%m-%d}")
    return PipelineSnapshot(table, at, notes)
