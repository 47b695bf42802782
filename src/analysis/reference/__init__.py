"""Industry benchmarks: published figures with their definitions, set beside ours.

Benchmarks are read from ``config/benchmarks.yaml`` (:func:`load_benchmarks`);
:func:`compare_to_benchmarks` sets our measures beside every matching figure
and says where the definitions differ. :mod:`.measures` turns a win-rate
table into the measures it reads (``analysis.segments.segment_measures`` does
the same for a segment comparison).
"""

from __future__ import annotations

from analysis.reference.benchmarks import (
    COMPARISON,
    VALUE,
    Benchmark,
    Benchmarks,
    compare_to_benchmarks,
    comparison_sentences,
    load_benchmarks,
    same_definition,
)
from analysis.reference.measures import win_rate_measures

__all__ = [
    "COMPARISON",
    "VALUE",
    "Benchmark",
    "Benchmarks",
    "compare_to_benchmarks",
    "comparison_sentences",
    "load_benchmarks",
    "same_definition",
    "win_rate_measures",
]
