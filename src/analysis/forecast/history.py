"""Rewind a deal's tracked fields to a past moment, in the engine.

A CRM keeps each deal's current amount, expected close, stage, forecast
category and probability; ``deal_changes`` keeps every change of them. The
value a field had at time ``t`` is the ``new_value`` of the deal's last
change at or before ``t``. :func:`values_as_of` reads it for many
(deal, moment) pairs at once with one window over the changes, so a pipeline
snapshot or a waterfall never sorts a change history in pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis

from analysis.core import columns as c
from analysis.engine.grouping import as_keys
from analysis.engine.journey import stage_position
from analysis.engine.workspace import Workspace

AS_OF = "_as_of"  # column of a moments table: the time a deal's values are read at

# How each tracked field's canonical text is cast back (deal_changes stores text).
FIELD_TYPES = {
    c.AMOUNT: "float64",
    c.EXPECTED_CLOSE_AT: "timestamp('UTC')",
    c.STAGE: "string",
    c.FORECAST_CATEGORY: "string",
    c.PROBABILITY: "float64",
}

_BEFORE = "_before"  # the change was made at or before the moment
_PICK = "_pick"  # the last change at or before the moment, or the first one after
_KEY_DEAL, _KEY_AT = "_key_deal", "_key_at"


def _current(deals: ibis.Table, field: str) -> ibis.Value:
    """Today's value of a tracked field from ``deals`` (typed null when the column is absent)."""
    if field not in deals.columns:
        return ibis.null().cast(FIELD_TYPES[field])
    return deals[field].cast(FIELD_TYPES[field])


def _own_currency_rate(deals: ibis.Table) -> ibis.Value:
    """Reporting amount per unit of the deal's own currency: ``amount / amount_original``.

    1 when the deal has no original amount (one currency) or either is 0 or missing.
    """
    if c.AMOUNT_ORIGINAL not in deals.columns or c.AMOUNT not in deals.columns:
        return ibis.literal(1.0)
    amount = deals[c.AMOUNT].cast("float64")
    original = deals[c.AMOUNT_ORIGINAL].cast("float64")
    usable = amount.notnull() & original.notnull() & (original != 0) & (amount != 0)
    return usable.ifelse(amount / original, 1.0)


def _picked_changes(changes: ibis.Table, pairs: ibis.Table, fields: Sequence[str]) -> ibis.Table:
    """Per (deal, moment, field) the last change at or before the moment and the first after.

    Changes of a deal and field are ordered by ``changed_at`` (then by the
    values, so that simultaneous changes are read the same way every time);
    whether a change is at or before the moment is monotone in that order, so
    ``LAG``/``LEAD`` of the flag find the boundary in one window.
    """
    old = changes[c.OLD_VALUE] if c.OLD_VALUE in changes.columns else ibis.null().cast("string")
    changes = changes.filter(changes[c.FIELD].isin(list(fields))).select(
        c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.NEW_VALUE, **{c.OLD_VALUE: old.cast("string")}
    )
    keyed = changes.join(pairs, c.DEAL_ID)
    keyed = keyed.mutate(**{_BEFORE: keyed[c.CHANGED_AT] <= keyed[AS_OF]})
    window = ibis.window(
        group_by=[keyed[c.DEAL_ID], keyed[AS_OF], keyed[c.FIELD]],
        order_by=[keyed[c.CHANGED_AT], keyed[c.NEW_VALUE], keyed[c.OLD_VALUE]],
    )
    before = keyed[_BEFORE]
    last_before = before & ~before.lead().over(window).fill_null(False)
    first_after = ~before & before.lag().over(window).fill_null(True)
    keyed = keyed.mutate(**{_PICK: last_before | first_after})
    return keyed.filter(keyed[_PICK])


