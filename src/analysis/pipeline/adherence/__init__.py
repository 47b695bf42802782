"""Process adherence: stages skipped and re-entered, exit criteria met, and what goes with them.

:func:`process_adherence` reads each deal's stage history against the
pipeline (:mod:`.per_deal`, in the engine), compares adherent with
non-adherent deals on grouped counts (:mod:`.process`, :mod:`.compare`) and
:func:`adherence_sentences` words the result as association (:mod:`.findings`).
"""

from __future__ import annotations

from analysis.pipeline.adherence.compare import COMPARISON_COLUMNS, mantel_haenszel
from analysis.pipeline.adherence.findings import adherence_sentences
from analysis.pipeline.adherence.per_deal import (
    ADHERENCE,
    ADHERENT,
    ADHERENT_BEFORE_FINAL,
    CRITERIA_MISSED,
    CYCLE_DAYS,
    FURTHEST_STAGE,
    N_CRITERIA_CHECKED,
    N_REENTERED_STAGES,
    N_REENTRIES,
    N_SKIPPED_STAGES,
    REACHED_FINAL,
    REENTERED_STAGES,
    SKIPPED_STAGES,
    criterion_column,
    deal_adherence,
)
from analysis.pipeline.adherence.process import (
    CRITERION_FIELD,
    KIND,
    KIND_CRITERION,
    KIND_OVERALL,
    KIND_SKIP,
    ProcessAdherence,
    process_adherence,
)
from analysis.pipeline.adherence.view import ADHERENCE_PERCENT, readable_adherence

__all__ = [
    "ADHERENCE",
    "ADHERENCE_PERCENT",
    "ADHERENT",
    "ADHERENT_BEFORE_FINAL",
    "COMPARISON_COLUMNS",
    "CRITERIA_MISSED",
    "CRITERION_FIELD",
    "CYCLE_DAYS",
    "FURTHEST_STAGE",
    "KIND",
    "KIND_CRITERION",
    "KIND_OVERALL",
    "KIND_SKIP",
    "N_CRITERIA_CHECKED",
    "N_REENTERED_STAGES",
    "N_REENTRIES",
    "N_SKIPPED_STAGES",
    "REACHED_FINAL",
    "REENTERED_STAGES",
    "SKIPPED_STAGES",
    "ProcessAdherence",
    "adherence_sentences",
    "criterion_column",
    "deal_adherence",
    "mantel_haenszel",
    "process_adherence",
    "readable_adherence",
]
