"""The planted truth as a JSON-ready dict: parameters and what they realised.

Two kinds of entries: *planted* parameters (what the generator was told) and
*realised* summaries of this draw (e.g. the mean planted probability over the
deals that actually reached a stage), which is what an estimate from this
sample should cover.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample.context import SampleContext
from analysis.sample.deals import QUAL_FLAGS
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import LOST_CODE, OPEN_CODE, WON_CODE
from analysis.sample.params import stage_profile

CONVERSION_DEFINITION = (
    "For open stage s: the deals with at least one stage_events row for s (entered) whose "
    "fate at s is known by the cutoff (decided): advanced = the deal later has an event at a "
    "later open stage or at won; lost at s = the deal is lost and s is the furthest open "
    "stage it entered. rate = advanced / (advanced + lost at s); deals still open with s as "
    "their furthest stage are undecided and excluded. 'expected_rate' is the mean planted "
    "probability p over the decided deals, so the empirical rate estimates it without bias "
    "(advancing is drawn independently of time in stage). p = expit(logit(conversion[segment]"
    "[s]) + shift), shift as in 'effects' (0 for the reference deal)."
)


def _rates(p: np.ndarray, decided: np.ndarray, advanced: np.ndarray) -> dict:
    n_dec = int(decided.sum())
    return _rate_dict(p.size, n_dec, int(advanced.sum()), float(p[decided].sum()))


def _rate_dict(entered: int, decided: int, advanced: int, p_sum: float) -> dict:
    return {
        "entered": int(entered),
        "decided": int(decided),
        "advanced": int(advanced),
        "empirical_rate": advanced / decided if decided else None,
        "expected_rate": p_sum / decided if decided else None,
    }


def conversion_realised(
    context: SampleContext, draws: SampleDraws, *, by_source: bool = False
) -> dict:
    """Realised stage conversion by segment (and lead source) and open stage."""
    plan, stages, deals = context.plan, context.open_stages, draws.deals
    visits = draws.journeys.visits
    n_src = len(plan.source_odds) if by_source else 1
    k_n = len(stages)
    src = deals.source[visits["deal"]] if by_source else 0
    key = (deals.segment[visits["deal"]] * n_src + src) * k_n + visits["stage"]
    size = len(plan.segments) * n_src * k_n
    dec = visits["decided"]
    entered = np.bincount(key, minlength=size)
    decided = np.bincount(key, weights=dec, minlength=size)
    advanced = np.bincount(key, weights=visits["advanced"], minlength=size)
    p_sum = np.bincount(key, weights=np.where(dec, visits["p"], 0.0), minlength=size)
    out: dict = {}
    for s, seg_name in enumerate(plan.segments):
        for g, src_name in enumerate(plan.source_odds if by_source else [None]):
            node = out.setdefault(seg_name, {})
            if by_source:
                node = node.setdefault(src_name, {})
            for k, stage in enumerate(stages):
                i = (s * n_src + g) * k_n + k
                node[stage] = _rate_dict(
                    entered[i], round(decided[i]), round(advanced[i]), float(p_sum[i])
                )
    return out


def outcome_realised(context: SampleContext, draws: SampleDraws) -> dict:
    """Counts, win rates and cycle times by segment."""
    deals, journeys = draws.deals, draws.journeys
    out = {}
    cycle = journeys.closed - deals.created
    for s, seg in enumerate(context.plan.segments):
        m = deals.segment == s
        won = m & (journeys.outcome == WON_CODE)
        lost = m & (journeys.outcome == LOST_CODE)
        closed = int(won.sum() + lost.sum())
        out[seg] = {
            "deals": int(m.sum()),
            c.WON: int(won.sum()),
            c.LOST: int(lost.sum()),
            c.OPEN: int((m & (journeys.outcome == OPEN_CODE)).sum()),
            "win_rate": float(won.sum() / closed) if closed else None,
            "median_days_to_win": float(np.median(cycle[won])) if won.any() else None,
            "median_days_to_close": float(np.median(cycle[won | lost])) if closed else None,
        }
    return out


def by_decision_makers(context: SampleContext, draws: SampleDraws) -> dict:
    """Realised win rate by number of decision makers (closed deals), per segment."""
    deals, outcome = draws.deals, draws.journeys.outcome
    out: dict = {}
    for s, seg in enumerate(context.plan.segments):
        node = out.setdefault(seg, {})
        for k in np.unique(deals.n_dm[deals.segment == s]):
            m = (deals.segment == s) & (deals.n_dm == k)
            won = int((m & (outcome == WON_CODE)).sum())
            closed = won + int((m & (outcome == LOST_CODE)).sum())
            node[str(int(k))] = {
                "closed": closed,
                c.WON: won,
                "win_rate": won / closed if closed else None,
            }
    return out


def competitor_realised(context: SampleContext, draws: SampleDraws) -> dict:
    """Head-to-head win rates of closed deals that reached the stage where the
    competitor becomes known, by competitor (``none``: no competitor)."""
    journeys = draws.journeys
    closed = (journeys.outcome != OPEN_CODE) & (
        journeys.max_reached >= context.stage_plan.competitor_known_from
    )
    out = {}
    for g, name in [(-1, "none"), *enumerate(context.plan.competitors)]:
        m = closed & (draws.deals.competitor == g)
        won = int((m & (journeys.outcome == WON_CODE)).sum())
        out[name] = {
            "closed": int(m.sum()),
            c.WON: won,
            "win_rate": won / int(m.sum()) if m.any() else None,
        }
    return out


def bottleneck_truth(context: SampleContext, draws: SampleDraws) -> dict:
    """The planted drop of one transition in the last quarter, with realised rates."""
    plan, stage_plan, timeline = context.plan, context.stage_plan, context.timeline
    stages, visits = context.open_stages, draws.journeys.visits
    m = (draws.deals.segment[visits["deal"]] == stage_plan.bottleneck_segment) & (
        visits["stage"] == stage_plan.bottleneck_stage
    )
    after = m & (visits["start"] >= timeline.bottleneck_start)
    before = m & (visits["start"] < timeline.bottleneck_start)
    seg = plan.bottleneck_segment
    conversion = stage_profile(plan.segments[seg].conversion, stage_plan.n_stages)
    base = conversion[stage_plan.bottleneck_stage]
    odds = base / (1 - base) * plan.bottleneck_odds
    start = context.origin + pd.Timedelta(days=timeline.bottleneck_start)
    return {
        "segment": seg,
        "stage": stages[stage_plan.bottleneck_stage],
        "next_stage": stages[stage_plan.bottleneck_stage + 1],
        "quarter": str(start.tz_localize(None).to_period("Q")),
        "quarter_start": start.isoformat(),
        "quarter_end": context.cutoff_at.isoformat(),
        "applies_to": "deals entering the stage at or after quarter_start (entry-time cohort)",
        "odds_multiplier": plan.bottleneck_odds,
        "reference_rate_before": float(base),
        "reference_rate_after": float(odds / (1 + odds)),
        "realised_before": _rates(
            visits["p"][before], visits["decided"][before], visits["advanced"][before]
        ),
        "realised_after": _rates(
            visits["p"][after], visits["decided"][after], visits["advanced"][after]
        ),
    }


def parameters_truth(context: SampleContext) -> dict:
    """The planted parameters that do not depend on the draw."""
    plan, stage_plan, stages = context.plan, context.stage_plan, context.open_stages
    segments = {}
    for seg, s in plan.segments.items():
        conv = stage_profile(s.conversion, stage_plan.n_stages)
        med = stage_profile(s.stage_median_days, stage_plan.n_stages)
        segments[seg] = {
            "share": s.share,
            "amount": {
                "distribution": "lognormal",
                "median_usd": s.amount_median,
                "sigma": s.amount_sigma,
                "log_multiplier_per_extra_decision_maker": plan.dm_log_amount,
            },
            "n_decision_makers": {
                "formula": f"{s.dm_min} + Binomial({s.dm_extra_trials}, {s.dm_extra_p})",
                "reference": s.dm_reference,
            },
            "source_mix": s.source_mix,
            "competitor_share": s.competitor_share,
            "qual_prevalence": s.qual_prevalence,
            "products": s.products,
            "weekend_creation_factor": s.weekend_factor,
            "reference_win_rate": float(np.prod(conv)),
            "_conversion": {st: float(p) for st, p in zip(stages, conv, strict=True)},
            "_durations": {
                st: {
                    "distribution": "lognormal",
                    "median_days": float(m),
                    "sigma": s.duration_sigma,
                }
                for st, m in zip(stages, med, strict=True)
            },
        }
    conversion = {seg: v.pop("_conversion") for seg, v in segments.items()}
    durations = {seg: v.pop("_durations") for seg, v in segments.items()}
    qual_from = stages[plan.qual_from_stage]
    return {
        "segments": segments,
        "conversion": conversion,
        "conversion_definition": CONVERSION_DEFINITION,
        "durations": {
            **durations,
            "log_multiplier_per_extra_decision_maker": plan.dm_log_duration,
            "note": (
                "time in stage until the decision; a move back adds a lognormal stay in "
                "the previous stage (half its median)"
            ),
        },
        "reference_deal": {
            "source": next(iter(plan.source_odds)),
            "qualification_flags": "all true",
            "fit_z": 0.0,
            "lead_score": plan.lead_score_center,
            "n_decision_makers": {seg: s.dm_reference for seg, s in plan.segments.items()},
            "rep_skill": 0.0,
            "competitor": None,
            "email_variant": "A (or outside the test)",
            "bottleneck": "entered before the bottleneck quarter",
        },
        "effects": {
            "lead_source_odds_multiplier": plan.source_odds,
            "lead_source_stages": list(stages[: plan.source_stages]),
            "qualification_false_flag_log_odds": {k: -v for k, v in plan.qual_log_odds.items()},
            "qualification_stages": list(stages[plan.qual_from_stage :]),
            "qualification_recorded": f"only for deals that reached {qual_from}",
            "fit_log_odds_per_sd": plan.fit_log_odds,
            "lead_score": {
                "formula": "clip(round(center + per_sd * z + source_offset + N(0, noise_sd)), "
                "0, 100)",
                "center": plan.lead_score_center,
                "per_sd": plan.lead_score_per_sd,
                "noise_sd": plan.lead_score_noise_sd,
                "source_offset": plan.lead_score_source_offset,
                "log_odds_per_point_implied": plan.fit_log_odds / plan.lead_score_per_sd,
            },
            "decision_makers_log_odds_per_extra": plan.dm_log_odds,
            "decision_makers_stages": list(stages[plan.qual_from_stage :]),
            "rep_skill_sd": plan.rep_skill_sd,
            "competitor_odds_multiplier": plan.competitor_odds,
            "competitor_stages": list(stages[stage_plan.competitor_from :]),
            "all_stage_shifts": "fit and rep skill apply at every open stage",
        },
        "journey": {
            "skip_rate": plan.skip_rate,
            "backward_rate": plan.backward_rate,
            "reentry_rate": plan.reentry_rate,
            "definitions": {
                "skip": "per advance from a stage two or more before the last open stage: "
                "the deal lands two stages on, skipping one",
                "backward": "per visit of an open stage other than the first (when the previous "
                "stage was entered, not skipped): the deal enters the previous "
                "stage, then re-enters this one before its decision",
                "reentry": "per visit: the stage is entered a second time in a row "
                "(consecutive events of the same stage)",
            },
        },
        "competitors": {
            "mix": plan.competitors,
            "odds_multiplier": plan.competitor_odds,
            "known_from_stage": stages[stage_plan.competitor_known_from],
            "effect_stages": list(stages[stage_plan.competitor_from :]),
        },
        "currency": {
            "reporting": "USD",
            "rates_to_usd": plan.rates_to_usd,
            "emea_mix": plan.currency_mix_emea,
            "other_regions": "USD",
            "formula": "amount = round(amount_original * rate, 2)",
        },
        "regions": plan.region_mix,
        "qualification_flags": list(QUAL_FLAGS),
        "creation": {
            "history_days": plan.history_days,
            "growth": plan.growth,
            "december_factor": 0.75,
            "time_of_day": "B2B normal(15:00 UTC, 2.5 h); B2C uniform",
        },
    }


def reps_truth(context: SampleContext, draws: SampleDraws, quota: np.ndarray) -> tuple[dict, dict]:
    """Per-rep truth and the planted weakness."""
    roster, origin = draws.roster, context.origin
    reps = {}
    for i, rid in enumerate(roster.rep_ids):
        reps[str(rid)] = {
            "name": str(roster.names[i]),
            "team": str(roster.teams[i]),
            "region": str(roster.regions[i]),
            "segment": str(roster.segments[i]),
            "hired_at": (origin + pd.Timedelta(days=float(roster.hired_days[i]))).isoformat(),
            "quota": float(quota[i]),
            "skill": float(roster.skill[i]),
            "skill_odds_multiplier": float(np.exp(roster.skill[i])),
        }
    weakness = {
        "rep_id": str(roster.rep_ids[roster.weak_rep]),
        "stage": context.open_stages[context.stage_plan.weakness_stage],
        "odds_multiplier": context.plan.weakness_odds,
        "note": "on top of the rep's skill, only when advancing from that stage",
    }
    return reps, weakness


def jsonable(obj: object) -> object:
    """Convert numpy scalars and containers so :func:`json.dumps` accepts them."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
