"""Stage journeys: the sequence of stage entries of every deal, and its outcome.

The simulation runs one *visit* per step for all active deals at once, so its
loop is over stages, never over deals. A visit of open stage ``k`` that starts
at ``t0``:

1. may contain a re-entry (the stage is entered again, probability
   ``reentry_rate``) or a move back (the previous stage is entered, then
   stage ``k`` again, probability ``backward_rate``, not from the first stage);
2. ends with a decision after a lognormal time in stage: advance with
   probability ``p = expit(logit(base[segment, k]) + shift)`` (see
   :func:`log_odds_shift`), otherwise lost. An advance goes to stage ``k + 1``
   (won after the last open stage), or skips to ``k + 2`` with probability
   ``skip_rate`` when that is an open stage.

Whether a deal advances is drawn independently of how long the visit takes, so
among visits decided before the cutoff the share that advanced estimates the
mean ``p`` of those visits without bias. Events at or after the cutoff are not
written: the deal is open, its journey truncated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.sample.context import SampleContext
from analysis.sample.deals import DealDraws
from analysis.sample.params import expit
from analysis.sample.reps import RepRoster

OPEN_CODE, WON_CODE, LOST_CODE = 0, 1, 2


@dataclass(frozen=True)
class Journeys:
    """Simulated journeys.

    Attributes
    ----------
    ev_deal, ev_stage, ev_time : numpy arrays
        Stage entries before the cutoff, ordered by deal then time. Stage codes
        are open-stage positions, ``n_stages`` for won and ``n_stages + 1`` for lost.
    outcome, closed, current, lost_stage, max_reached : numpy arrays (per deal)
        Outcome code, close time (NaN if open), current stage code, open stage
        the deal was lost from (-1) and the furthest stage entered (won = ``n_stages``).
    visits : dict of numpy arrays
        One row per decision visit: ``deal``, ``stage``, ``start``, ``end``
        (decision time or cutoff), ``due`` (decision time, maybe after the
        cutoff), ``p``, ``decided``, ``advanced``, ``treated``.
    counts : dict of int
        Realised journey irregularities and their opportunities (written
        events only): ``reentries`` of ``visits``, ``backward_moves`` of
        ``backward_eligible`` visits, ``skips`` of ``skip_eligible`` advances.
    """

    ev_deal: np.ndarray
    ev_stage: np.ndarray
    ev_time: np.ndarray
    outcome: np.ndarray
    closed: np.ndarray
    current: np.ndarray
    lost_stage: np.ndarray
    max_reached: np.ndarray
    visits: dict[str, np.ndarray]
    counts: dict[str, int]


def log_odds_shift(
    context: SampleContext, deals: DealDraws, roster: RepRoster, deal: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """Static log-odds shift of advancing from open stage ``k`` for the deals ``deal``.

    Notes
    -----
    ``shift = log(source_odds) [k < source_stages]
    - sum_j qual_log_odds_j * (1 - flag_j) [k >= qual_from]
    + fit_log_odds * z + dm_log_odds * (n_dm - dm_ref) [k >= qual_from]
    + skill[owner] + log(weakness_odds) [owner = weak rep, k = weakness stage]
    + log(competitor_odds) [competitor, k >= competitor_from]``.
    The reference deal (inbound, all flags true, z = 0, reference decision
    makers, skill 0, no competitor) has shift 0.
    """
    plan, stage_plan = context.plan, context.stage_plan
    src_odds = np.log(np.array(list(plan.source_odds.values())))
    shift = np.where(k < plan.source_stages, src_odds[deals.source[deal]], 0.0)
    qual_beta = np.array(list(plan.qual_log_odds.values()))
    qual_penalty = (~deals.qual[deal]).astype(float) @ qual_beta
    dm_term = plan.dm_log_odds * (deals.n_dm[deal] - deals.dm_reference[deal])
    shift += np.where(k >= plan.qual_from_stage, dm_term - qual_penalty, 0.0)
    shift += plan.fit_log_odds * deals.fit[deal]
    owner = deals.owner[deal]
    shift += roster.skill[owner]
    weak = (owner == roster.weak_rep) & (k == stage_plan.weakness_stage)
    shift += np.where(weak, np.log(plan.weakness_odds), 0.0)
    comp_odds = np.log(np.array(list(plan.competitor_odds.values())))
    comp = deals.competitor[deal]
    shift += np.where(
        (comp >= 0) & (k >= stage_plan.competitor_from), comp_odds[np.maximum(comp, 0)], 0.0
    )
    return shift


def simulate(
    rng: np.random.Generator, context: SampleContext, deals: DealDraws, roster: RepRoster
) -> Journeys:
    """Simulate every deal's stage journey up to the cutoff (loop over steps, not deals)."""
    plan, stage_plan, timeline = context.plan, context.stage_plan, context.timeline
    n, K = deals.created.size, stage_plan.n_stages
    won_code, lost_code = K, K + 1
    pos = np.zeros(n, dtype=np.int64)
    t = deals.created.copy()
    outcome = np.full(n, OPEN_CODE, dtype=np.int8)
    closed = np.full(n, np.nan)
    lost_stage = np.full(n, -1, dtype=np.int64)
    skipped_in = np.zeros(n, dtype=bool)  # arrived at the current stage by skipping one
    ev = [(np.arange(n), np.zeros(n, dtype=np.int64), deals.created.copy())]
    visits: dict[str, list[np.ndarray]] = {
        k: []
        for k in ("deal", "stage", "start", "end", "due", "p", "decided", "advanced", "treated")
    }
    dm_factor = np.exp(plan.dm_log_duration * (deals.n_dm - deals.dm_reference))
    counts = dict.fromkeys(
        ("visits", "reentries", "backward_eligible", "backward_moves", "skip_eligible", "skips"), 0
    )
    active = np.arange(n)
    while active.size:
        m = active.size
        k, t0, seg = pos[active], t[active], deals.segment[active]
        u_kind = rng.random(m)
        reentry = u_kind < plan.reentry_rate
        backward = (
            ~reentry
            & (u_kind < plan.reentry_rate + plan.backward_rate)
            & (k >= 1)
            & ~skipped_in[active]
        )  # never back into a stage the deal skipped
        dur = np.maximum(
            stage_plan.median_days[seg, k]
            * dm_factor[active]
            * np.exp(stage_plan.sigma[seg] * rng.standard_normal(m)),
            plan.min_duration_days,
        )
        frac = rng.uniform(0.2, 0.6, m)
        back = np.maximum(
            0.5
            * stage_plan.median_days[seg, np.maximum(k - 1, 0)]
            * dm_factor[active]
            * np.exp(stage_plan.sigma[seg] * rng.standard_normal(m)),
            plan.min_duration_days,
        )
        back = np.where(backward, back, 0.0)
        t_detour = t0 + frac * dur
        td = t0 + dur + back

        treated = (
            (k == stage_plan.email_stage)
            & deals.email_variant_b[active]
            & (t0 >= timeline.email_window[0])
            & (t0 < timeline.email_window[1])
        )
        slowed = (
            (seg == stage_plan.bottleneck_segment)
            & (k == stage_plan.bottleneck_stage)
            & (t0 >= timeline.bottleneck_start)
        )
        eta = (
            stage_plan.base_logit[seg, k]
            + log_odds_shift(context, deals, roster, active, k)
            + np.where(treated, np.log(plan.email_treatment_odds), 0.0)
            + np.where(slowed, np.log(plan.bottleneck_odds), 0.0)
        )
        p = expit(eta)
        advanced = rng.random(m) < p
        skip = (rng.random(m) < plan.skip_rate) & (k + 2 <= K - 1)
        decided = td < timeline.cutoff
        nxt = np.where(k == K - 1, won_code, k + 1 + skip)
        go = decided & advanced
        written = t_detour < timeline.cutoff
        counts["visits"] += int(written.sum())
        counts["reentries"] += int((reentry & written).sum())
        counts["backward_eligible"] += int((written & (k >= 1) & ~skipped_in[active]).sum())
        counts["backward_moves"] += int((backward & written).sum())
        counts["skip_eligible"] += int((go & (k + 2 <= K - 1)).sum())
        counts["skips"] += int((go & skip).sum())

        for name, values in (
            ("deal", active),
            ("stage", k),
            ("start", t0),
            ("end", np.minimum(td, timeline.cutoff)),
            ("due", td),
            ("p", p),
            ("decided", decided),
            ("advanced", advanced & decided),
            ("treated", treated),
        ):
            visits[name].append(values)
        # detour events: a re-entry of k, or a move back to k - 1 and a return to k
        keep = (reentry | backward) & (t_detour < timeline.cutoff)
        ev.append((active[keep], np.where(backward, k - 1, k)[keep], t_detour[keep]))
        ret = backward & (t_detour + back < timeline.cutoff)
        ev.append((active[ret], k[ret], (t_detour + back)[ret]))
        # the decision
        stop = decided & ~advanced
        ev.append((active[go], nxt[go], td[go]))
        ev.append((active[stop], np.full(int(stop.sum()), lost_code), td[stop]))
        win = go & (nxt == won_code)
        outcome[active[win]] = WON_CODE
        outcome[active[stop]] = LOST_CODE
        closed[active[win | stop]] = td[win | stop]
        lost_stage[active[stop]] = k[stop]
        cont = go & ~win
        pos[active[cont]] = nxt[cont]
        skipped_in[active[cont]] = skip[cont]
        t[active[cont]] = td[cont]
        active = active[cont]

    ev_deal = np.concatenate([e[0] for e in ev])
    ev_stage = np.concatenate([e[1] for e in ev])
    ev_time = np.concatenate([e[2] for e in ev])
    order = np.argsort(ev_deal, kind="stable")  # appended chronologically within each deal
    ev_deal, ev_stage, ev_time = ev_deal[order], ev_stage[order], ev_time[order]
    last = np.r_[np.flatnonzero(np.diff(ev_deal)), ev_deal.size - 1]
    current = ev_stage[last]
    reached = np.where(ev_stage == lost_code, -1, ev_stage)
    max_reached = np.maximum.reduceat(reached, np.r_[0, last[:-1] + 1])
    return Journeys(
        ev_deal=ev_deal,
        ev_stage=ev_stage,
        ev_time=ev_time,
        outcome=outcome,
        closed=closed,
        current=current,
        lost_stage=lost_stage,
        max_reached=max_reached,
        visits={k: np.concatenate(v) for k, v in visits.items()},
        counts=counts,
    )
