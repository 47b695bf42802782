"""Activities (emails, calls, meetings) and the two planted experiments.

Each stage visit gets Poisson numbers of touches, spread uniformly over the
part of the visit before the cutoff. Two experiments are recorded in the
``assignments`` table:

* ``email_template_q`` randomises *deals* 50/50 to template A (control) or B
  when they enter the qualification-position stage inside its window; B
  multiplies the odds of advancing from that stage (planted in
  :mod:`analysis.sample.journeys`) and the reply rate is higher.
* ``call_script_d`` randomises *reps* (stratified by team) to script A or B;
  calls of their deals' discovery-position visits inside its window use it.
  It has no effect at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.types import SECONDS_PER_DAY
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.params import Plan
from analysis.sample.reps import RepRoster

VARIANTS = ("A", "B")
TEMPLATES_PER_STAGE = 3
# Expected touches per full stage visit: segment -> type -> (early stages, later stages);
# "later" starts at the middle open stage.
TOUCHES = {
    c.B2B: {c.EMAIL: (2.0, 2.0), c.CALL: (1.0, 1.0), c.MEETING: (0.2, 1.0)},
    c.B2C: {c.EMAIL: (1.0, 1.0), c.CALL: (0.4, 0.4), c.MEETING: (0.05, 0.3)},
}


def _rep_variants(rng: np.random.Generator, roster: RepRoster) -> np.ndarray:
    """Call-script variant of each rep (0 = A, 1 = B): half of every team each; of the
    teams with an odd size, a random half give the extra rep to B, so the arms balance."""
    variant = np.zeros(roster.rep_ids.size, dtype=np.int64)
    teams = np.unique(roster.teams)
    sizes = np.array([(roster.teams == t).sum() for t in teams])
    odd = rng.permutation(np.flatnonzero(sizes % 2 == 1))
    extra = set(odd[: odd.size // 2].tolist())
    for i, team in enumerate(teams):
        members = rng.permutation(np.flatnonzero(roster.teams == team))
        n_b = members.size // 2 + int(i in extra)
        variant[members[:n_b]] = 1
    return variant


@dataclass(frozen=True)
class ExperimentAssignment:
    """Who is in the two planted experiments.

    Attributes
    ----------
    email_units : numpy array of bool
        Per decision visit (``journeys.visits``): the visit is a unit of the
        email-template test (entered the test stage inside its window).
    call_units : numpy array of bool
        Per decision visit: its calls use the call-script test's scripts.
    rep_variant : numpy array of int
        Call-script variant of each rep (0 = A, 1 = B), from :func:`_rep_variants`.
    """

    email_units: np.ndarray
    call_units: np.ndarray
    rep_variant: np.ndarray


def assign_experiments(
    rng: np.random.Generator, context: SampleContext, draws: SampleDraws
) -> ExperimentAssignment:
    """Randomise the reps to call scripts and find the visits inside each test's window
    (the email test's deal variants are drawn with the deals)."""
    stage_plan, timeline = context.stage_plan, context.timeline
    visits = draws.journeys.visits
    rep_variant = _rep_variants(rng, draws.roster)
    email = (
        (visits["stage"] == stage_plan.email_stage)
        & (visits["start"] >= timeline.email_window[0])
        & (visits["start"] < timeline.email_window[1])
    )
    call = (
        (visits["stage"] == stage_plan.call_stage)
        & (visits["start"] >= timeline.call_window[0])
        & (visits["start"] < timeline.call_window[1])
    )
    return ExperimentAssignment(email_units=email, call_units=call, rep_variant=rep_variant)


def touch_labels(plan: Plan, stage_names: tuple) -> dict[str, list[str]]:
    """Template and script ids; activity arrays hold positions in these lists.

    Templates: ``tpl-<stage>-<i>`` for each open stage and ``i`` in 1..3, then the
    two experiment templates. Scripts: ``script-<stage>``, then the two test scripts.
    """
    templates = [f"tpl-{name}-{i + 1}" for name in stage_names for i in range(TEMPLATES_PER_STAGE)]
    templates += [f"{plan.email_experiment_id}-{v}" for v in VARIANTS]
    scripts = [f"script-{name}" for name in stage_names]
    scripts += [f"{plan.call_experiment_id}-{v}" for v in VARIANTS]
    return {"template": templates, "script": scripts}


def make_activities(
    rng: np.random.Generator,
    context: SampleContext,
    draws: SampleDraws,
    experiments: ExperimentAssignment,
) -> dict[str, np.ndarray]:
    """Touches of every visit: arrays ``deal``, ``time``, ``type``, ``rep``,
    ``template`` and ``script`` (positions in :func:`touch_labels`, -1 = none),
    ``replied`` and ``connected`` (1, 0, or -1 = not applicable)."""
    plan, n_stages = context.plan, context.stage_plan.n_stages
    deals, visits = draws.deals, draws.journeys.visits
    seg = deals.segment[visits["deal"]]
    seg_keys = list(plan.segments)
    later = visits["stage"] >= n_stages // 2
    span = visits["due"] - visits["start"]
    elapsed = np.where(span > 0, (visits["end"] - visits["start"]) / span, 1.0)
    n_tpl, n_scr = n_stages * TEMPLATES_PER_STAGE, n_stages
    forced_by_type = {c.EMAIL: experiments.email_units, c.CALL: experiments.call_units}
    out: dict[str, list] = {
        k: [] for k in ("deal", "time", "type", "template", "script", "replied", "connected")
    }
    for type_code, kind in enumerate(c.ACTIVITY_TYPES):
        mean = np.zeros(visits["deal"].size)
        for s, key in enumerate(seg_keys):
            early_mean, late_mean = TOUCHES[key][kind]
            mean = np.where(seg == s, np.where(later, late_mean, early_mean), mean)
        count = rng.poisson(mean * elapsed)
        forced = forced_by_type.get(kind)
        if forced is not None:
            count = np.where(forced, np.maximum(count, 1), count)
        idx = np.repeat(np.arange(visits["deal"].size), count)
        time = visits["start"][idx] + rng.random(idx.size) * (
            visits["end"][idx] - visits["start"][idx]
        )
        deal = visits["deal"][idx]
        template = np.full(idx.size, -1, dtype=np.int64)
        script = np.full(idx.size, -1, dtype=np.int64)
        replied = np.full(idx.size, -1, dtype=np.int8)
        connected = np.full(idx.size, -1, dtype=np.int8)
        if kind == c.EMAIL:
            pick = rng.integers(0, TEMPLATES_PER_STAGE, size=idx.size)
            unit = experiments.email_units[idx]
            variant_b = deals.email_variant_b[deal]
            template = np.where(
                unit, n_tpl + variant_b, visits["stage"][idx] * TEMPLATES_PER_STAGE + pick
            )
            rate = np.where(
                unit,
                np.where(variant_b, plan.reply_rate["B"], plan.reply_rate["A"]),
                plan.reply_rate["other"],
            )
            replied = (rng.random(idx.size) < rate).astype(np.int8)
        elif kind == c.CALL:
            unit = experiments.call_units[idx]
            rep_b = experiments.rep_variant[deals.owner[deal]]
            script = np.where(unit, n_scr + rep_b, visits["stage"][idx])
            connected = (rng.random(idx.size) < plan.connect_rate).astype(np.int8)
        for name, values in (
            ("deal", deal),
            ("time", time),
            ("type", np.full(idx.size, type_code, dtype=np.int8)),
            ("template", template),
            ("script", script),
            ("replied", replied),
            ("connected", connected),
        ):
            out[name].append(values)
    acts = {k: np.concatenate(vals) for k, vals in out.items()}
    order = np.lexsort((acts["time"], acts["deal"]))
    acts = {k: vals[order] for k, vals in acts.items()}
    acts["rep"] = deals.owner[acts["deal"]]
    return acts


def _rate_summary(p: np.ndarray, advanced: np.ndarray, decided: np.ndarray) -> dict:
    n = int(decided.sum())
    return {
        "units_decided": n,
        "advanced": int(advanced[decided].sum()),
        "empirical_rate": float(advanced[decided].mean()) if n else None,
        "expected_rate": float(p[decided].mean()) if n else None,
    }


def experiment_truth(
    context: SampleContext, draws: SampleDraws, experiments: ExperimentAssignment
) -> dict:
    """Planted and realised facts of both experiments (JSON-ready)."""
    plan, timeline, roster = context.plan, context.timeline, draws.roster
    stage_names, call_variant = context.open_stages, experiments.rep_variant
    visits = draws.journeys.visits
    email = experiments.email_units
    variant_b = draws.deals.email_variant_b[visits["deal"]]
    per_variant = {}
    for code, name in enumerate(VARIANTS):
        m = email & (variant_b == bool(code))
        per_variant[name] = {
            "units": int(m.sum()),
            **_rate_summary(visits["p"][m], visits["advanced"][m], visits["decided"][m]),
        }
    call = experiments.call_units
    rep_b = call_variant[draws.deals.owner[visits["deal"]]] == 1
    per_script = {}
    for code, name in enumerate(VARIANTS):
        m = call & (rep_b == bool(code))
        reps = call_variant == code
        per_script[name] = {
            "reps": int(reps.sum()),
            "mean_rep_skill": float(roster.skill[reps].mean()),
            "deals": int(m.sum()),
            **_rate_summary(visits["p"][m], visits["advanced"][m], visits["decided"][m]),
        }

    def day(x: float) -> str:
        return (context.origin + np.timedelta64(int(round(x * SECONDS_PER_DAY)), "s")).isoformat()

    return {
        plan.email_experiment_id: {
            "unit_type": c.UNIT_DEAL,
            "stage": stage_names[context.stage_plan.email_stage],
            "variants": list(VARIANTS),
            "control": VARIANTS[0],
            "allocation": [0.5, 0.5],
            "window_start": day(timeline.email_window[0]),
            "window_end": day(timeline.email_window[1]),
            "assigned_at": "the deal's entry into the stage",
            "effect": "odds of advancing from the stage multiplied for variant B",
            "odds_ratio": plan.email_treatment_odds,
            "templates": {n: f"{plan.email_experiment_id}-{n}" for n in VARIANTS},
            "reply_rate": {
                VARIANTS[0]: plan.reply_rate["A"],
                VARIANTS[1]: plan.reply_rate["B"],
                "other templates": plan.reply_rate["other"],
            },
            "realised": per_variant,
            "note": (
                "expected_rate is the mean planted probability of the decided units; "
                "units still in the stage at the cutoff are undecided."
            ),
        },
        plan.call_experiment_id: {
            "unit_type": c.UNIT_REP,
            "stage": stage_names[context.stage_plan.call_stage],
            "variants": list(VARIANTS),
            "control": VARIANTS[0],
            "randomisation": "reps, stratified by team (half of each team per variant)",
            "window_start": day(timeline.call_window[0]),
            "window_end": day(timeline.call_window[1]),
            "assigned_at": day(timeline.call_window[0]),
            "effect": "none (odds ratio 1, same connect rate)",
            "odds_ratio": 1.0,
            "connect_rate": plan.connect_rate,
            "scripts": {n: f"{plan.call_experiment_id}-{n}" for n in VARIANTS},
            "rep_variant": {
                str(r): VARIANTS[int(x)] for r, x in zip(roster.rep_ids, call_variant, strict=True)
            },
            "realised": per_script,
            "note": (
                "deals are clustered in reps: compare variants at rep level (or with "
                "cluster-robust errors); rep skill differs between arms by chance."
            ),
        },
    }


def activity_truth(plan: Plan, activities: pd.DataFrame) -> dict:
    """Planted touch rates and realised counts by type (JSON-ready)."""
    counts = activities[c.ACTIVITY_TYPE].value_counts()
    return {
        "touches_per_visit": {
            seg: {k: {"early_stages": v[0], "later_stages": v[1]} for k, v in table.items()}
            for seg, table in TOUCHES.items()
        },
        "later_stages_from": "the middle open stage (position n_stages // 2)",
        "timing": "Poisson count per visit, scaled by the share of the visit before the cutoff; "
        "times uniform within the visit",
        "templates_per_stage": TEMPLATES_PER_STAGE,
        "reply_rate": plan.reply_rate,
        "connect_rate": plan.connect_rate,
        "rep": "the deal owner",
        "realised_counts": {k: int(counts.get(k, 0)) for k in c.ACTIVITY_TYPES},
    }
