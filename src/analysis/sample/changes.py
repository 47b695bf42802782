"""The deal change history (``deal_changes``) and the deal columns it ends in.

One row per change of a tracked field, values as canonical text (amounts and
probabilities as plain decimals, times as ISO 8601 UTC, stages as canonical
names), ``old_value`` empty for a deal's first value, ``changed_by`` the
deal's owner:

* ``stage``: one row per ``stage_events`` row (old: the stage entered before,
  so a re-entry has old = new), the won or lost stage at the close included;
* ``probability`` and ``forecast_category``: set at every stage entry
  (:mod:`analysis.sample.probability`), a row when the value changes;
* ``amount``: the first amount at creation, then one or two changes while
  open for some deals, ending at ``deals.amount``;
* ``expected_close_at``: the planned close at creation, the pushes
  (:mod:`analysis.sample.slippage`), and at the close the actual close time.

A deal's current ``amount``, ``stage``, ``probability``, ``forecast_category``
and (open deals) ``expected_close_at`` in ``deals`` equal the new value of its
last change of the field, so a point-in-time rebuild ("the value as of d is
the new value of the last change at or before d") recovers any past day.

Everything here comes from the history's own random stream
(``default_rng([seed, HISTORY_STREAM])``), drawn after and apart from the
sample's, so the other tables and their truth are the same with or without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.core import columns as c
from analysis.sample import frames as f
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.params import CLOSED_CATEGORY, OMITTED
from analysis.sample.probability import (
    event_probabilities,
    forecast_categories,
    probability_truth,
    rep_probabilities,
    true_win_probability,
)
from analysis.sample.slippage import CloseDates, day_end, draw_close_dates, slippage_truth

HISTORY_STREAM = 0x68697374  # "hist"
FIELD_CODE = {name: i for i, name in enumerate(c.TRACKED_FIELDS)}


@dataclass(frozen=True)
class AmountChanges:
    """Amount changes after creation: ``deal``, ``at`` (float days), ``old``, ``new``;
    ``initial`` is every deal's amount at creation."""

    initial: np.ndarray
    deal: np.ndarray
    at: np.ndarray
    old: np.ndarray
    new: np.ndarray


@dataclass(frozen=True)
class DealHistory:
    """The drawn change history of one sample.

    Attributes
    ----------
    close_dates : CloseDates
        Expected close dates and pushes.
    amounts : AmountChanges
        Amount at creation and its changes.
    true_win, by_rep, rep_shift : numpy arrays
        True stage win probability (segments x open stages), the probability
        each rep enters at each stage, and each rep's log-odds optimism shift.
    ev_probability, ev_category : numpy arrays
        Probability and forecast category code set at each stage event.
    """

    close_dates: CloseDates
    amounts: AmountChanges
    true_win: np.ndarray
    by_rep: np.ndarray
    rep_shift: np.ndarray
    ev_probability: np.ndarray
    ev_category: np.ndarray


def draw_amount_changes(
    rng: np.random.Generator, context: SampleContext, draws: SampleDraws
) -> AmountChanges:
    """Draw which deals change amount while open, when, and by how much.

    Notes
    -----
    A deal open at least ``amount_min_life_days`` changes amount with
    probability ``amount_change_share``, twice with ``amount_second_change_share``
    of those. Each change multiplies by ``1 ± uniform(*amount_change_range)``
    (sign even odds), so the amount at creation is ``deals.amount`` divided by
    the factors (rounded to cents at each step). A single change falls at a
    uniform point between 10 % and 90 % of the deal's open life (creation to
    close or cutoff); two fall between 10 % and 45 % and between 55 % and 90 %.
    """
    hp, deals = context.plan.history, draws.deals
    n = deals.created.size
    closed = draws.journeys.closed
    life = np.where(np.isnan(closed), context.timeline.cutoff, closed) - deals.created
    changed = (life >= hp.amount_min_life_days) & (rng.random(n) < hp.amount_change_share)
    twice = changed & (rng.random(n) < hp.amount_second_change_share)
    size = rng.uniform(*hp.amount_change_range, size=(n, 2))
    factor = 1.0 + np.where(rng.random((n, 2)) < 0.5, -size, size)
    u = rng.random((n, 2))
    first_at = deals.created + life * np.where(twice, 0.10 + 0.35 * u[:, 0], 0.10 + 0.80 * u[:, 0])
    second_at = deals.created + life * (0.55 + 0.35 * u[:, 1])
    final = deals.amount_original  # a CRM records edits in the deal's own currency
    before_last = np.round(final / np.where(twice, factor[:, 1], factor[:, 0]), 2)
    before_first = np.round(before_last / factor[:, 0], 2)
    initial = np.where(twice, before_first, np.where(changed, before_last, final))
    once, two = np.flatnonzero(changed & ~twice), np.flatnonzero(twice)
    deal = np.concatenate([once, two, two])
    at = np.concatenate([first_at[once], first_at[two], second_at[two]])
    old = np.concatenate([initial[once], initial[two], before_last[two]])
    new = np.concatenate([final[once], before_last[two], final[two]])
    return AmountChanges(initial=initial, deal=deal, at=at, old=old, new=new)