def _rewound_changes(ws: Workspace, pairs: ibis.Table, fields: Sequence[str]) -> ibis.Table:
    """Per (deal, moment): for each field whether a change precedes it, its value, the change after."""
    picked = _picked_changes(ws.deal_changes, pairs, fields)
    field, before = picked[c.FIELD], picked[_BEFORE]
    metrics = {}
    for name in fields:
        is_field = field == name
        metrics[f"_has_{name}"] = is_field.any()
        metrics[f"_known_{name}"] = (is_field & before).any()
        metrics[f"_new_{name}"] = picked[c.NEW_VALUE].max(where=is_field & before)
        metrics[f"_old_{name}"] = picked[c.OLD_VALUE].max(where=is_field & ~before)
    if c.STAGE in fields:
        metrics["_stage_changed_at"] = picked[c.CHANGED_AT].max(where=(field == c.STAGE) & before)
    per_pair = picked.group_by([c.DEAL_ID, AS_OF]).aggregate(**metrics)
    return per_pair.rename(**{_KEY_DEAL: c.DEAL_ID, _KEY_AT: AS_OF})


def _rewound_stage_events(ws: Workspace, pairs: ibis.Table) -> ibis.Table:
    """Per (deal, moment): whether the deal has timed stage events, and the last one by then.

    Events without a time (derived by ingest, or flagged as entered before
    the deal was created) cannot be placed before or after a moment and are
    left out. Simultaneous entries follow the pipeline order.
    """
    ev = ws.stage_events
    ev = ev.filter(ev[c.ENTERED_AT].notnull()).select(c.DEAL_ID, c.STAGE, c.ENTERED_AT)
    keyed = ev.join(pairs, c.DEAL_ID)
    keyed = keyed.mutate(_order=stage_position(ws, keyed[c.STAGE]))
    keyed = keyed.mutate(**{_BEFORE: keyed[c.ENTERED_AT] <= keyed[AS_OF]})
    window = ibis.window(
        group_by=[keyed[c.DEAL_ID], keyed[AS_OF], keyed[_BEFORE]],
        order_by=[ibis.desc(keyed[c.ENTERED_AT]), ibis.desc(keyed["_order"])],
    )
    keyed = keyed.mutate(_rank=ibis.row_number().over(window))
    last = keyed[_BEFORE] & (keyed["_rank"] == 0)
    per_pair = keyed.group_by([c.DEAL_ID, AS_OF]).aggregate(
        _has_events=keyed.count() > 0,
        _event_stage=keyed[c.STAGE].max(where=last),
        _event_at=keyed[c.ENTERED_AT].max(where=last),
    )
    return per_pair.rename(**{_KEY_DEAL: c.DEAL_ID, _KEY_AT: AS_OF})


def _joined(left: ibis.Table, right: ibis.Table) -> ibis.Table:
    """``left`` with the per-(deal, moment) columns of ``right`` (null where it has none)."""
    on = [left[c.DEAL_ID] == right[_KEY_DEAL], left[AS_OF] == right[_KEY_AT]]
    return left.left_join(right, on).drop(_KEY_DEAL, _KEY_AT)


