"""Where deals stall: stage transitions that fell against a baseline, ranked by what a fix is worth.

The public face of the bottleneck analysis: :func:`bottlenecks` (in
:mod:`.find`) and the columns of its ranking. The steps live in
:mod:`.horizon` (common follow-up after stage entry), :mod:`._compare` (the two
windows' conversions and their difference), :mod:`.impact` (revenue at stake
and benchmarks), :mod:`.rank` (the order and its notes) and :mod:`.views` (the
drops, the improvements and the rows not yet readable, as separate tables).
"""

from __future__ import annotations

from analysis.core.columns import DIFF_CI_HIGH, DIFF_CI_LOW, DIFFERENCE, P_ADJUSTED, P_VALUE, RANK
from analysis.pipeline.bottlenecks.find import (
    BENCHMARK_REVENUE_IMPACT,
    CONVERSION_BASELINE,
    CONVERSION_CURRENT,
    FOLLOWED_CURRENT,
    NEXT_STAGE,
    WINDOW_DAYS,
    Bottlenecks,
    bottlenecks,
)
from analysis.pipeline.bottlenecks.horizon import HORIZON_DAYS
from analysis.pipeline.bottlenecks.impact import (
    AVG_WON_AMOUNT,
    BENCHMARK_DEFINITION,
    BENCHMARK_GAP,
    BENCHMARK_NOTE,
    BENCHMARK_SOURCE,
    BENCHMARK_VALUE,
    DEFINITION_DIFFERS,
    DOWNSTREAM_WIN,
    STAGE_CONVERSION_DEFINITION,
    WIN_RATE_DEFINITION,
)
from analysis.pipeline.bottlenecks.rank import (
    FOLLOWED_SHARE_CURRENT,
    OPEN_SHARE_CURRENT,
    OVERALL_RANK,
    REVENUE_IMPACT,
    SIGNIFICANT_DROP,
)
from analysis.pipeline.bottlenecks.views import (
    READABLE_WHEN,
    drops,
    improvements,
    not_yet_readable,
)

__all__ = [
    "AVG_WON_AMOUNT",
    "BENCHMARK_DEFINITION",
    "BENCHMARK_GAP",
    "BENCHMARK_NOTE",
    "BENCHMARK_REVENUE_IMPACT",
    "BENCHMARK_SOURCE",
    "BENCHMARK_VALUE",
    "Bottlenecks",
    "CONVERSION_BASELINE",
    "CONVERSION_CURRENT",
    "FOLLOWED_CURRENT",
    "DEFINITION_DIFFERS",
    "DIFFERENCE",
    "DIFF_CI_HIGH",
    "DIFF_CI_LOW",
    "DOWNSTREAM_WIN",
    "FOLLOWED_SHARE_CURRENT",
    "HORIZON_DAYS",
    "NEXT_STAGE",
    "OPEN_SHARE_CURRENT",
    "OVERALL_RANK",
    "P_ADJUSTED",
    "P_VALUE",
    "RANK",
    "READABLE_WHEN",
    "REVENUE_IMPACT",
    "SIGNIFICANT_DROP",
    "STAGE_CONVERSION_DEFINITION",
    "WINDOW_DAYS",
    "WIN_RATE_DEFINITION",
    "bottlenecks",
    "drops",
    "improvements",
    "not_yet_readable",
]
