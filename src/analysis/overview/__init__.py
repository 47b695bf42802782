"""What is in the data: volumes, what ingest set aside, deal mix and outcomes.

The one import of notebook ``00_data_overview``::

    from analysis import overview
    overview.outcome_summary(ws, "segment").to_frame()
"""

from __future__ import annotations

from analysis.core import columns
from analysis.overview.findings import data_quality_sentence, outcome_sentences, overview_findings
from analysis.overview.plots import deal_mix_chart, monthly_deals_chart, win_rate_chart
from analysis.overview.summary import (
    OutcomeSummary,
    current_stage,
    deal_mix,
    monthly_created,
    outcome_summary,
    quarantine_summary,
    table_volumes,
)

__all__ = [
    "OutcomeSummary",
    "columns",
    "current_stage",
    "data_quality_sentence",
    "deal_mix",
    "deal_mix_chart",
    "monthly_created",
    "monthly_deals_chart",
    "outcome_sentences",
    "outcome_summary",
    "overview_findings",
    "quarantine_summary",
    "table_volumes",
    "win_rate_chart",
]
