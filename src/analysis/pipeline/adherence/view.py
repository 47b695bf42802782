"""The adherence table as a page shows it: the comparison a reader needs, the rest in the CSV."""

from __future__ import annotations

import pandas as pd

from analysis.pipeline.adherence.process import ProcessAdherence

__all__ = ["ADHERENCE_PERCENT", "readable_adherence"]

_SHOWN = (
    "kind", "stage", "criterion_field", "win_rate_adherent", "win_rate_not_adherent",
    "difference", "diff_ci_low", "diff_ci_high", "odds_ratio_adjusted", "odds_ratio_ci_low",
    "odds_ratio_ci_high", "odds_ratio_p_adjusted",
)  # fmt: skip
# Columns of readable_adherence shown as percentages.
ADHERENCE_PERCENT = (
    "win_rate_adherent", "win_rate_not_adherent", "difference", "diff_ci_low", "diff_ci_high",
)  # fmt: skip


def readable_adherence(result: ProcessAdherence) -> pd.DataFrame:
    """Per check (overall, each exit criterion, each skippable stage): win rates of deals that
    followed it and did not, their difference, and the odds ratio adjusted for segment and size.
    Cycle times and counts stay in ``to_frame()`` and the CSV."""
    table = result.to_frame()
    return table[[col for col in _SHOWN if col in table.columns]]
