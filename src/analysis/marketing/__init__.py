"""Sales–marketing alignment: the lead funnel before the deal, and speed to lead.

The one import of notebook ``07_marketing_alignment``::

    from analysis import marketing
    marketing.lead_funnel(ws, by="source").to_frame()
    marketing.speed_to_lead(ws).to_frame()
    marketing.marketing_feedback(ws, by="campaign").themes
    marketing.source_quality(ws, by="source").to_frame()

:mod:`.funnel` counts leads from MQL to won deal per group and step, with
waiting leads censored and Kaplan–Meier times between steps; :mod:`.speed`
relates the SQL rate to the first-response delay (bands, a trend within
source, the response-time curve); :mod:`.feedback` ranks disqualification
and loss reasons and comment themes per source or campaign and tests where
they concentrate; :mod:`.quality` follows each source's leads to pipeline,
won revenue per lead and CAC (from :mod:`analysis.team.acquisition`);
:mod:`.findings` says all of them in words; :mod:`.lifecycle` holds the engine expressions they share. Every analysis
raises :class:`~analysis.core.errors.MissingInput` without a ``leads`` table,
so a page can skip them with a sentence.
"""

from __future__ import annotations

from analysis.core.errors import MissingInput
from analysis.engine.needs import LEAD_FUNNEL
from analysis.marketing import columns
from analysis.marketing.feedback import MarketingFeedback, marketing_feedback
from analysis.marketing.findings import (
    feedback_sentences,
    funnel_sentences,
    quality_sentences,
    speed_sentences,
)
from analysis.marketing.funnel import LeadFunnel, lead_funnel
from analysis.marketing.lifecycle import lead_cutoff
from analysis.marketing.quality import SourceQuality, source_quality
from analysis.marketing.speed import CAVEAT, SpeedToLead, band_labels, speed_to_lead
from analysis.marketing.view import (
    CONCENTRATION_PERCENT,
    FUNNEL_PERCENT,
    QUALITY_MONEY,
    QUALITY_PERCENT,
    acceptance_chart,
    readable_concentration,
    readable_funnel,
    readable_quality,
    readable_response_times,
    readable_speed,
)

__all__ = [
    "CAVEAT",
    "CONCENTRATION_PERCENT",
    "FUNNEL_PERCENT",
    "LEAD_FUNNEL",
    "LeadFunnel",
    "MarketingFeedback",
    "MissingInput",
    "QUALITY_MONEY",
    "QUALITY_PERCENT",
    "SourceQuality",
    "SpeedToLead",
    "acceptance_chart",
    "band_labels",
    "columns",
    "feedback_sentences",
    "funnel_sentences",
    "lead_cutoff",
    "lead_funnel",
    "marketing_feedback",
    "quality_sentences",
    "readable_concentration",
    "readable_funnel",
    "readable_quality",
    "readable_response_times",
    "readable_speed",
    "source_quality",
    "speed_sentences",
    "speed_to_lead",
]
