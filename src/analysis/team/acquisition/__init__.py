"""What a customer costs to acquire, which channels bring real buyers, and pipeline coverage.

The acquisition measures used together by the team-performance and segment
notebooks, each in its own module and importable from here:

- :mod:`analysis.team.acquisition.cac`: customer acquisition cost, blended and paid-only, with
  payback (:func:`acquisition_cost`, :func:`segment_cac`, :func:`cac_interval`,
  :func:`payback_months`);
- :mod:`analysis.team.acquisition.channels`: lead-source quality (:func:`source_quality`);
- :mod:`analysis.team.acquisition.coverage`: open pipeline against a target
  (:func:`pipeline_coverage`).
"""

from __future__ import annotations

from analysis.team.acquisition.cac import (
    NOTE_UNALLOCATED,
    PAID_CAC,
    PAID_CHANNELS,
    PAID_CUSTOMERS,
    PAID_SPEND,
    AcquisitionCost,
    acquisition_cost,
    cac_interval,
    payback_months,
    segment_cac,
)
from analysis.team.acquisition.channels import NOTE_NO_SOURCE, REVENUE_PER_DEAL, source_quality
from analysis.team.acquisition.coverage import (
    MEETS_TARGET,
    NOTE_NO_TARGET,
    PIPELINE_GAP,
    pipeline_coverage,
)

__all__ = [
    "MEETS_TARGET",
    "NOTE_NO_SOURCE",
    "NOTE_NO_TARGET",
    "NOTE_UNALLOCATED",
    "PAID_CAC",
    "PAID_CHANNELS",
    "PAID_CUSTOMERS",
    "PAID_SPEND",
    "PIPELINE_GAP",
    "REVENUE_PER_DEAL",
    "AcquisitionCost",
    "acquisition_cost",
    "cac_interval",
    "payback_months",
    "pipeline_coverage",
    "segment_cac",
    "source_quality",
]
