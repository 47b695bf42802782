"""Truth of the leads (``truth["leads"]``): the planted funnel and what it realised.

Realised figures are counted from what the ``leads`` table shows at the cutoff
(:func:`~analysis.sample.leads.lead_events`), by the definitions recorded in
``truth["leads"]["definitions"]``, so an analysis of the table finds them exactly;
``expected_rate`` is the mean planted probability over the same leads, what an
estimate should cover.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from analysis.core import columns as c
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.frames import seconds
from analysis.sample.leads import (
    LEAD_STREAM,
    STEPS,
    LeadDraws,
    LeadEvents,
    campaign_names,
    lead_events,
)
from analysis.sample.params import expit, logit

RESPONSE_BAND_HOURS = (1.0, 4.0, 24.0)
RESPONSE_BANDS = ("under 1 h", "1-4 h", "4-24 h", "24 h or more")

DEFINITIONS = {
    "mql": "leads with mql_at",
    "acceptance": (
        "decided: leads with accepted_at, or disqualified or recycled without accepted_at; "
        "rate = accepted / decided (leads still waiting as MQLs are censored, not failures)"
    ),
    "sql": (
        "decided: accepted leads with sql_at, or disqualified or recycled after accepted_at "
        "without sql_at; rate = SQL / decided"
    ),
    "opportunity": (
        "decided: leads with sql_at that are converted, or disqualified after sql_at; "
        "rate = converted / decided"
    ),
    "response_hours": "first_response_at - mql_at, in hours (at least one second in the fit)",
    "response_band": f"hours cut at {list(RESPONSE_BAND_HOURS)}, left-closed: {RESPONSE_BANDS}",
    "disqualifications": "leads with disqualified_at (recycled leads carry no reason)",
}


def _rate(decided: np.ndarray, passed: np.ndarray, p: np.ndarray | None = None) -> dict:
    n, k = int(decided.sum()), int((decided & passed).sum())
    out = {"decided": n, "passed": k, "empirical_rate": k / n if n else None}
    if p is not None:
        out["expected_rate"] = float(p[decided].mean()) if n else None
    return out


def _logistic(x: np.ndarray, y: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Maximum-likelihood logistic regression coefficients (Newton-Raphson)."""
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = expit(x @ beta)
        hessian = (x * (p * (1.0 - p))[:, None]).T @ x
        step = np.linalg.lstsq(hessian, x.T @ (y - p), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def decided_masks(leads: LeadDraws, events: LeadEvents) -> dict[str, np.ndarray]:
    """Leads whose acceptance, SQL and opportunity steps are decided at the cutoff."""
    failed = ~np.isnan(events.disqualified) | ~np.isnan(events.recycled)
    passed = (events.accepted, events.sql, events.converted)
    return {
        step: ~np.isnan(passed[i]) | (failed & (leads.fail_step == i))
        for i, step in enumerate(STEPS)
    }


def _response(context: SampleContext, leads: LeadDraws, decided: np.ndarray) -> dict:
    """SQL rate by first-response band, and the naive and fit-adjusted effect of delay."""
    lp = context.plan.leads
    # hours as the table shows them (times floored to the second), so bands recount exactly
    hours = (seconds(leads.first_response) - seconds(leads.mql)) / 3600.0
    band = np.searchsorted(np.asarray(RESPONSE_BAND_HOURS), hours, side="right")
    seg_logit = logit(np.array([lp.sql_rate[s] for s in context.plan.segments]))
    without_delay = expit(seg_logit[leads.segment] + lp.sql_fit_log_odds * leads.fit)
    bands = {}
    for b, name in enumerate(RESPONSE_BANDS):
        m = decided & (band == b)
        bands[name] = {
            **_rate(m, leads.sql, leads.p_sql),
            "mean_fit": float(leads.fit[m].mean()) if m.any() else None,
            "expected_rate_without_delay_effect": float(without_delay[m].mean())
            if m.any()
            else None,
        }
    rows = np.flatnonzero(decided)
    log2_hours = np.log2(np.maximum(hours[rows], 1.0 / 3600.0) / lp.reference_response_hours)
    segments = (leads.segment[rows][:, None] == np.arange(len(context.plan.segments))).astype(float)
    y = leads.sql[rows].astype(float)
    naive = adjusted = None
    if rows.size > 10 and 0 < y.sum() < y.size:
        naive = float(_logistic(np.column_stack([segments, log2_hours]), y)[-1])
        x = np.column_stack([segments, log2_hours, leads.fit[rows]])
        adjusted = float(_logistic(x, y)[-2])
    return {
        "planted_odds_per_doubling": lp.response_odds_per_doubling,
        "planted_log_odds_per_doubling": float(np.log(lp.response_odds_per_doubling)),
        "fit_log_odds": lp.sql_fit_log_odds,
        "response_hours_log_per_fit_sd": -lp.response_fit_log,
        "by_band": bands,
        "fitted": {
            "rows": int(rows.size),
            "naive_log_odds_per_doubling": naive,
            "adjusted_for_fit_log_odds_per_doubling": adjusted,
            "model": (
                "logistic regression of SQL on segment indicators and log2(hours / "
                "reference_response_hours) (naive), plus the latent fit (adjusted), over "
                "the accepted leads whose SQL step is decided"
            ),
        },
    }


def _reasons(context: SampleContext, leads: LeadDraws, events: LeadEvents) -> dict:
    """Disqualification reasons by campaign, and the planted concentration."""
    lp = context.plan.leads
    campaigns, reasons = campaign_names(lp), list(lp.disqualify_reasons)
    disq = ~np.isnan(events.disqualified)
    counts = np.zeros((len(campaigns), len(reasons)), dtype=np.int64)
    np.add.at(counts, (leads.campaign[disq], leads.reason[disq]), 1)
    r = reasons.index(lp.concentrated_reason)
    inside = campaigns.index(lp.concentrated_campaign)
    elsewhere = np.delete(counts, inside, axis=0).sum(axis=0)
    n_in, n_out = int(counts[inside].sum()), int(elsewhere.sum())
    base = np.array(list(lp.disqualify_reasons.values()), dtype=float)
    return {
        "campaign": lp.concentrated_campaign,
        "reason": lp.concentrated_reason,
        "planted_share": lp.concentrated_share,
        "planted_share_elsewhere": float(base[r] / base.sum()),
        "disqualified_in_campaign": n_in,
        "reason_in_campaign": int(counts[inside, r]),
        "share_in_campaign": counts[inside, r] / n_in if n_in else None,
        "disqualified_elsewhere": n_out,
        "reason_elsewhere": int(elsewhere[r]),
        "share_elsewhere": elsewhere[r] / n_out if n_out else None,
        "by_campaign": {
            name: {reason: int(counts[i, k]) for k, reason in enumerate(reasons) if counts[i, k]}
            for i, name in enumerate(campaigns)
        },
    }


def lead_truth(context: SampleContext, draws: SampleDraws, leads: LeadDraws) -> dict:
    """``truth["leads"]``: the planted parameters and the realised funnel."""
    plan, lp = context.plan, context.plan.leads
    events = lead_events(leads)
    decided = decided_masks(leads, events)
    sources = list(plan.source_odds)
    mql = ~np.isnan(events.mql)
    accepted = ~np.isnan(events.accepted)
    by_source = {}
    for j, src in enumerate(sources):
        m = leads.source == j
        by_source[src] = {
            "leads": int(m.sum()),
            "mql": int((m & mql).sum()),
            **_rate(m & decided["acceptance"], accepted),
            "planted_rate": lp.acceptance[src],
        }
    mql_counts = {src: v["mql"] for src, v in by_source.items()}
    low = min(lp.acceptance, key=lp.acceptance.get)
    others = (leads.source != sources.index(low)) & decided["acceptance"]
    statuses = np.bincount(events.status, minlength=len(c.LEAD_STATUSES))
    n_deals = draws.deals.created.size
    return {
        "leads": {
            "random_stream": f"numpy default_rng([seed, {LEAD_STREAM:#x}])",
            "steps": ["mql", *STEPS],
            "definitions": DEFINITIONS,
            "planted": jsonable_plan(lp),
            "realised": {
                "leads": int(leads.created.size),
                "converted": int((~np.isnan(events.converted)).sum()),
                "deals": n_deals,
                "leads_per_deal": leads.created.size / n_deals,
                "status": {s: int(statuses[i]) for i, s in enumerate(c.LEAD_STATUSES)},
                "mql": int(mql.sum()),
                "acceptance": _rate(decided["acceptance"], accepted),
                "sql": _rate(decided["sql"], leads.sql, leads.p_sql),
                "opportunity": _rate(decided["opportunity"], leads.converted),
            },
            "low_acceptance_source": {
                "source": low,
                "planted_rate": lp.acceptance[low],
                "mql": mql_counts[low],
                "mql_rank": 1 + sum(v > mql_counts[low] for v in mql_counts.values()),
                "empirical_rate": by_source[low]["empirical_rate"],
                "other_sources": _rate(others, accepted),
            },
            "acceptance_by_source": by_source,
            "response_time": _response(context, leads, decided["sql"]),
            "disqualify_reasons": _reasons(context, leads, events),
        }
    }


def jsonable_plan(lp: object) -> dict:
    """The lead plan as plain data."""
    return dataclasses.asdict(lp)
