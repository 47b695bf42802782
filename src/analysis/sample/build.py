"""Turn the generator's arrays into the canonical tables of the data model.

Column names come from :mod:`analysis.columns`, dtypes match
:func:`analysis.schema.table_schema` (``str``, ``datetime64[us, UTC]``,
``boolean``, ``Int64``, ``float64``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import columns as c
from analysis.sample import frames as f
from analysis.sample.activities import VARIANTS
from analysis.sample.deals import QUAL_FLAGS, DealDraws
from analysis.sample.journeys import LOST_CODE, OPEN_CODE, WON_CODE, Journeys, StagePlan
from analysis.sample.params import Plan
from analysis.sample.reps import RepRoster

OUTCOME_LABELS = {OPEN_CODE: c.OPEN, WON_CODE: c.WON, LOST_CODE: c.LOST}


def id_width(count: int) -> int:
    """Digits of zero-padded ids: at least 6, enough for ``count``."""
    return max(6, len(str(count)))


def deal_ids(n_deals: int) -> pa.Array:
    """Deal ids ``D000001`` ... in creation order."""
    return f.id_labels("D", n_deals, id_width(n_deals))


def deals_table(
    plan: Plan,
    sp: StagePlan,
    d: DealDraws,
    j: Journeys,
    roster: RepRoster,
    reasons: np.ndarray,
    stages: tuple[str, ...],
    pipeline: str,
    origin: pd.Timestamp,
    ids: pa.Array,
) -> pd.DataFrame:
    """The canonical ``deals`` table."""
    n = d.created.size
    seg_keys = list(plan.segments)
    b2b = seg_keys.index(c.B2B)
    products = [p for s in seg_keys for p in plan.segments[s].products]
    offsets = np.cumsum([0] + [len(plan.segments[s].products) for s in seg_keys])[:-1]
    account_no = np.where(d.segment == b2b, d.account + 1, np.arange(1, n + 1))
    account = pd.Series(account_no).astype("str").str.zfill(id_width(n))
    account = np.where(d.segment == b2b, "A", "H") + account.to_numpy(dtype=object)
    no_qual = j.max_reached < plan.qual_from_stage
    no_comp = (d.competitor < 0) | (j.max_reached < sp.competitor_known_from)
    table = {
        c.DEAL_ID: pd.Series(ids, dtype="str"),
        c.CREATED_AT: f.timestamps(origin, d.created),
        c.OUTCOME: f.codes([OUTCOME_LABELS[k] for k in range(3)], j.outcome),
        c.AMOUNT: f.floats(d.amount),
        c.SEGMENT: f.codes(seg_keys, d.segment),
        c.CLOSED_AT: f.timestamps(origin, j.closed),
        c.CURRENCY: f.codes(list(plan.rates_to_usd), d.currency),
        c.AMOUNT_ORIGINAL: f.floats(d.amount_original),
        c.PIPELINE: f.codes([pipeline], np.zeros(n, dtype=np.int64)),
        c.STAGE: f.codes(stages, j.current),
        c.SOURCE: f.codes(list(plan.source_odds), d.source),
        c.OWNER_ID: f.codes(roster.rep_ids.tolist(), d.owner),
        c.ACCOUNT_ID: f.strings(account),
        c.PRODUCT: f.codes(products, offsets[d.segment] + d.product),
        c.REGION: f.codes(list(plan.region_mix), d.region),
        c.N_DECISION_MAKERS: f.integers(d.n_dm),
        c.LOSS_REASON: f.strings(reasons),
        c.COMPETITOR: f.codes(list(plan.competitors), d.competitor, missing=no_comp),
    }
    for jx, flag in enumerate(QUAL_FLAGS):
        table[flag] = f.booleans(d.qual[:, jx], missing=no_qual)
    table[c.LEAD_SCORE] = f.floats(d.lead_score)
    return pd.DataFrame(table)


def stage_events_table(
    j: Journeys,
    roster: RepRoster,
    d: DealDraws,
    stages: tuple[str, ...],
    origin: pd.Timestamp,
    ids: pa.Array,
) -> pd.DataFrame:
    """The canonical ``stage_events`` table (ordered by deal, then time)."""
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(ids, j.ev_deal),
            c.STAGE: f.take_strings(pa.array(list(stages)), j.ev_stage),
            c.ENTERED_AT: f.timestamps(origin, j.ev_time),
            c.OWNER_ID: f.take_strings(pa.array(roster.rep_ids.tolist()), d.owner[j.ev_deal]),
        }
    )


def activities_table(
    acts: dict[str, np.ndarray],
    labels: dict[str, list[str]],
    roster: RepRoster,
    origin: pd.Timestamp,
    ids: pa.Array,
) -> pd.DataFrame:
    """The canonical ``activities`` table (labels from ``activities.touch_labels``)."""
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(ids, acts["deal"]),
            c.AT: f.timestamps(origin, acts["time"]),
            c.ACTIVITY_TYPE: f.take_strings(pa.array(list(c.ACTIVITY_TYPES)), acts["type"]),
            c.REP_ID: f.take_strings(pa.array(roster.rep_ids.tolist()), acts["rep"]),
            c.TEMPLATE_ID: f.codes(labels["template"], acts["template"]),
            c.SCRIPT_ID: f.codes(labels["script"], acts["script"]),
            c.REPLIED: f.booleans(acts["replied"] == 1, missing=acts["replied"] < 0),
            c.CONNECTED: f.booleans(acts["connected"] == 1, missing=acts["connected"] < 0),
        }
    )


def assignments_table(
    plan: Plan,
    sp: StagePlan,
    d: DealDraws,
    j: Journeys,
    units: dict,
    call_variant: np.ndarray,
    roster: RepRoster,
    call_start: float,
    stages: tuple[str, ...],
    origin: pd.Timestamp,
    ids: pa.Array,
) -> pd.DataFrame:
    """The canonical ``assignments`` table: deal units of the email test, then reps."""
    v = j.visits
    unit = np.flatnonzero(units["email"])
    unit = unit[np.argsort(v["deal"][unit], kind="stable")]
    deal = v["deal"][unit]
    n_e, n_r = deal.size, roster.rep_ids.size
    variants = np.array(VARIANTS, dtype=object)
    unit_ids = np.concatenate(
        [
            np.asarray(ids.take(pa.array(deal)).to_pylist(), dtype=object),
            roster.rep_ids.astype(object),
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
                    [variants[d.email_variant_b[deal].astype(int)], variants[call_variant]]
                )
            ),
            c.ASSIGNED_AT: f.timestamps(
                origin, np.concatenate([v["start"][unit], np.full(n_r, call_start)])
            ),
            c.STAGE: f.strings(
                np.repeat(
                    np.array([stages[sp.email_stage], stages[sp.call_stage]], dtype=object),
                    [n_e, n_r],
                )
            ),
        }
    )


def reps_table(roster: RepRoster, quota: np.ndarray, origin: pd.Timestamp) -> pd.DataFrame:
    """The canonical ``reps`` table."""
    return pd.DataFrame(
        {
            c.REP_ID: f.strings(roster.rep_ids.astype(object)),
            c.NAME: f.strings(roster.names.astype(object)),
            c.TEAM: f.strings(roster.teams.astype(object)),
            c.REGION: f.strings(roster.regions.astype(object)),
            c.HIRED_AT: f.timestamps(origin, roster.hired_days),
            c.QUOTA: f.floats(quota),
        }
    )


def feedback_table(fb: dict[str, np.ndarray], origin: pd.Timestamp, ids: pa.Array) -> pd.DataFrame:
    """The canonical ``feedback`` table."""
    return pd.DataFrame(
        {
            c.DEAL_ID: f.take_strings(ids, fb["deal"]),
            c.SOURCE: f.take_strings(pa.array(list(c.FEEDBACK_SOURCES)), fb["source"]),
            c.TEXT: f.strings(fb["text"]),
            c.COLLECTED_AT: f.timestamps(origin, fb["time"]),
            c.RATING: f.floats(fb["rating"]),
        }
    )


def rep_quotas(
    rng: np.random.Generator, plan: Plan, d: DealDraws, j: Journeys, roster: RepRoster
) -> np.ndarray:
    """Annual quota of each rep: the segment's realised yearly bookings per rep times
    a uniform(0.8, 1.3) stretch, rounded to thousands (so attainment is plausible at any size)."""
    years = plan.history_days / 365.0
    quota = np.zeros(roster.rep_ids.size)
    for s, seg in enumerate(plan.segments):
        won = (j.outcome == WON_CODE) & (d.segment == s)
        reps = roster.segments == seg
        per_rep = d.amount[won].sum() / max(int(reps.sum()), 1) / years
        quota[reps] = per_rep
    return np.round(quota * rng.uniform(0.8, 1.3, size=quota.size), -3)
