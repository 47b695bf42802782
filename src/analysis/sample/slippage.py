"""Expected close dates and their slippage: planned at creation, pushed while open.

At creation a deal's rep sets its expected close to the end of the day of
``created + planned cycle`` (lognormal, shorter than deals take: see
:class:`~analysis.sample.params.HistoryPlan`). Each time that date passes while
the deal is open, its rep pushes it with probability

``q = expit(logit(push_probability[segment]) + rep_shift[owner]
+ log(heavy_pusher_odds) [owner = heavy pusher] + log(lost_push_odds) [deal ends lost])``

a uniform ``push_delay_days`` after it passed (no push if the deal closed in
between), by a uniform whole number of ``push_days``; a date that is not
pushed stays as it is until the close. The loop runs over push rounds, never
over deals. Times here are whole seconds since the origin, as the tables
store them, so what is drawn is exactly what the tables show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.core import columns as c
from analysis.core.types import SECONDS_PER_DAY
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.frames import seconds
from analysis.sample.journeys import LOST_CODE, OPEN_CODE, WON_CODE
from analysis.sample.params import REGIONS, expit, logit

DAY = int(SECONDS_PER_DAY)


@dataclass(frozen=True)
class CloseDates:
    """Drawn expected close dates (calendar days count from the origin's midnight).

    Attributes
    ----------
    first_day, current_day : numpy arrays of int
        Per deal: the day of the first expected close, and of the latest one
        before the close (the deal's expected close at the cutoff if open).
    at_risk : numpy array of bool
        Per deal: still open when its first expected close passed.
    push_deal, push_at, push_from, push_to : numpy arrays of int
        One entry per push: deal, time (seconds since the origin), old and new day.
    push_probability : numpy array of float
        Per deal: its chance of a push each time its date passes.
    rep_shift : numpy array of float
        Per rep: log-odds shift of pushing (heavy pusher's odds not included).
    heavy_pusher : int
        Index of the rep who pushes much more than the team.
    """

    first_day: np.ndarray
    current_day: np.ndarray
    at_risk: np.ndarray
    push_deal: np.ndarray
    push_at: np.ndarray
    push_from: np.ndarray
    push_to: np.ndarray
    push_probability: np.ndarray
    rep_shift: np.ndarray
    heavy_pusher: int


def midnight_offset(context: SampleContext) -> int:
    """Seconds from the midnight (UTC) before the origin to the origin."""
    origin = context.origin
    return int((origin - origin.floor("D")).total_seconds())


def day_end(context: SampleContext, day: np.ndarray) -> np.ndarray:
    """Seconds since the origin of the last second (23:59:59 UTC) of calendar ``day``."""
    return (np.asarray(day, dtype=np.int64) + 1) * DAY - 1 - midnight_offset(context)


def life_end(context: SampleContext, draws: SampleDraws) -> np.ndarray:
    """Per deal, seconds since the origin: its close, or the cutoff while open."""
    closed = draws.journeys.closed
    return seconds(np.where(np.isnan(closed), context.timeline.cutoff, closed))


def pick_heavy_pusher(rng: np.random.Generator, draws: SampleDraws) -> int:
    """An established B2B rep of the busiest region other than the weak rep (so both
    planted rep effects stay apart and the pusher owns many deals)."""
    roster = draws.roster
    pool = np.flatnonzero(
        (roster.segments == c.B2B)
        & (roster.regions == REGIONS[0])
        & (roster.hired_days <= 0)
        & (np.arange(roster.rep_ids.size) != roster.weak_rep)
    )
    if pool.size == 0:
        pool = np.flatnonzero(roster.segments == c.B2B)
    return int(rng.choice(pool))


def draw_close_dates(
    rng: np.random.Generator, context: SampleContext, draws: SampleDraws
) -> CloseDates:
    """Draw every deal's first expected close and its pushes up to the close or cutoff."""
    plan, hp = context.plan, context.plan.history
    deals, roster = draws.deals, draws.roster
    seg_keys = list(plan.segments)
    rep_shift = rng.normal(0.0, hp.rep_push_sd, size=roster.rep_ids.size)
    heavy = pick_heavy_pusher(rng, draws)

    seg = deals.segment
    planned_median = hp.planned_cycle_factor * context.stage_plan.median_days.sum(axis=1)
    cycle = planned_median[seg] * np.exp(hp.planned_cycle_sigma * rng.standard_normal(seg.size))
    created_s = seconds(deals.created)
    first_day = (created_s + midnight_offset(context) + seconds(cycle)) // DAY
    end_s = life_end(context, draws)

    base = logit(np.array([hp.push_probability[s] for s in seg_keys]))
    eta = base[seg] + rep_shift[deals.owner]
    eta += np.where(deals.owner == heavy, np.log(hp.heavy_pusher_odds), 0.0)
    eta += np.where(draws.journeys.outcome == LOST_CODE, np.log(hp.lost_push_odds), 0.0)
    q = expit(eta)
    low = np.array([hp.push_days[s][0] for s in seg_keys])[seg]
    high = np.array([hp.push_days[s][1] for s in seg_keys])[seg]

    current = first_day.copy()
    pushes: list[tuple[np.ndarray, ...]] = []
    active = np.arange(seg.size)
    while active.size:
        passed = day_end(context, current[active]) < end_s[active]
        active = active[passed]
        m = active.size
        u = rng.random(m)
        delay = seconds(rng.uniform(*hp.push_delay_days, size=m))
        size = rng.integers(low[active], high[active] + 1)
        at = day_end(context, current[active]) + 1 + delay
        go = (u < q[active]) & (at < end_s[active])
        pushed = active[go]
        pushes.append((pushed, at[go], current[pushed], current[pushed] + size[go]))
        current[pushed] += size[go]
        active = pushed
    push_deal, push_at, push_from, push_to = (
        np.concatenate([p[i] for p in pushes]) if pushes else np.zeros(0, dtype=np.int64)
        for i in range(4)
    )
    return CloseDates(
        first_day=first_day,
        current_day=current,
        at_risk=day_end(context, first_day) < end_s,
        push_deal=push_deal,
        push_at=push_at,
        push_from=push_from,
        push_to=push_to,
        push_probability=q,
        rep_shift=rep_shift,
        heavy_pusher=heavy,
    )


def _push_summary(
    mask: np.ndarray, dates: CloseDates, n_pushes: np.ndarray, days: np.ndarray
) -> dict:
    pushed = mask & (n_pushes > 0)
    at_risk = mask & dates.at_risk
    k = int(pushed.sum())
    return {
        "deals": int(mask.sum()),
        "at_risk": int(at_risk.sum()),
        "pushed": k,
        "share_pushed": k / int(mask.sum()) if mask.any() else None,
        "share_of_at_risk_pushed": k / int(at_risk.sum()) if at_risk.any() else None,
        "pushes": int(n_pushes[mask].sum()),
        "mean_pushes_per_pushed_deal": float(n_pushes[pushed].mean()) if k else None,
        "mean_days_pushed": float(days[pushed].mean()) if k else None,
    }


def _win_rates(won: np.ndarray, closed: np.ndarray, pushed: np.ndarray) -> dict:
    out = {}
    for name, group in (("pushed", pushed), ("never_pushed", ~pushed)):
        n, w = int((closed & group).sum()), int((won & closed & group).sum())
        out[name] = {"closed": n, c.WON: w, "win_rate": w / n if n else None}
    return out


def slippage_truth(context: SampleContext, draws: SampleDraws, dates: CloseDates) -> dict:
    """Planted push propensities and what they realised (``truth["slippage"]``)."""
    plan, hp, roster = context.plan, context.plan.history, draws.roster
    deals, outcome = draws.deals, draws.journeys.outcome
    n = deals.created.size
    n_pushes = np.bincount(dates.push_deal, minlength=n)
    days = np.bincount(dates.push_deal, weights=dates.push_to - dates.push_from, minlength=n)
    pushed = n_pushes > 0
    closed, won = outcome != OPEN_CODE, outcome == WON_CODE
    seg_keys = list(plan.segments)
    base = {s: hp.push_probability[s] for s in seg_keys}
    heavy = dates.heavy_pusher
    heavy_seg = seg_keys.index(str(roster.segments[heavy]))
    rep_probability = {}
    for r, rid in enumerate(roster.rep_ids):
        eta = logit(base[str(roster.segments[r])]) + dates.rep_shift[r]
        eta += np.log(hp.heavy_pusher_odds) if r == heavy else 0.0
        rep_probability[str(rid)] = {
            "not_lost": float(expit(eta)),
            "lost": float(expit(eta + np.log(hp.lost_push_odds))),
        }
    team = (deals.segment == heavy_seg) & (deals.owner != heavy)
    return {
        "definition": (
            "A push is an expected_close_at change made while the deal is open (changed_at "
            "before closed_at), to a later date; the change at closed_at sets the close date "
            "to the actual close and is not a push. A deal is at risk of a push when it was "
            "still open after its first expected close (closed_at, or the cutoff, later than "
            "the new_value of its first expected_close_at change)."
        ),
        "mechanism": (
            "each time the expected close passes while the deal is open, the owner pushes it "
            "with probability expit(logit(push_probability[segment]) + rep_push_shift[owner] "
            "+ log(heavy_pusher.odds_multiplier) [heavy pusher] + log(lost_push_odds) [deal "
            "ends lost]), push_delay_days after it passed, by uniform whole push_days; a date "
            "not pushed stays until the close"
        ),
        "planned_cycle": {
            "factor_of_stage_medians": hp.planned_cycle_factor,
            "median_days": {
                s: float(hp.planned_cycle_factor * context.stage_plan.median_days[i].sum())
                for i, s in enumerate(seg_keys)
            },
            "sigma": hp.planned_cycle_sigma,
            "expected_close": "end of the day (23:59:59 UTC) of created + cycle",
        },
        "push_probability": base,
        "push_days": {s: list(hp.push_days[s]) for s in seg_keys},
        "push_delay_days": list(hp.push_delay_days),
        "rep_push_log_odds_sd": hp.rep_push_sd,
        "lost_push_odds": hp.lost_push_odds,
        "heavy_pusher": {
            "rep_id": str(roster.rep_ids[heavy]),
            "name": str(roster.names[heavy]),
            "segment": str(roster.segments[heavy]),
            "odds_multiplier": hp.heavy_pusher_odds,
        },
        "rep_push_probability": rep_probability,
        "realised": {
            **{
                s: _push_summary(deals.segment == i, dates, n_pushes, days)
                for i, s in enumerate(seg_keys)
            },
            "heavy_pusher": _push_summary(deals.owner == heavy, dates, n_pushes, days),
            "heavy_pusher_team": _push_summary(team, dates, n_pushes, days),
            "by_rep": {
                str(rid): _push_summary(deals.owner == r, dates, n_pushes, days)
                for r, rid in enumerate(roster.rep_ids)
            },
        },
        "win_rate": {
            "definition": (
                "closed deals at risk of a push (open after their first expected close): "
                "win rate of those pushed at least once vs never pushed"
            ),
            **_win_rates(won, closed & dates.at_risk, pushed),
            "all_closed": _win_rates(won, closed, pushed),
            "note": (
                "over all closed deals pushed deals win more: deals lost early never live "
                "past their first expected close (survivorship); compare at-risk deals"
            ),
        },
    }
