"""Leads before the deals (``leads``): the funnel MQL -> accepted -> SQL -> deal.

Every lead follows one forward model (:class:`~analysis.sample.params.LeadPlan`),
drawn per segment and lead source:

1. a latent fit ``z ~ N(0, 1)`` (the lead's own, not the deal's) and a
   first-response delay in hours, lognormal with median
   ``response_median_hours[segment] * response_source_factor[source] * exp(-response_fit_log * z)``
   (better leads are answered faster: the confounding of speed to lead);
2. sales accepts the MQL with probability ``acceptance[source]``;
3. an accepted lead becomes an SQL with probability
   ``expit(logit(sql_rate[segment]) + sql_fit_log_odds * z
   + log(response_odds_per_doubling) * log2(hours / reference_response_hours))``;
4. an SQL becomes a deal with probability ``opportunity_rate``.

A lead that fails a step is recycled (``recycle_share`` of that step) or
disqualified with a reason from ``disqualify_reasons``, except in
``concentrated_campaign``, where ``concentrated_reason`` takes
``concentrated_share`` of its disqualifications. Whether a lead passes a step
is drawn independently of how long the step takes, so among leads whose step
is decided by the cutoff the pass rate estimates the mean planted probability
of those leads without bias (as for the deals' stages).

The deals are the converted leads: candidates are drawn per (segment, source)
until as many have passed every step as there are deals of that cell, and the
k-th of them becomes the k-th deal (``converted_at`` = the deal's
``created_at``, same source, segment and owner). Each candidate has an
*anchor*, the moment its deal is (or would be) created: the deal's creation for
converted leads, a random deal's of the same cell for the others (so leads
follow the deals' volume over time), and for the *tail* (leads whose deal would
be created in the ``tail_days`` after the cutoff, as many as the cell's last 60
days of deals imply) a uniform time after the cutoff. Times run backwards from
the anchor: SQL decision = anchor - d_opportunity, acceptance decision =
SQL decision - d_sql, first response = acceptance decision - d_accept, MQL =
first response - hours / 24, creation = MQL - d_mql (durations lognormal,
``step_median_days``, ``step_sigma``), so created <= MQL <= first response <=
accepted <= SQL <= converted, and a lead that fails a step is disqualified or
recycled at that step's decision time.

At the cutoff a step at or after it is not written: the lead waits (status
``mql``, ``accepted`` or ``sql``, or ``new`` when it is not yet an MQL), its
later steps censored; leads created after the cutoff are not in the table.
Because the anchors of converted leads are deals of the history, MQL cohorts
of the first weeks before the deals' history starts are incomplete.

Everything here comes from the leads' own random stream
(``default_rng([seed, LEAD_STREAM])``), drawn after and apart from the rest of
the sample, so the other tables and their truth are the same with or without it.
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
from analysis.sample.params import LeadPlan, expit, logit

LEAD_STREAM = 0x6C656164  # "lead"
STEPS = ("acceptance", "sql", "opportunity")  # the decisions a lead can fail, in order
RECENT_DAYS = 60.0  # the tail's volume follows the deals of this many last days
STATUS_CODE = {status: i for i, status in enumerate(c.LEAD_STATUSES)}


@dataclass(frozen=True)
class LeadDraws:
    """The drawn leads, in creation order (the order of their ids).

    Attributes
    ----------
    segment, source, campaign, owner : numpy arrays of int
        Indices into the plan's segments, sources, :func:`campaign_names` and reps.
    fit, hours, p_sql : numpy arrays of float
        Latent fit, first-response delay in hours, planted chance of becoming an
        SQL once accepted.
    accepted, sql, converted : numpy arrays of bool
        The lead's fate at each step (drawn whether or not the cutoff lets it show).
    fail_step, recycled, reason : numpy arrays
        The step failed (index into :data:`STEPS`, -1 none), recycled rather than
        disqualified, reason (index into the plan's reasons, -1 none).
    created, mql, first_response, accept_at, sql_at, anchor : numpy arrays of float
        Days since the origin: creation, MQL, first response, acceptance decision,
        SQL decision, and the deal's creation (the opportunity decision).
    deal : numpy array of int
        The converted deal (index), -1 for leads that are not converted.
    cutoff : float
        The cutoff in days since the origin.
    """

    segment: np.ndarray
    source: np.ndarray
    campaign: np.ndarray
    owner: np.ndarray
    fit: np.ndarray
    hours: np.ndarray
    p_sql: np.ndarray
    accepted: np.ndarray
    sql: np.ndarray
    converted: np.ndarray
    fail_step: np.ndarray
    recycled: np.ndarray
    reason: np.ndarray
    created: np.ndarray
    mql: np.ndarray
    first_response: np.ndarray
    accept_at: np.ndarray
    sql_at: np.ndarray
    anchor: np.ndarray
    deal: np.ndarray
    cutoff: float


def campaign_names(lp: LeadPlan) -> list[str]:
    """Every campaign, source by source in the plan's order."""
    return [name for mix in lp.campaigns.values() for name in mix]


def reason_weights(lp: LeadPlan) -> np.ndarray:
    """(campaigns, reasons) probabilities of each reason given a disqualification."""
    reasons, campaigns = list(lp.disqualify_reasons), campaign_names(lp)
    base = np.array(list(lp.disqualify_reasons.values()), dtype=float)
    base /= base.sum()
    weights = np.tile(base, (len(campaigns), 1))
    if lp.concentrated_campaign in campaigns:
        r = reasons.index(lp.concentrated_reason)
        others = np.delete(base, r)
        row = np.insert(others / others.sum() * (1.0 - lp.concentrated_share), r, 0.0)
        row[r] = lp.concentrated_share
        weights[campaigns.index(lp.concentrated_campaign)] = row
    return weights


def _candidates(
    rng: np.random.Generator, lp: LeadPlan, segment: str, source: str, n: int, offset: int
) -> dict[str, np.ndarray]:
    """Draw ``n`` candidate leads of one cell (``offset``: the source's first campaign)."""
    fit = rng.standard_normal(n)
    median = lp.response_median_hours[segment] * lp.response_source_factor[source]
    hours = median * np.exp(-lp.response_fit_log * fit + lp.response_sigma * rng.standard_normal(n))
    p_sql = expit(
        logit(lp.sql_rate[segment])
        + lp.sql_fit_log_odds * fit
        + np.log(lp.response_odds_per_doubling) * np.log2(hours / lp.reference_response_hours)
    )
    accepted = rng.random(n) < lp.acceptance[source]
    sql = accepted & (rng.random(n) < p_sql)
    converted = sql & (rng.random(n) < lp.opportunity_rate)
    fail_step = np.where(~accepted, 0, np.where(~sql, 1, np.where(~converted, 2, -1)))
    share = np.asarray(lp.recycle_share, dtype=float)[np.maximum(fail_step, 0)]
    recycled = (fail_step >= 0) & (rng.random(n) < share)
    mix = np.array(list(lp.campaigns[source].values()), dtype=float)
    campaign = offset + rng.choice(mix.size, size=n, p=mix / mix.sum())
    cum = np.cumsum(reason_weights(lp), axis=1)[campaign]
    reason = np.minimum((rng.random(n)[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)
    reason = np.where((fail_step >= 0) & ~recycled, reason, -1)
    medians = np.asarray(lp.step_median_days[segment], dtype=float)
    durations = medians * np.exp(lp.step_sigma * rng.standard_normal((n, medians.size)))
    return {
        "fit": fit,
        "hours": hours,
        "p_sql": p_sql,
        "accepted": accepted,
        "sql": sql,
        "converted": converted,
        "fail_step": fail_step,
        "recycled": recycled,
        "campaign": campaign,
        "reason": reason,
        "durations": durations,
    }


def _join(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _cell(
    rng: np.random.Generator,
    context: SampleContext,
    draws: SampleDraws,
    s: int,
    j: int,
) -> dict[str, np.ndarray] | None:
    """The leads of segment ``s`` and source ``j``: candidates until every deal of the
    cell has its converted lead, then the tail after the cutoff."""
    plan, deals = context.plan, draws.deals
    lp, segment, source = plan.leads, list(plan.segments)[s], list(plan.source_odds)[j]
    offset = sum(len(lp.campaigns[src]) for src in list(plan.source_odds)[:j])
    cell = np.flatnonzero((deals.segment == s) & (deals.source == j))
    n_deals = cell.size
    if n_deals == 0:
        return None
    parts, got = [], 0
    rate = max(lp.acceptance[source] * lp.sql_rate[segment] * lp.opportunity_rate, 0.01)
    while got < n_deals:
        batch = _candidates(
            rng, lp, segment, source, int((n_deals - got) / rate * 1.2) + 16, offset
        )
        parts.append(batch)
        got += int(batch["converted"].sum())
    body = _join(parts)
    cut = int(np.flatnonzero(body["converted"])[n_deals - 1]) + 1
    body = {k: v[:cut] for k, v in body.items()}
    converted = body["converted"]
    anchor_deal = cell[rng.integers(0, n_deals, size=cut)]
    anchor_deal[converted] = cell  # the k-th converted candidate is the k-th deal
    body["deal"] = np.where(converted, anchor_deal, -1)
    body["anchor"] = deals.created[anchor_deal]
    body["owner"] = deals.owner[anchor_deal]

    cutoff = context.timeline.cutoff
    recent = int((deals.created[cell] >= cutoff - RECENT_DAYS).sum())
    n_tail = int(rng.poisson(cut / n_deals * recent / RECENT_DAYS * lp.tail_days))
    tail = _candidates(rng, lp, segment, source, n_tail, offset)
    last = cell[-min(50, n_deals) :]
    tail["deal"] = np.full(n_tail, -1)
    tail["anchor"] = cutoff + lp.tail_days * rng.random(n_tail)
    tail["owner"] = deals.owner[last[rng.integers(0, last.size, size=n_tail)]]
    out = _join([body, tail])
    out["segment"] = np.full(out["fit"].size, s)
    out["source"] = np.full(out["fit"].size, j)
    return out


def draw_leads(seed: int, context: SampleContext, draws: SampleDraws) -> LeadDraws:
    """Draw the leads from their own stream, cell by cell (segments, then sources, in
    the plan's order: it fixes the stream), and order them by creation."""
    rng = np.random.default_rng([int(seed), LEAD_STREAM])
    cells = [
        _cell(rng, context, draws, s, j)
        for s in range(len(context.plan.segments))
        for j in range(len(context.plan.source_odds))
    ]
    leads = _join([cell for cell in cells if cell is not None])
    d = leads.pop("durations")
    sql_at = leads["anchor"] - d[:, 3]
    accept_at = sql_at - d[:, 2]
    first_response = accept_at - d[:, 1]
    mql = first_response - leads["hours"] / 24.0
    created = mql - d[:, 0]
    cutoff = context.timeline.cutoff
    keep = np.flatnonzero(created < cutoff)
    keep = keep[np.argsort(created[keep], kind="stable")]
    times = {
        "created": created,
        "mql": mql,
        "first_response": first_response,
        "accept_at": accept_at,
        "sql_at": sql_at,
    }
    fields = {k: v[keep] for k, v in {**leads, **times}.items()}
    return LeadDraws(**fields, cutoff=cutoff)


@dataclass(frozen=True)
class LeadEvents:
    """What the table shows at the cutoff: each step's time (NaN when not written)
    and the status code (index into ``columns.LEAD_STATUSES``)."""

    mql: np.ndarray
    first_response: np.ndarray
    accepted: np.ndarray
    sql: np.ndarray
    converted: np.ndarray
    disqualified: np.ndarray
    recycled: np.ndarray
    status: np.ndarray


def lead_events(leads: LeadDraws) -> LeadEvents:
    """The steps written at the cutoff (a step at or after the cutoff is not)."""

    def seen(when: np.ndarray, happened: np.ndarray | bool = True) -> np.ndarray:
        return np.where(happened & (when < leads.cutoff), when, np.nan)

    decided = np.stack([leads.accept_at, leads.sql_at, leads.anchor], axis=1)
    failed_at = decided[np.arange(leads.created.size), np.maximum(leads.fail_step, 0)]
    failed = leads.fail_step >= 0
    events = {
        "mql": seen(leads.mql),
        "first_response": seen(leads.first_response),
        "accepted": seen(leads.accept_at, leads.accepted),
        "sql": seen(leads.sql_at, leads.sql),
        "converted": seen(leads.anchor, leads.converted),
        "disqualified": seen(failed_at, failed & ~leads.recycled),
        "recycled": seen(failed_at, failed & leads.recycled),
    }
    status = np.full(leads.created.size, STATUS_CODE[c.LEAD_NEW])
    for step, name in (
        ("mql", c.LEAD_MQL),
        ("accepted", c.LEAD_ACCEPTED),
        ("sql", c.LEAD_SQL),
        ("converted", c.LEAD_CONVERTED),
        ("disqualified", c.LEAD_DISQUALIFIED),
        ("recycled", c.LEAD_RECYCLED),
    ):
        status = np.where(np.isnan(events[step]), status, STATUS_CODE[name])
    return LeadEvents(**events, status=status)


def lead_ids(n: int) -> pa.Array:
    """Lead ids ``L000001`` ... in creation order."""
    numbers = pd.Series(np.arange(1, n + 1, dtype=np.int64)).astype("str")
    width = f.id_width(n)
    return pa.array(("L" + numbers.str.zfill(width)).to_numpy(dtype=object), type=pa.string())


def leads_table(context: SampleContext, draws: SampleDraws, leads: LeadDraws) -> pd.DataFrame:
    """The canonical ``leads`` table, ordered by creation (and id)."""
    plan, origin = context.plan, context.origin
    events = lead_events(leads)
    reasons = list(plan.leads.disqualify_reasons)
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(lead_ids(leads.created.size), dtype="str"),
            c.CREATED_AT: f.timestamps(origin, leads.created),
            c.SOURCE: f.codes(list(plan.source_odds), leads.source),
            c.CAMPAIGN: f.codes(campaign_names(plan.leads), leads.campaign),
            c.LEAD_STATUS: f.codes(list(c.LEAD_STATUSES), events.status),
            c.OWNER_ID: f.codes(draws.roster.rep_ids.tolist(), leads.owner),
            c.SEGMENT: f.codes(list(plan.segments), leads.segment),
            c.MQL_AT: f.timestamps(origin, events.mql),
            c.ACCEPTED_AT: f.timestamps(origin, events.accepted),
            c.SQL_AT: f.timestamps(origin, events.sql),
            c.DISQUALIFIED_AT: f.timestamps(origin, events.disqualified),
            c.DISQUALIFY_REASON: f.codes(
                reasons, leads.reason, missing=np.isnan(events.disqualified)
            ),
            c.RECYCLED_AT: f.timestamps(origin, events.recycled),
            c.FIRST_RESPONSE_AT: f.timestamps(origin, events.first_response),
            c.CONVERTED_AT: f.timestamps(origin, events.converted),
            c.CONVERTED_DEAL_ID: f.take_strings(
                context.deal_ids, leads.deal, missing=np.isnan(events.converted)
            ),
        }
    )
