"""Industry benchmarks: published figures with their definitions, set beside ours.

Benchmarks are read from ``config/benchmarks.yaml`` (:func:`load_benchmarks`);
:func:`compare_to_benchmarks` sets our measures beside every matching figure
and says where the definitions differ. :mod:`.measures` turns the team and
segment results into the measures it reads.
"""

from __future__ import annotations

from analysis.reference.benchmarks import (
    COMPARISON,
    VALUE,
    Benchmark,
    Benchmarks,
    compare_to_benchmarks,
    load_benchmarks,
    same_definition,
)
from analysis.reference.measures import segment_measures, win_rate_measures

__all__ = [
    "COMPARISON",
    "VALUE",
    "Benchmark",
    "Benchmarks",
    "compare_to_benchmarks",
    "load_benchmarks",
    "same_definition",
    "segment_measures",
    "win_rate_measures",
]
