"""Turn the generator's arrays into the canonical tables of the data model.

Column names come from :mod:`analysis.core.columns`, dtypes match
:func:`analysis.core.schema.table_schema` (``str``, ``datetime64[us, UTC]``,
``boolean``, ``Int64``, ``float64``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.core import columns as c
from analysis.sample import frames as f
from analysis.sample.activities import VARIANTS, ExperimentAssignment, touch_labels
from analysis.sample.context import SampleContext
from analysis.sample.deals import QUAL_FLAGS
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import LOST_CODE, OPEN_CODE, WON_CODE

OUTCOME_BY_CODE = {OPEN_CODE: c.OPEN, WON_CODE: c.WON, LOST_CODE: c.LOST}


def deals_table(context: SampleContext, draws: SampleDraws, reasons: np.ndarray) -> pd.DataFrame:
    """The canonical ``deals`` table (``reasons`` from ``text.loss_reasons``)."""
    plan, origin, ids = context.plan, context.origin, context.deal_ids
    deals, journeys, roster = draws.deals, draws.journeys, draws.roster
    n = deals.created.size
    seg_keys = list(plan.segments)
    b2b = seg_keys.index(c.B2B)
    products = [p for s in seg_keys for p in plan.segments[s].products]
    offsets = np.cumsum([0] + [len(plan.segments[s].products) for s in seg_keys])[:-1]
    account_no = np.where(deals.segment == b2b, deals.account + 1, np.arange(1, n + 1))
    account = pd.Series(account_no).astype("str").str.zfill(f.id_width(n))
    account = np.where(deals.segment == b2b, "A", "H") + account.to_numpy(dtype=object)
    no_qual = journeys.max_reached < plan.qual_from_stage
    no_comp = (deals.competitor < 0) | (
        journeys.max_reached < context.stage_plan.competitor_known_from
    )
    table = {
        c.DEAL_ID: pd.Series(ids, dtype="str"),
        c.CREATED_AT: f.timestamps(origin, deals.created),
        c.OUTCOME: f.codes([OUTCOME_BY_CODE[k] for k in range(3)], journeys.outcome),
        c.AMOUNT: f.floats(deals.amount),
        c.SEGMENT: f.codes(seg_keys, deals.segment),
        c.CLOSED_AT: f.timestamps(origin, journeys.closed),
        c.CURRENCY: f.codes(list(plan.rates_to_usd), deals.currency),
        c.AMOUNT_ORIGINAL: f.floats(deals.amount_original),
        c.PIPELINE: f.codes([context.pipeline.name], np.zeros(n, dtype=np.int64)),
        c.STAGE: f.codes(context.all_stages, journeys.current),
        c.SOURCE: f.codes(list(plan.source_odds), deals.source),
        c.OWNER_ID: f.codes(roster.rep_ids.tolist(), deals.owner),
        c.ACCOUNT_ID: f.strings(account),
        c.PRODUCT: f.codes(products, offsets[deals.segment] + deals.product),
        c.REGION: f.codes(list(plan.region_mix), deals.region),
        c.N_DECISION_MAKERS: f.integers(deals.n_dm),
        c.LOSS_REASON: f.strings(reasons),
        c.COMPETITOR: f.codes(list(plan.competitors), deals.competitor, missing=no_comp),
    }
    for flag_index, flag in enumerate(QUAL_FLAGS):
        table[flag] = f.booleans(deals.qual[:, flag_index], missing=no_qual)
    table[c.LEAD_SCORE] = f.floats(deals.lead_score)
    return pd.DataFrame(table)


def stage_events_table(context: SampleContext, draws: SampleDraws) -> pd.DataFrame:
    """The canonical ``stage_events`` table (ordered by deal, then time)."""
    journeys, rep_ids = draws.journeys, draws.roster.rep_ids
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(context.deal_ids, journeys.ev_deal),
            c.STAGE: f.take_strings(pa.array(list(context.all_stages)), journeys.ev_stage),
            c.ENTERED_AT: f.timestamps(context.origin, journeys.ev_time),
            c.OWNER_ID: f.take_strings(
                pa.array(rep_ids.tolist()), draws.deals.owner[journeys.ev_deal]
            ),
        }
    )


def activities_table(
    context: SampleContext, draws: SampleDraws, acts: dict[str, np.ndarray]
) -> pd.DataFrame:
    """The canonical ``activities`` table (``acts`` from ``activities.make_activities``)."""
    labels = touch_labels(context.plan, context.open_stages)
    rep_ids = draws.roster.rep_ids
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(context.deal_ids, acts["deal"]),
            c.AT: f.timestamps(context.origin, acts["time"]),
            c.ACTIVITY_TYPE: f.take_strings(pa.array(list(c.ACTIVITY_TYPES)), acts["type"]),
            c.REP_ID: f.take_strings(pa.array(rep_ids.tolist()), acts["rep"]),
            c.TEMPLATE_ID: f.codes(labels["template"], acts["template"]),
            c.SCRIPT_ID: f.codes(labels["script"], acts["script"]),
            c.REPLIED: f.booleans(acts["replied"] == 1, missing=acts["replied"] < 0),
            c.CONNECTED: f.booleans(acts["connected"] == 1, missing=acts["connected"] < 0),
        }
    )


def assignments_table(
    context: SampleContext, draws: SampleDraws, experiments: ExperimentAssignment
) -> pd.DataFrame:
    """The canonical ``assignments`` table: deal units of the email test, then reps
    (assigned at the start of the call test's window)."""
    plan, stage_plan, stages = context.plan, context.stage_plan, context.all_stages
    call_start = context.timeline.call_window[0]
    rep_ids, visits = draws.roster.rep_ids, draws.journeys.visits
    unit = np.flatnonzero(experiments.email_units)
    unit = unit[np.argsort(visits["deal"][unit], kind="stable")]
    deal = visits["deal"][unit]
    n_e, n_r = deal.size, rep_ids.size
    variants = np.array(VARIANTS, dtype=object)
    unit_ids = np.concatenate(
        [
            np.asarray(context.deal_ids.take(pa.array(deal)).to_pylist(), dtype=object),
            rep_ids.astype(object),
        ]
    )
    return pd.DataFrame(
        {
            c.EXPERIMENT_ID: f.strings(
                np.repeat(
                    np.array([plan.email_experiment_id, plan.call_experiment_id], dtype=object),
                    [n_e, n_r],
                )
            ),
            c.UNIT_ID: f.strings(unit_ids),
            c.UNIT_TYPE: f.strings(
                np.repeat(np.array([c.UNIT_DEAL, c.UNIT_REP], dtype=object), [n_e, n_r])
            ),
            c.VARIANT: f.strings(
                np.concatenate(
                    [
                        variants[draws.deals.email_variant_b[deal].astype(int)],
                        variants[experiments.rep_variant],
                    ]
                )
            ),
            c.ASSIGNED_AT: f.timestamps(
                context.origin, np.concatenate([visits["start"][unit], np.full(n_r, call_start)])
            ),
            c.STAGE: f.strings(
                np.repeat(
                    np.array(
                        [stages[stage_plan.email_stage], stages[stage_plan.call_stage]],
                        dtype=object,
                    ),
                    [n_e, n_r],
                )
            ),
        }
    )


def reps_table(context: SampleContext, draws: SampleDraws, quota: np.ndarray) -> pd.DataFrame:
    """The canonical ``reps`` table (``quota`` from :func:`rep_quotas`)."""
    roster = draws.roster
    return pd.DataFrame(
        {
            c.REP_ID: f.strings(roster.rep_ids.astype(object)),
            c.NAME: f.strings(roster.names.astype(object)),
            c.TEAM: f.strings(roster.teams.astype(object)),
            c.REGION: f.strings(roster.regions.astype(object)),
            c.HIRED_AT: f.timestamps(context.origin, roster.hired_days),
            c.QUOTA: f.floats(quota),
        }
    )


def feedback_table(context: SampleContext, feedback: dict[str, np.ndarray]) -> pd.DataFrame:
    """The canonical ``feedback`` table (``feedback`` from ``text.feedback``)."""
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(context.deal_ids, feedback["deal"]),
            c.SOURCE: f.take_strings(pa.array(list(c.FEEDBACK_SOURCES)), feedback["source"]),
            c.TEXT: f.strings(feedback["text"]),
            c.COLLECTED_AT: f.timestamps(context.origin, feedback["time"]),
            c.RATING: f.floats(feedback["rating"]),
        }
    )


def rep_quotas(rng: np.random.Generator, context: SampleContext, draws: SampleDraws) -> np.ndarray:
    """Annual quota of each rep: the segment's realised yearly bookings per rep times
    a uniform(0.8, 1.3) stretch, rounded to thousands (so attainment is plausible at any size)."""
    plan, deals, roster = context.plan, draws.deals, draws.roster
    years = plan.history_days / 365.0
    quota = np.zeros(roster.rep_ids.size)
    for s, seg in enumerate(plan.segments):
        won = (draws.journeys.outcome == WON_CODE) & (deals.segment == s)
        reps = roster.segments == seg
        per_rep = deals.amount[won].sum() / max(int(reps.sum()), 1) / years
        quota[reps] = per_rep
    return np.round(quota * rng.uniform(0.8, 1.3, size=quota.size), -3)
