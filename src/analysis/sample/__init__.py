"""A synthetic CRM with planted truth, for demos and for testing the analyses.

:func:`generate_sample` draws a company's deals, stage histories, activities,
experiments, reps, spend, feedback, deal change history (close-date pushes,
amount changes, rep-entered probabilities), the leads the deals came from
(MQL, accepted, SQL, converted, disqualified or recycled) and what happened after
the close (B2C repeat orders, B2B subscription changes and onboarding milestones) as
the canonical tables, together with
``truth``: every planted parameter and what it realised in this draw (see
``docs`` in each module and ``truth["conversion_definition"]``).
:func:`write_sample` writes them as a CRM-style export (optionally as messy as
real exports arrive) that ``config/maps/sample.yaml`` maps back.
:data:`LOSS_REASONS` and :data:`THEMES` are the canonical loss reasons and
feedback themes the generator plants (for win/loss and feedback analyses).

Inside, :mod:`~analysis.sample.context` fixes the setting (plan, pipeline,
calendar, windows), :mod:`~analysis.sample.draws` draws the reps, deals and
journeys, and the other modules read both to draw the rest, build the tables
(:mod:`~analysis.sample.build`) and record the truth (:mod:`~analysis.sample.truth`).
The change history (:mod:`~analysis.sample.changes`, with
:mod:`~analysis.sample.slippage` and :mod:`~analysis.sample.probability`) draws
from a random stream of its own, so the other tables do not depend on it; so do
the leads (:mod:`~analysis.sample.leads`, truth in :mod:`~analysis.sample.leads_truth`)
and the orders, subscriptions and onboarding (:mod:`~analysis.sample.orders`,
:mod:`~analysis.sample.subscriptions`, :mod:`~analysis.sample.onboarding`, truth in
:mod:`~analysis.sample.after_sale_truth`).

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

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.stages import load_stages
from analysis.sample import activities as act
from analysis.sample import (
    after_sale_truth,
    build,
    changes,
    leads,
    leads_truth,
    onboarding,
    orders,
    subscriptions,
    text,
    truth,
)
from analysis.sample.context import DEFAULT_CUTOFF, make_context
from analysis.sample.draws import draw_sample
from analysis.sample.export import write_sample
from analysis.sample.params import LOSS_REASONS, THEMES, Plan
from analysis.sample.spend import monthly_spend, spend_truth

__all__ = [
    "DEFAULT_CUTOFF",
    "LOSS_REASONS",
    "Plan",
    "THEMES",
    "SampleCRM",
    "generate_sample",
    "write_sample",
]

GENERATOR_VERSION = 6  # 2: deal_changes and deals' expected close, probability, forecast;
# 3: amounts in deal_changes in the deal's own currency, as CRMs record them;
# 4: leads (one converted lead per deal, plus leads that never converted), own stream;
# 5: orders (B2C repeat purchases) and subscriptions (B2B MRR changes), own stream;
# 6: onboarding (kick-off, go-live per subscription), after them in their stream


@dataclass(frozen=True)
class SampleCRM:
    """A generated CRM.

    Attributes
    ----------
    tables : Mapping[str, pandas.DataFrame]
        The canonical tables, keyed by :data:`analysis.core.columns.TABLES`.
    truth : dict
        JSON-serialisable record of everything planted (see :mod:`analysis.sample.truth`).
    """

    tables: Mapping[str, pd.DataFrame]
    truth: dict = field(default_factory=dict)


def generate_sample(
    n_deals: int = paths.DEFAULT_SAMPLE_DEALS,
    seed: int = paths.DEFAULT_SEED,
    *,
    cutoff: str | None = None,
    plan: Plan | None = None,
) -> SampleCRM:
    """Generate a synthetic CRM with planted truth.

    Parameters
    ----------
    n_deals : int
        Number of deals (at least 1).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives identical tables.
        The deal change history (``deal_changes`` and the deals' ``expected_close_at``,
        ``probability`` and ``forecast_category``) uses its own stream
        ``default_rng([seed, changes.HISTORY_STREAM])``, the leads
        ``default_rng([seed, leads.LEAD_STREAM])``, the orders, subscriptions and
        onboarding ``default_rng([seed, orders.AFTER_SALE_STREAM])`` (in that order).
    cutoff : str, optional
        Export moment (UTC when no zone is given; a date means its midnight).
        Default ``DEFAULT_CUTOFF``; deals are created over the 730 days before it.
    plan : Plan, optional
        The planted parameters; default :class:`~analysis.sample.params.Plan`.
        For example ``dataclasses.replace(Plan(), bottleneck_odds=1.0)`` plants
        no bottleneck (an A/A check of the bottleneck test).

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
    context = make_context(int(n_deals), cutoff, plan)
    plan, pipeline = context.plan, context.pipeline
    rng = np.random.default_rng(seed)
    # The order of the draws below fixes the random stream: keep it.
    draws = draw_sample(rng, context)
    reasons = text.loss_reasons(rng, context, draws)
    experiments = act.assign_experiments(rng, context, draws)
    activities = act.make_activities(rng, context, draws, experiments)
    feedback, feedback_realised = text.feedback(rng, context, draws, reasons)
    quota = build.rep_quotas(rng, context, draws)
    spend = monthly_spend(rng, context, draws.deals)

    # The change history draws from its own stream, after the rest: adding it changed
    # none of the other tables or their truth for a seed.
    history = changes.draw_history(seed, context, draws)
    deals = build.deals_table(context, draws, reasons)
    deals = deals.assign(**changes.current_deal_columns(context, draws, history))
    # So do the leads: one converted lead per deal, and the leads that never converted.
    lead_draws = leads.draw_leads(seed, context, draws)
    # And what happens after the close: B2C repeat orders, then B2B subscriptions,
    # then their onboarding.
    after_rng = np.random.default_rng([int(seed), orders.AFTER_SALE_STREAM])
    order_draws = orders.draw_orders(after_rng, context, draws)
    subscription_draws = subscriptions.draw_subscriptions(after_rng, context, draws)
    # Onboarding (kick-off, go-live) of each subscription: after the subscriptions' draws.
    onboarding_draws = onboarding.draw_onboarding(after_rng, context, draws, subscription_draws)

    tables = {
        c.DEALS: deals,
        c.STAGE_EVENTS: build.stage_events_table(context, draws),
        c.ACTIVITIES: build.activities_table(context, draws, activities),
        c.ASSIGNMENTS: build.assignments_table(context, draws, experiments),
        c.REPS: build.reps_table(context, draws, quota),
        c.SPEND: spend,
        c.FEEDBACK: build.feedback_table(context, feedback),
        c.DEAL_CHANGES: changes.deal_changes_table(context, draws, history),
        c.LEADS: leads.leads_table(context, draws, lead_draws),
        c.ORDERS: orders.orders_table(context, draws, order_draws),
        c.SUBSCRIPTIONS: subscriptions.subscriptions_table(
            context, draws, subscription_draws, deals
        ),
        c.ONBOARDING: onboarding.onboarding_table(context, onboarding_draws, deals),
    }
    reps, weakness = truth.reps_truth(context, draws, quota)
    report = {
        "generator": {
            "module": "analysis.sample",
            "version": GENERATOR_VERSION,
            "seed": int(seed),
            "n_deals": context.n_deals,
            "cutoff": context.cutoff_at.isoformat(),
            "start": context.origin.isoformat(),
            "pipeline": pipeline.name,
            "open_stages": list(pipeline.stages),
            "won_stage": pipeline.won,
            "lost_stage": pipeline.lost,
            "stage_config_sha256": load_stages().sha256,
        },
        **truth.parameters_truth(context),
        "conversion_realised": truth.conversion_realised(context, draws),
        "conversion_realised_by_source": truth.conversion_realised(context, draws, by_source=True),
        "outcomes_realised": truth.outcome_realised(context, draws),
        "win_rate_by_decision_makers": truth.by_decision_makers(context, draws),
        "journey_realised": draws.journeys.counts,
        "bottleneck": truth.bottleneck_truth(context, draws),
        "reps": reps,
        "rep_weakness": weakness,
        "competitors_realised": truth.competitor_realised(context, draws),
        "experiments": act.experiment_truth(context, draws, experiments),
        "activities": act.activity_truth(plan, tables[c.ACTIVITIES]),
        **text.text_truth(),
        "feedback_realised": feedback_realised,
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
        **changes.history_truth(context, draws, history, tables[c.DEAL_CHANGES]),
        **leads_truth.lead_truth(context, draws, lead_draws),
        **after_sale_truth.after_sale_truth(
            context, draws, order_draws, subscription_draws, onboarding_draws
        ),
        "rows": {name: len(df) for name, df in tables.items()},
    }
    return SampleCRM(tables=MappingProxyType(tables), truth=truth.jsonable(report))
