"""What is in the data: volumes, what ingest set aside, deal mix and outcomes.

The one import of notebook ``00_data_overview``::

    from analysis import overview
    overview.outcome_summary(ws, "segment").to_frame()
"""

from __future__ import annotations

from analysis.core import columns
from analysis.overview.findings import (
    data_quality_sentence,
    money_by_currency_sentence,
    outcome_sentences,
    overview_findings,
)
from analysis.overview.plots import deal_mix_chart, monthly_deals_chart, win_rate_chart
from analysis.overview.summary import (
    MoneyByCurrency,
    OutcomeSummary,
    current_stage,
    deal_mix,
    money_by_currency,
    monthly_created,
    outcome_summary,
    quarantine_summary,
    table_volumes,
)

__all__ = [
    "MoneyByCurrency",
    "OutcomeSummary",
    "columns",
    "current_stage",
    "data_quality_sentence",
    "deal_mix",
    "deal_mix_chart",
    "money_by_currency",
    "money_by_currency_sentence",
    "monthly_created",
    "monthly_deals_chart",
    "outcome_sentences",
    "outcome_summary",
    "overview_findings",
    "quarantine_summary",
    "table_volumes",
    "win_rate_chart",
]