def draw_history(seed: int, context: SampleContext, draws: SampleDraws) -> DealHistory:
    """Draw the change history from its own stream: close dates and pushes, reps'
    optimism, then amount changes (keep this order: it fixes the stream)."""
    rng = np.random.default_rng([int(seed), HISTORY_STREAM])
    close_dates = draw_close_dates(rng, context, draws)
    rep_shift = rng.normal(0.0, context.plan.history.rep_optimism_sd, draws.roster.rep_ids.size)
    amounts = draw_amount_changes(rng, context, draws)
    true_win = true_win_probability(context, draws)
    by_rep = rep_probabilities(context, draws, true_win, rep_shift)
    prob, category = event_probabilities(context, draws, by_rep)
    return DealHistory(
        close_dates=close_dates,
        amounts=amounts,
        true_win=true_win,
        by_rep=by_rep,
        rep_shift=rep_shift,
        ev_probability=prob,
        ev_category=category,
    )


def _all_categories(context: SampleContext) -> tuple[str, ...]:
    return (*forecast_categories(context), CLOSED_CATEGORY, OMITTED)


def _null_text(n: int) -> pa.Array:
    return pa.nulls(n, type=pa.string())


def _first_of_deal(deal: np.ndarray) -> np.ndarray:
    return np.r_[True, deal[1:] != deal[:-1]]


# One block of rows of a field: (field, deal index, seconds since the origin, old, new).
Rows = tuple[str, np.ndarray, np.ndarray, pa.Array, pa.Array]


def _set_at_entries(
    field: str, deal: np.ndarray, secs: np.ndarray, values: np.ndarray, text: pa.Array
) -> Rows:
    """Rows of a field set at every stage entry: its first value and each change."""
    first = _first_of_deal(deal)
    rows = np.flatnonzero(first | np.r_[True, values[1:] != values[:-1]])
    old = text.take(pa.array(np.maximum(rows - 1, 0), mask=first[rows]))
    return field, deal[rows], secs[rows], old, text.take(pa.array(rows))


def _entry_rows(context: SampleContext, draws: SampleDraws, history: DealHistory) -> list[Rows]:
    """Stage (one row per stage event), probability and forecast category rows."""
    journeys = draws.journeys
    deal, secs = journeys.ev_deal, f.seconds(journeys.ev_time)
    stages = pa.array(list(context.all_stages), type=pa.string()).take(pa.array(journeys.ev_stage))
    first = _first_of_deal(deal)
    previous = stages.take(pa.array(np.maximum(np.arange(deal.size) - 1, 0), mask=first))
    probability = f.decimal_text(history.ev_probability)
    labels = pa.array(list(_all_categories(context)), type=pa.string())
    return [
        (c.STAGE, deal, secs, previous, stages),
        _set_at_entries(c.PROBABILITY, deal, secs, history.ev_probability, probability),
        _set_at_entries(
            c.FORECAST_CATEGORY,
            deal,
            secs,
            history.ev_category,
            labels.take(pa.array(history.ev_category)),
        ),
    ]


def _amount_rows(draws: SampleDraws, amounts: AmountChanges) -> list[Rows]:
    """The amount at creation, then its changes."""
    n = draws.deals.created.size
    return [
        (
            c.AMOUNT,
            np.arange(n),
            f.seconds(draws.deals.created),
            _null_text(n),
            f.decimal_text(amounts.initial),
        ),
        (
            c.AMOUNT,
            amounts.deal,
            f.seconds(amounts.at),
            f.decimal_text(amounts.old),
            f.decimal_text(amounts.new),
        ),
    ]


def _close_date_rows(context: SampleContext, draws: SampleDraws, dates: CloseDates) -> list[Rows]:
    """The expected close at creation, its pushes, and the actual close at closing."""
    n, closed_days = draws.deals.created.size, draws.journeys.closed
    closed = np.flatnonzero(~np.isnan(closed_days))
    closed_s = f.seconds(closed_days[closed])

    def text(day: np.ndarray) -> pa.Array:
        return f.iso_text(context.origin, day_end(context, day))

    return [
        (
            c.EXPECTED_CLOSE_AT,
            np.arange(n),
            f.seconds(draws.deals.created),
            _null_text(n),
            text(dates.first_day),
        ),
        (
            c.EXPECTED_CLOSE_AT,
            dates.push_deal,
            dates.push_at,
            text(dates.push_from),
            text(dates.push_to),
        ),
        (
            c.EXPECTED_CLOSE_AT,
            closed,
            closed_s,
            text(dates.current_day[closed]),
            f.iso_text(context.origin, closed_s),
        ),
    ]


