"""Sales–marketing alignment: the lead funnel before the deal, and speed to lead.

The one import of notebook ``07_marketing_alignment``::

    from analysis import marketing
    marketing.lead_funnel(ws, by="source").to_frame()
    marketing.speed_to_lead(ws).to_frame()

:mod:`.funnel` counts leads from MQL to won deal per group and step, with
waiting leads censored and Kaplan–Meier times between steps; :mod:`.speed`
relates the SQL rate to the first-response delay (bands, a trend within
source, the response-time curve); :mod:`.findings` says both in words;
:mod:`.lifecycle` holds the engine expressions they share. Both analyses
raise :class:`~analysis.core.errors.MissingInput` without a ``leads`` table,
so a page can skip them with a sentence.
"""

from __future__ import annotations

from analysis.core.errors import MissingInput
from analysis.engine.needs import LEAD_FUNNEL
from analysis.marketing import columns
from analysis.marketing.findings import funnel_sentences, speed_sentences
from analysis.marketing.funnel import LeadFunnel, lead_funnel
from analysis.marketing.lifecycle import lead_cutoff
from analysis.marketing.speed import CAVEAT, SpeedToLead, band_labels, speed_to_lead

__all__ = [
    "CAVEAT",
    "LEAD_FUNNEL",
    "LeadFunnel",
    "MissingInput",
    "SpeedToLead",
    "band_labels",
    "columns",
    "funnel_sentences",
    "lead_cutoff",
    "lead_funnel",
    "speed_sentences",
    "speed_to_lead",
]
