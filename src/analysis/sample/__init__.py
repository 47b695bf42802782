"""A synthetic CRM with planted truth, for demos and for testing the analyses.

:func:`generate_sample` draws a company's deals, stage histories, activities,
experiments, reps, spend and feedback as the canonical tables, together with
``truth``: every planted parameter and what it realised in this draw (see
``docs`` in each module and ``truth["conversion_definition"]``).
:func:`write_sample` writes them as a CRM-style export (optionally as messy as
real exports arrive) that ``config/maps/sample.yaml`` maps back.

Example
-------
>>> from analysis.sample import generate_sample, write_sample
>>> crm = generate_sample(2_000, seed=1)
>>> crm.truth["conversion"]["B2B"]["proposal"]
0.78
>>> write_sample(crm, "data/raw/sample")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis import columns as c
from analysis import config
from analysis.sample import activities as act
from analysis.sample import build, text, truth
from analysis.sample.deals import draw_deals
from analysis.sample.export import write_sample
from analysis.sample.journeys import Timeline, simulate, stage_plan
from analysis.sample.params import Plan
from analysis.sample.reps import make_roster
from analysis.sample.spend import monthly_spend, spend_truth
from analysis.stages import load_stages

__all__ = ["DEFAULT_CUTOFF", "SampleCRM", "generate_sample", "write_sample"]

DEFAULT_CUTOFF = "2026-06-30"
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class SampleCRM:
    """A generated CRM.

    Attributes
    ----------
    tables : Mapping[str, pandas.DataFrame]
        The canonical tables, keyed by :data:`analysis.columns.TABLES`.
    truth : dict
        JSON-serialisable record of everything planted (see :mod:`analysis.sample.truth`).
    """

    tables: Mapping[str, pd.DataFrame]
    truth: dict = field(default_factory=dict)


def _cutoff(cutoff: str | None) -> pd.Timestamp:
    ts = pd.Timestamp(DEFAULT_CUTOFF if cutoff is None else cutoff)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("us")


def generate_sample(
    n_deals: int = config.DEFAULT_SAMPLE_DEALS,
    seed: int = config.DEFAULT_SEED,
    *,
    cutoff: str | None = None,
) -> SampleCRM:
    """Generate a synthetic CRM with planted truth.

    Parameters
    ----------
    n_deals : int
        Number of deals (at least 1).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives identical tables.
    cutoff : str, optional
        Export moment (UTC when no zone is given; a date means its midnight).
        Default ``DEFAULT_CUTOFF``; deals are created over the 730 days before it.

    Returns
    -------
    SampleCRM

    Notes
    -----
    A deal at open stage ``k`` advances with probability
    ``p = expit(logit(conversion[segment][k]) + shift)``, where ``shift`` sums
    the log-odds effects of lead source, qualification flags, latent fit (which
    the lead score measures), decision makers, rep skill, the planted rep
    weakness, competitor, the email-template treatment and the planted
    bottleneck; see :func:`analysis.sample.journeys.log_odds_shift`. Time in
    stage is lognormal. Everything is recorded in ``truth``.
    """
    if int(n_deals) < 1:
        raise ValueError(f"n_deals must be at least 1, got {n_deals}.")
    n_deals = int(n_deals)
    plan = Plan()
    pipeline = load_stages().pipeline()
    stages = pipeline.all_stages
    sp = stage_plan(plan, len(pipeline.stages))
    end = _cutoff(cutoff)
    origin = end - pd.Timedelta(days=plan.history_days)
    rng = np.random.default_rng(seed)

    history = origin + pd.to_timedelta(np.arange(plan.history_days), unit="D")
    q_start = pd.Timestamp(
        (end - pd.Timedelta(1, "us")).tz_localize(None).to_period("Q").start_time, tz="UTC"
    )
    h = plan.history_days
    tl = Timeline(
        cutoff=float(h),
        email_window=(h - plan.email_window_days[0], h - plan.email_window_days[1]),
        call_window=(h - plan.call_window_days[0], h - plan.call_window_days[1]),
        bottleneck_start=max((q_start - origin) / pd.Timedelta(days=1), 0.0),
    )
    roster = make_roster(rng, plan)
    d = draw_deals(
        rng, plan, roster, n_deals, history.day_of_week.to_numpy(), history.month.to_numpy()
    )
    j = simulate(rng, plan, sp, d, roster, tl)
    reasons = text.loss_reasons(rng, plan, sp, d, j)
    units = act.experiment_units(plan, sp, j, tl)
    call_variant = act.rep_variants(rng, roster)
    acts = act.make_activities(rng, plan, sp, d, j, units, call_variant)
    fb, fb_realised = text.feedback(rng, d, j, reasons, tl.cutoff, plan.qual_from_stage)
    quota = build.rep_quotas(rng, plan, d, j, roster)

    month_starts = pd.date_range(
        origin.tz_localize(None).to_period("M").start_time,
        (end - pd.Timedelta(1, "us")).tz_localize(None),
        freq="MS",
        tz="UTC",
    )
    day_month = (
        np.searchsorted(
            month_starts.tz_localize(None).to_numpy(),
            history.tz_localize(None).to_numpy(),
            side="right",
        )
        - 1
    )
    created_month = day_month[np.floor(d.created).astype(np.int64)]
    spend = monthly_spend(rng, plan, d, created_month, month_starts.as_unit("us"))

    ids = build.deal_ids(n_deals)
    tables = {
        c.DEALS: build.deals_table(
            plan, sp, d, j, roster, reasons, stages, pipeline.name, origin, ids
        ),
        c.STAGE_EVENTS: build.stage_events_table(j, roster, d, stages, origin, ids),
        c.ACTIVITIES: build.activities_table(
            acts, act.touch_labels(plan, pipeline.stages), roster, origin, ids
        ),
        c.ASSIGNMENTS: build.assignments_table(
            plan, sp, d, j, units, call_variant, roster, tl.call_window[0], stages, origin, ids
        ),
        c.REPS: build.reps_table(roster, quota, origin),
        c.SPEND: spend,
        c.FEEDBACK: build.feedback_table(fb, origin, ids),
    }
    planted = truth.parameters_truth(plan, sp, pipeline.stages)
    reps, weakness = truth.reps_truth(roster, quota, pipeline.stages, sp, plan, origin)
    report = {
        "generator": {
            "module": "analysis.sample",
            "version": GENERATOR_VERSION,
            "seed": int(seed),
            "n_deals": n_deals,
            "cutoff": end.isoformat(),
            "start": origin.isoformat(),
            "pipeline": pipeline.name,
            "open_stages": list(pipeline.stages),
            "won_stage": pipeline.won,
            "lost_stage": pipeline.lost,
            "stage_config_sha256": load_stages().sha256,
        },
        **planted,
        "conversion_realised": truth.conversion_realised(plan, d, j, pipeline.stages),
        "conversion_realised_by_source": truth.conversion_realised(
            plan, d, j, pipeline.stages, by_source=True
        ),
        "outcomes_realised": truth.outcome_realised(plan, d, j),
        "win_rate_by_decision_makers": truth.by_decision_makers(plan, d, j),
        "journey_realised": j.counts,
        "bottleneck": truth.bottleneck_truth(plan, sp, d, j, tl, pipeline.stages, origin, end),
        "reps": reps,
        "rep_weakness": weakness,
        "competitors_realised": truth.competitor_realised(plan, sp, d, j),
        "experiments": act.experiment_truth(
            plan, sp, d, j, units, call_variant, roster, tl, pipeline.stages, origin
        ),
        "activities": act.activity_truth(plan, tables[c.ACTIVITIES]),
        **text.text_truth(),
        "feedback_realised": fb_realised,
        "spend": {
            **spend_truth(),
            "total_by_channel": {
                ch: {
                    "sales_cost": float(g[c.SALES_COST].sum()),
                    "marketing_cost": float(g[c.MARKETING_COST].sum()),
                }
                for ch, g in spend.groupby(c.CHANNEL, sort=True)
            },
        },
        "rows": {name: len(df) for name, df in tables.items()},
    }
    return SampleCRM(tables=MappingProxyType(tables), truth=truth.jsonable(report))
