"""The rep-entered chance of winning and forecast category, with a planted optimism.

At every stage entry the deal's rep sets its probability: the stage's true
chance of ending won, its odds times ``optimism_odds`` and the rep's own
factor ``exp(shift)``, ``shift ~ N(0, rep_optimism_sd)``, rounded to a
hundredth and clipped to ``probability_range``. The forecast category follows
from the probability's band (Pipeline, Best Case, Commit); won deals are 1.0
and Closed, lost deals 0.0 and Omitted.

The true chance of ending won from open stage ``k`` is the product over
``j >= k`` of the mean planted probability of advancing of the deals that
visited stage ``j`` (:attr:`analysis.sample.journeys.Journeys.visits`), per
segment: the stage's calibrated probability in this sample.
"""

from __future__ import annotations

import numpy as np

from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import OPEN_CODE, WON_CODE
from analysis.sample.params import (
    CLOSED_CATEGORY,
    OMITTED,
    PIPELINE_CATEGORY,
    expit,
    logit,
)


def true_win_probability(context: SampleContext, draws: SampleDraws) -> np.ndarray:
    """(segments, open stages): chance that a deal entering the stage ends won.

    Notes
    -----
    ``P(win | k) = prod_{j >= k} mean(p | visits of j)`` per segment, where
    ``p`` is the planted probability of advancing of each decision visit; a
    stage nobody visited takes its reference conversion.
    """
    stage_plan, visits = context.stage_plan, draws.journeys.visits
    n_seg, k_n = stage_plan.base_logit.shape
    key = draws.deals.segment[visits["deal"]] * k_n + visits["stage"]
    count = np.bincount(key, minlength=n_seg * k_n).reshape(n_seg, k_n)
    total = np.bincount(key, weights=visits["p"], minlength=n_seg * k_n).reshape(n_seg, k_n)
    mean = np.where(count > 0, total / np.maximum(count, 1), expit(stage_plan.base_logit))
    return np.cumprod(mean[:, ::-1], axis=1)[:, ::-1]


def rep_probabilities(
    context: SampleContext, draws: SampleDraws, true_win: np.ndarray, rep_shift: np.ndarray
) -> np.ndarray:
    """(reps, open stages): the probability each rep enters at each open stage of its segment."""
    hp, roster = context.plan.history, draws.roster
    seg_index = np.array([list(context.plan.segments).index(s) for s in roster.segments])
    eta = logit(true_win[seg_index]) + np.log(hp.optimism_odds) + rep_shift[:, None]
    return np.clip(np.round(expit(eta), 2), *hp.probability_range)


def forecast_bands(context: SampleContext) -> dict[str, float]:
    """Lower probability bound of each open forecast category, lowest band first."""
    bands = sorted(context.plan.history.forecast_bands.items(), key=lambda kv: kv[1])
    return {PIPELINE_CATEGORY: 0.0, **dict(bands)}


def forecast_categories(context: SampleContext) -> tuple[str, ...]:
    """Open forecast categories from lowest to highest band (Pipeline first)."""
    return tuple(forecast_bands(context))


def event_probabilities(
    context: SampleContext, draws: SampleDraws, by_rep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Probability and forecast category code set at each stage event (journey order).

    Category codes index ``forecast_categories(context) + (Closed, Omitted)``.
    """
    journeys, k_n = draws.journeys, context.stage_plan.n_stages
    stage, owner = journeys.ev_stage, draws.deals.owner[journeys.ev_deal]
    is_open = stage < k_n
    prob = np.where(is_open, by_rep[owner, np.minimum(stage, k_n - 1)], 0.0)
    prob = np.where(stage == k_n, 1.0, prob)
    bounds = np.array(list(forecast_bands(context).values()))
    n_open = bounds.size
    category = np.searchsorted(bounds, prob, side="right") - 1
    category = np.where(is_open, category, np.where(stage == k_n, n_open, n_open + 1))
    return prob, category


def probability_truth(
    context: SampleContext,
    draws: SampleDraws,
    true_win: np.ndarray,
    by_rep: np.ndarray,
    rep_shift: np.ndarray,
) -> dict:
    """The planted optimism, the true stage win probabilities and what reps entered
    (``truth["rep_probability"]``)."""
    hp, stages = context.plan.history, context.open_stages
    journeys, deals, roster = draws.journeys, draws.deals, draws.roster
    k_n = len(stages)
    # first entry of each (deal, open stage), closed deals only
    ev_open = journeys.ev_stage < k_n
    pair = journeys.ev_deal[ev_open] * k_n + journeys.ev_stage[ev_open]
    pair = np.unique(pair)
    deal, stage = pair // k_n, pair % k_n
    closed = journeys.outcome[deal] != OPEN_CODE
    deal, stage = deal[closed], stage[closed]
    won = journeys.outcome[deal] == WON_CODE
    entered_prob = by_rep[deals.owner[deal], stage]
    realised: dict = {}
    for s, seg in enumerate(context.plan.segments):
        node = realised.setdefault(seg, {})
        for k, name in enumerate(stages):
            m = (deals.segment[deal] == s) & (stage == k)
            n = int(m.sum())
            node[name] = {
                "closed_deals_entered": n,
                "won": int(won[m].sum()),
                "win_share": float(won[m].mean()) if n else None,
                "mean_probability": float(entered_prob[m].mean()) if n else None,
            }
    return {
        "definition": (
            "at each stage entry the owner sets probability = clip(round(expit(logit("
            "true_win_probability[segment][stage]) + log(optimism_odds) + rep_shift[owner]), "
            "2), *range); forecast_category from its band; won: 1.0 and Closed, lost: 0.0 "
            "and Omitted. true_win_probability[stage] = product over this and later open "
            "stages of the mean planted probability of advancing of the visits of the stage "
            "(this sample's calibrated chance that a deal entering the stage ends won)."
        ),
        "optimism_odds": hp.optimism_odds,
        "rep_log_odds_sd": hp.rep_optimism_sd,
        "range": list(hp.probability_range),
        "rounding": 0.01,
        "forecast_bands": forecast_bands(context),
        "closed_categories": {"won": CLOSED_CATEGORY, "lost": OMITTED},
        "true_win_probability": {
            seg: {name: float(true_win[s, k]) for k, name in enumerate(stages)}
            for s, seg in enumerate(context.plan.segments)
        },
        "rep_odds_multiplier": {
            str(rid): float(np.exp(rep_shift[r])) for r, rid in enumerate(roster.rep_ids)
        },
        "rep_stage_probability": {
            str(rid): {name: float(by_rep[r, k]) for k, name in enumerate(stages)}
            for r, rid in enumerate(roster.rep_ids)
        },
        "realised": realised,
        "realised_definition": (
            "closed deals that entered the stage (first entry): share won, and mean "
            "probability their rep entered at that entry"
        ),
    }
