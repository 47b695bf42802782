"""How B2B and B2C differ: win rate, cycle, deal size, decision makers, acquisition cost.

The one import of notebook ``05_b2b_vs_b2c``::

    from analysis import segments
    segments.compare_segments(ws, "B2B", "B2C").to_frame()

Cost and trend figures come from :mod:`analysis.team` (the same measures,
split by segment); the first year after the close from :mod:`analysis.after_close`.
"""

from __future__ import annotations

from analysis.after_close import first_year, first_year_sentences
from analysis.core.types import Window
from analysis.engine.periods import resolve_windows, spanning
from analysis.segments import columns
from analysis.segments.compare import SegmentComparison, compare_segments
from analysis.segments.decision_makers import DecisionMakerEffect, decision_maker_effect
from analysis.segments.findings import segment_sentences
from analysis.segments.measures import segment_measures
from analysis.segments.plots import segment_chart
from analysis.segments.table import readable_comparison
from analysis.team.acquisition import acquisition_cost, pipeline_coverage
from analysis.team.findings import acquisition_sentences
from analysis.team.history import trend
from analysis.team.plots import trend_chart

__all__ = [
    "DecisionMakerEffect",
    "SegmentComparison",
    "Window",
    "acquisition_cost",
    "acquisition_sentences",
    "columns",
    "compare_segments",
    "decision_maker_effect",
    "first_year",
    "first_year_sentences",
    "pipeline_coverage",
    "resolve_windows",
    "spanning",
    "segment_chart",
    "readable_comparison",
    "segment_measures",
    "segment_sentences",
    "trend",
    "trend_chart",
]