def values_as_of(
    ws: Workspace, moments: ibis.Table, fields: Sequence[str] = c.TRACKED_FIELDS
) -> ibis.Table:
    """Each tracked field of each deal as it stood at a moment.

    Parameters
    ----------
    ws : Workspace
        Reads ``deals`` (today's values), and ``deal_changes`` and
        ``stage_events`` when present.
    moments : ibis.Table
        ``deal_id`` and :data:`AS_OF` (a UTC timestamp); a deal may appear
        with several moments.
    fields : sequence of str
        Which of :data:`analysis.core.columns.TRACKED_FIELDS` to read.

    Returns
    -------
    ibis.Table
        One row per distinct (``deal_id``, :data:`AS_OF`) of a deal in
        ``deals``: the requested fields, typed (amount and probability
        float64, expected_close_at a UTC timestamp, stage and
        forecast_category text), and with ``stage`` also ``stage_entered_at``.

    Notes
    -----
    For a deal, field :math:`f` and moment :math:`t`, with the deal's
    changes of :math:`f` ordered by ``changed_at``:

    1. the ``new_value`` of the last change with ``changed_at`` :math:`\\le t`;
    2. else, when every change is later, the ``old_value`` of the first one
       (null when the export keeps no old values);
    3. else (the field never changed) today's value in ``deals``. For
       ``stage``, a deal with timed ``stage_events`` takes instead the
       stage of its last event entered at or before :math:`t` (null when
       every event is later); a deal without any stage history takes
       today's stage unless it is won or lost and the deal closed after
       :math:`t` (then null: the stage it had is unknown).

    Only changes and events at or before :math:`t` and, through rule 2, the
    ``old_value`` of the first later change can influence the result; today's
    value counts only for a field that never changed.

    Amounts in ``deal_changes`` are in the deal's own currency, as CRMs
    record edits; they are converted to the reporting currency with the
    deal's own rate, ``amount / amount_original`` from ``deals`` (1 when the
    deal has no original amount), so a rewound amount and today's agree. ``stage_entered_at`` is
    the time of the change or event that set the stage (null when the stage
    comes from rule 2 or 3).
    """
    unknown = [f for f in fields if f not in c.TRACKED_FIELDS]
    if unknown:
        raise ValueError(
            f"{unknown[0]!r} is not a tracked field; choose from {', '.join(c.TRACKED_FIELDS)}."
        )
    pairs = moments.select(c.DEAL_ID, AS_OF).distinct()
    deals = ws.deals
    now = {f"_now_{f}": _current(deals, f) for f in fields}
    closed = deals[c.CLOSED_AT] if c.CLOSED_AT in deals.columns else ibis.null("timestamp('UTC')")
    rate = {"_rate": _own_currency_rate(deals)} if c.AMOUNT in fields else {}
    table = pairs.join(deals.select(c.DEAL_ID, _closed_at=closed, **now, **rate), c.DEAL_ID)
    if c.STAGE in fields:
        # Today's stage is won or lost only from the close on; before it, unknown.
        terminal = table["_now_stage"].isin(list(ws.pipeline.terminal_stages))
        closed_by_then = (table["_closed_at"] <= table[AS_OF]).fill_null(False)
        stage = (terminal & ~closed_by_then).ifelse(ibis.null("string"), table["_now_stage"])
        table = table.mutate(_now_stage=stage)
    with_changes = ws.has(c.DEAL_CHANGES)
    if with_changes:
        table = _joined(table, _rewound_changes(ws, pairs, fields))
    with_events = c.STAGE in fields and ws.has(c.STAGE_EVENTS)
    if with_events:
        table = _joined(table, _rewound_stage_events(ws, pairs))
    values = {}
    for f in fields:
        unknown_time = ibis.null().cast("timestamp('UTC')")
        value, entered = table[f"_now_{f}"], unknown_time
        if f == c.STAGE and with_events:
            has_events = table["_has_events"].fill_null(False)
            value = has_events.ifelse(table["_event_stage"], value)
            entered = has_events.ifelse(table["_event_at"].cast("timestamp('UTC')"), entered)
        if with_changes:
            known, has = table[f"_known_{f}"].fill_null(False), table[f"_has_{f}"].fill_null(False)
            new = table[f"_new_{f}"].try_cast(FIELD_TYPES[f])
            old = table[f"_old_{f}"].try_cast(FIELD_TYPES[f])
            if f == c.AMOUNT:  # recorded in the deal's own currency
                new, old = new * table["_rate"], old * table["_rate"]
            value = ibis.cases((known, new), (has, old), else_=value)
            if f == c.STAGE:
                changed_at = table["_stage_changed_at"].cast("timestamp('UTC')")
                entered = ibis.cases((known, changed_at), (has, unknown_time), else_=entered)
        values[f] = value
        if f == c.STAGE:
            values[c.STAGE_ENTERED_AT] = entered
    return table.select(c.DEAL_ID, AS_OF, **values)


def label_keys(ws: Workspace, by: str | Sequence[str] | None) -> list[str]:
    """The grouping columns ``by`` names: deal labels that have no history.

    A tracked field (amount, stage, ...) changes over time, so a deal would
    move between groups; a column the deals lack is an error too.
    """
    keys = as_keys(by)
    for key in keys:
        if key in c.TRACKED_FIELDS:
            raise ValueError(
                f"by={key!r} changes over time, so deals would move between groups; group by "
                "a deal label without history (segment, owner_id, pipeline, source)."
            )
        if key not in ws.deals.columns:
            raise ValueError(
                f"Deals have no column {key!r}; they have {', '.join(ws.deals.columns)}."
            )
    return keys
