"""The lead's lifecycle in the engine: its cut-off, its groups and which steps it reached.

Shared by :mod:`.funnel` and :mod:`.speed`. A lead *reached* a step when it
carries that step's time or a later step's (``accepted_at`` without
``mql_at`` still passed MQL); it *failed* when it was disqualified or
recycled. Nothing here computes a statistic: these are the ibis expressions
the two analyses aggregate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import ibis
import pandas as pd

from analysis.engine.grouping import as_keys, series_to_utc
from analysis.engine.journey import data_cutoff
from analysis.engine.needs import LEAD_FUNNEL
from analysis.engine.reach import PERIOD_TRUNCATE
from analysis.engine.workspace import Workspace
from analysis.marketing import columns as c

LeadGrouping = Literal["source", "campaign", "segment", "owner_id"]
GROUP_COLUMNS = (c.SOURCE, c.CAMPAIGN, c.SEGMENT, c.OWNER_ID)
TIMESTAMP = "timestamp('UTC')"
# Every time a lead carries, the latest of which is its cut-off without a recorded as_of.
LEAD_TIMES = (
    c.CREATED_AT, *c.LEAD_STEPS, c.DISQUALIFIED_AT, c.RECYCLED_AT, c.FIRST_RESPONSE_AT,
)  # fmt: skip


def lead_cutoff(ws: Workspace) -> pd.Timestamp:
    """The moment the leads run to: waiting leads are censored here.

    The export's own time (``as_of`` in the manifest) when ingest recorded it;
    else the latest time among the leads' lifecycle times and the deals'
    cut-off (:func:`analysis.engine.journey.data_cutoff`).
    """
    recorded = (ws.manifest or {}).get("as_of")
    if recorded:
        return pd.Timestamp(recorded).tz_convert("UTC")
    t = ws.leads
    cols = [col for col in LEAD_TIMES if col in t.columns]
    latest = ws.execute(t.aggregate([t[col].max().name(col) for col in cols]))
    values = [pd.Timestamp(v) for v in latest.iloc[0] if v is not None and not pd.isna(v)]
    if ws.has(c.DEALS):
        deals_cutoff = data_cutoff(ws)
        if not pd.isna(deals_cutoff):
            values.append(deals_cutoff)
    if not values:
        return pd.NaT
    values = [v.tz_localize("UTC") if v.tzinfo is None else v.tz_convert("UTC") for v in values]
    return max(values)


def lead_keys(
    ws: Workspace, by: str | Sequence[str] | None, period: str | None = None
) -> list[str]:
    """The grouping columns: ``by`` checked against the leads, then ``period`` if given.

    Raises
    ------
    ValueError
        For a ``by`` column the leads lack or a ``period`` other than month or quarter.
    """
    keys = as_keys(by)
    have = ws.leads.columns
    for key in keys:
        if key not in have:
            raise ValueError(
                f"Leads have no column {key!r} to group by; they have {', '.join(have)}."
            )
    if period is not None and period not in PERIOD_TRUNCATE:
        raise ValueError(f'period must be None, "month" or "quarter", not {period!r}.')
    return [*keys, c.PERIOD] if period else keys


def time_column(t: ibis.Table, name: str) -> ibis.Value:
    """A lead time as UTC timestamp, null where the export lacks the column."""
    return t[name].cast(TIMESTAMP) if name in t.columns else ibis.null().cast(TIMESTAMP)


def lead_rows(ws: Workspace, keys: list[str], period: str | None = None) -> ibis.Table:
    """One row per lead: its group, step times and implied reach flags.

    Columns: the ``keys`` (blank labels read ``unknown``; ``period`` the
    calendar month or quarter of ``created_at``), the times ``_mql, _accepted,
    _sql, _converted, _failed_at`` (the earlier of disqualified and recycled),
    ``_first_response``, the converted deal's id ``_deal``, the booleans
    ``_r_mql, _r_accepted, _r_sql, _r_converted`` (reached, implied by any
    later step), ``_failed`` and ``_in_order`` (False for leads that ingest
    flagged ``steps_out_of_order``: their durations are left out).
    """
    t = ws.leads
    labels = {}
    for key in keys:
        if key == c.PERIOD:
            labels[key] = t[c.CREATED_AT].truncate(PERIOD_TRUNCATE[period])
        elif t[key].type().is_string():
            labels[key] = t[key].fill_null(c.UNKNOWN)
        else:
            labels[key] = t[key]
    times = {
        "_mql": time_column(t, c.MQL_AT),
        "_accepted": time_column(t, c.ACCEPTED_AT),
        "_sql": time_column(t, c.SQL_AT),
        "_converted": time_column(t, c.CONVERTED_AT),
        "_first_response": time_column(t, c.FIRST_RESPONSE_AT),
    }
    disq, recycled = time_column(t, c.DISQUALIFIED_AT), time_column(t, c.RECYCLED_AT)
    deal = (
        t[c.CONVERTED_DEAL_ID].cast("string")
        if c.CONVERTED_DEAL_ID in t.columns
        else ibis.null().cast("string")
    )
    flagged = (
        t[c.STEPS_OUT_OF_ORDER].fill_null(False)
        if c.STEPS_OUT_OF_ORDER in t.columns
        else ibis.literal(False)
    )
    r_converted = times["_converted"].notnull() | deal.notnull()
    r_sql = times["_sql"].notnull() | r_converted
    r_accepted = times["_accepted"].notnull() | r_sql
    r_mql = times["_mql"].notnull() | r_accepted
    return t.select(
        **labels,
        **times,
        _failed_at=ibis.least(disq.coalesce(recycled), recycled.coalesce(disq)),
        _failed=disq.notnull() | recycled.notnull(),
        _deal=deal,
        _r_mql=r_mql,
        _r_accepted=r_accepted,
        _r_sql=r_sql,
        _r_converted=r_converted,
        _in_order=~flagged,
    )


def check_leads(ws: Workspace) -> None:
    """Raise :class:`~analysis.core.errors.MissingInput` without a usable leads table."""
    LEAD_FUNNEL.check(ws)


def periods_to_utc(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The ``period`` column (when grouped by one) as UTC timestamps, as other tables show it."""
    if c.PERIOD in keys and len(frame):
        frame[c.PERIOD] = series_to_utc(frame[c.PERIOD])
    return frame
