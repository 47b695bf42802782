"""Where deals drop out and how long they take: funnel, cycle time, velocity, bottlenecks.

The one import of notebook ``01_pipeline_bottlenecks``::

    from analysis import pipeline
    pipeline.stage_conversion(ws, "segment").to_frame()

Sub-packages :mod:`.bottlenecks`, :mod:`.cycle` and :mod:`.adherence` (process
adherence: skipped stages, re-entries, exit criteria) hold the larger analyses;
:mod:`.funnel` and :mod:`.velocity` the stage conversion and sales velocity.
"""

from __future__ import annotations

from analysis.core import columns
from analysis.engine.periods import resolve_windows
from analysis.pipeline.adherence import (
    ADHERENCE_PERCENT,
    ProcessAdherence,
    adherence_sentences,
    process_adherence,
    readable_adherence,
)
from analysis.pipeline.bottlenecks import (
    BENCHMARK_VALUE,
    CONVERSION_BASELINE,
    CONVERSION_CURRENT,
    DEFINITION_DIFFERS,
    DIFF_CI_HIGH,
    DIFF_CI_LOW,
    DIFFERENCE,
    FOLLOWED_CURRENT,
    HORIZON_DAYS,
    NEXT_STAGE,
    P_ADJUSTED,
    RANK,
    READABLE_WHEN,
    REVENUE_IMPACT,
    Bottlenecks,
    bottlenecks,
    drops,
    improvements,
    not_yet_readable,
)
from analysis.pipeline.cycle import (
    P_LOST,
    P_LOST_CI_HIGH,
    P_LOST_CI_LOW,
    P_OPEN,
    P_WON,
    P_WON_CI_HIGH,
    P_WON_CI_LOW,
    TimeInStage,
    TimeToClose,
    time_in_stage,
    time_to_close,
)
from analysis.pipeline.findings import bottleneck_actions, bottleneck_sentences, funnel_findings
from analysis.pipeline.funnel import (
    StageConversion,
    WinRates,
    stage_accounting,
    stage_conversion,
    win_rates,
)
from analysis.pipeline.plots import (
    funnel_chart,
    stage_conversion_chart,
    time_in_stage_chart,
    time_to_close_chart,
)
from analysis.pipeline.velocity import (
    Velocity,
    VelocityChange,
    decompose_velocity_change,
    sales_velocity,
)

__all__ = [
    "BENCHMARK_VALUE",
    "Bottlenecks",
    "CONVERSION_BASELINE",
    "CONVERSION_CURRENT",
    "DEFINITION_DIFFERS",
    "DIFFERENCE",
    "DIFF_CI_HIGH",
    "DIFF_CI_LOW",
    "FOLLOWED_CURRENT",
    "HORIZON_DAYS",
    "NEXT_STAGE",
    "P_ADJUSTED",
    "P_LOST",
    "P_LOST_CI_HIGH",
    "P_LOST_CI_LOW",
    "P_OPEN",
    "P_WON",
    "P_WON_CI_HIGH",
    "P_WON_CI_LOW",
    "ProcessAdherence",
    "RANK",
    "READABLE_WHEN",
    "REVENUE_IMPACT",
    "StageConversion",
    "TimeInStage",
    "TimeToClose",
    "Velocity",
    "VelocityChange",
    "WinRates",
    "ADHERENCE_PERCENT",
    "adherence_sentences",
    "bottleneck_actions",
    "bottleneck_sentences",
    "bottlenecks",
    "columns",
    "decompose_velocity_change",
    "drops",
    "improvements",
    "not_yet_readable",
    "process_adherence",
    "readable_adherence",
    "funnel_chart",
    "funnel_findings",
    "resolve_windows",
    "sales_velocity",
    "stage_accounting",
    "stage_conversion",
    "stage_conversion_chart",
    "time_in_stage",
    "time_in_stage_chart",
    "time_to_close",
    "time_to_close_chart",
    "win_rates",
]
