"""The random core of one sample: the reps, the deals and their stage journeys.

:func:`draw_sample` draws them in this order from the generator's single
random stream; everything drawn later (loss reasons, experiments, activities,
feedback, quotas, spend) reads them from one :class:`SampleDraws`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.sample.context import SampleContext
from analysis.sample.deals import DealDraws, draw_deals
from analysis.sample.journeys import Journeys, simulate
from analysis.sample.reps import RepRoster, make_roster


@dataclass(frozen=True)
class SampleDraws:
    """The drawn reps, deals and journeys of one sample.

    Attributes
    ----------
    roster : RepRoster
        The reps (index = rep code in the other arrays).
    deals : DealDraws
        Per-deal attributes, in creation order.
    journeys : Journeys
        Stage events, outcomes and decision visits of every deal.
    """

    roster: RepRoster
    deals: DealDraws
    journeys: Journeys


def draw_sample(rng: np.random.Generator, context: SampleContext) -> SampleDraws:
    """Draw the reps, then the deals, then simulate their journeys up to the cutoff."""
    roster = make_roster(rng, context.plan)
    deals = draw_deals(rng, context, roster)
    journeys = simulate(rng, context, deals, roster)
    return SampleDraws(roster=roster, deals=deals, journeys=journeys)