def deal_changes_table(
    context: SampleContext, draws: SampleDraws, history: DealHistory
) -> pd.DataFrame:
    """The canonical ``deal_changes`` table, ordered by deal, time and field."""
    parts = [
        *_entry_rows(context, draws, history),
        *_amount_rows(draws, history.amounts),
        *_close_date_rows(context, draws, history.close_dates),
    ]
    deal = np.concatenate([p[1] for p in parts]).astype(np.int64)
    secs = np.concatenate([p[2] for p in parts]).astype(np.int64)
    field = np.concatenate([np.full(p[1].size, FIELD_CODE[p[0]]) for p in parts])
    # one int64 key (deal, second, field) sorts faster than np.lexsort on three
    key = (deal * (int(secs.max()) + 1) + secs) * len(FIELD_CODE) + field
    order = np.argsort(key)  # keys are unique
    old = pa.concat_arrays([p[3] for p in parts]).take(pa.array(order))
    new = pa.concat_arrays([p[4] for p in parts]).take(pa.array(order))
    deal, secs, field = deal[order], secs[order], field[order]
    rep_ids = pa.array(draws.roster.rep_ids.tolist(), type=pa.string())
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(context.deal_ids, deal),
            c.CHANGED_AT: f.timestamps_at(context.origin, secs),
            c.FIELD: f.codes(list(c.TRACKED_FIELDS), field),
            c.OLD_VALUE: pd.Series(old, dtype="str"),
            c.NEW_VALUE: pd.Series(new, dtype="str"),
            c.CHANGED_BY: f.take_strings(rep_ids, draws.deals.owner[deal]),
        }
    )


def current_deal_columns(
    context: SampleContext, draws: SampleDraws, history: DealHistory
) -> dict[str, pd.Series]:
    """``expected_close_at`` (open deals), ``probability`` and ``forecast_category`` of
    each deal at the cutoff: the new values of its last changes."""
    journeys = draws.journeys
    last = np.r_[np.flatnonzero(np.diff(journeys.ev_deal)), journeys.ev_deal.size - 1]
    closed = ~np.isnan(journeys.closed)
    expected = day_end(context, history.close_dates.current_day)
    return {
        c.EXPECTED_CLOSE_AT: f.timestamps_at(context.origin, expected, missing=closed),
        c.PROBABILITY: f.floats(history.ev_probability[last]),
        c.FORECAST_CATEGORY: f.codes(_all_categories(context), history.ev_category[last]),
    }


def history_truth(
    context: SampleContext, draws: SampleDraws, history: DealHistory, table: pd.DataFrame
) -> dict:
    """Truth of the change history (``table`` from :func:`deal_changes_table`):
    ``deal_changes``, ``slippage``, ``rep_probability`` and ``amount_changes``."""
    hp, amounts = context.plan.history, history.amounts
    n = draws.deals.created.size
    changed = np.unique(amounts.deal)
    counts = table[c.FIELD].value_counts()
    return {
        "deal_changes": {
            "random_stream": f"numpy default_rng([seed, {HISTORY_STREAM:#x}])",
            "fields": list(c.TRACKED_FIELDS),
            "values": (
                "canonical text: amounts and probabilities as Python writes floats "
                "(12500.0, 0.35), times ISO 8601 UTC (2026-05-31T23:59:59+00:00), canonical "
                "stage names, forecast categories as the CRM says; old_value empty for a "
                "deal's first value"
            ),
            "forecast_categories": list(_all_categories(context)),
            "rows_by_field": {name: int(counts.get(name, 0)) for name in c.TRACKED_FIELDS},
        },
        "slippage": slippage_truth(context, draws, history.close_dates),
        "rep_probability": probability_truth(
            context, draws, history.true_win, history.by_rep, history.rep_shift
        ),
        "amount_changes": {
            "share": hp.amount_change_share,
            "second_change_share": hp.amount_second_change_share,
            "factor": f"1 ± uniform{tuple(hp.amount_change_range)}, sign with even odds",
            "min_open_days": hp.amount_min_life_days,
            "realised": {
                "deals": n,
                "deals_changed": int(changed.size),
                "share_changed": changed.size / n,
                "changes": int(amounts.deal.size),
            },
            "definition": "amount changes after creation (not the first amount)",
        },
    }
