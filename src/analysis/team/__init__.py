"""How reps and channels perform and what a customer costs: scorecards, coaching, history, CAC.

The one import of notebook ``04_team_performance``::

    from analysis import team
    team.rep_scorecard(ws).to_frame()

:mod:`.acquisition` holds customer acquisition cost, lead-source quality and
pipeline coverage; :mod:`.history` period-over-period and trend comparisons.
"""

from __future__ import annotations

from analysis.core.types import Window
from analysis.engine.periods import resolve_windows, spanning
from analysis.pipeline.funnel import win_rates
from analysis.team import columns
from analysis.team.acquisition import (
    AcquisitionCost,
    acquisition_cost,
    pipeline_coverage,
    segment_cac,
    source_quality,
)
from analysis.team.coaching import CoachingFocus, coaching_focus, compare_to_team
from analysis.team.findings import (
    acquisition_sentences,
    coaching_actions,
    coaching_sentences,
    history_sentences,
    scorecard_sentences,
)
from analysis.team.history import (
    PeriodComparison,
    compare_periods,
    period_before,
    trend,
    year_before,
)
from analysis.team.performance import RepScorecard, rep_scorecard, win_rates_by_rep
from analysis.team.plots import funnel_plot, trend_chart

__all__ = [
    "AcquisitionCost",
    "CoachingFocus",
    "PeriodComparison",
    "RepScorecard",
    "Window",
    "acquisition_cost",
    "acquisition_sentences",
    "coaching_focus",
    "coaching_actions",
    "coaching_sentences",
    "columns",
    "compare_periods",
    "compare_to_team",
    "funnel_plot",
    "history_sentences",
    "period_before",
    "pipeline_coverage",
    "rep_scorecard",
    "resolve_windows",
    "spanning",
    "scorecard_sentences",
    "segment_cac",
    "source_quality",
    "trend",
    "trend_chart",
    "win_rates",
    "win_rates_by_rep",
    "year_before",
]
