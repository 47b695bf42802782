"""Why deals are won and lost: win rates, loss reasons, competitors, drivers, qualification, feedback.

The one import of notebook ``03_win_loss``::

    from analysis import winloss
    winloss.loss_reason_pareto(ws, "segment").to_frame()

Sub-packages :mod:`.drivers` (logistic win drivers) and :mod:`.feedback`
(themes and phrases in win/loss comments) hold the larger analyses.
"""

from __future__ import annotations

from analysis.engine.periods import resolve_windows
from analysis.pipeline.funnel import WinRates, win_rates
from analysis.winloss import columns
from analysis.winloss.compare import (
    CHANGE_PERCENT,
    ShareChange,
    compare_head_to_head,
    compare_loss_reasons,
)
from analysis.winloss.drivers import (
    DEFAULT_FEATURES,
    DriverFeatures,
    WinDrivers,
    driver_bands,
    driver_features,
    win_drivers,
)
from analysis.winloss.feedback import (
    DistinguishingPhrases,
    ThemeShares,
    coded_comments,
    distinguishing_phrases,
    load_themes,
    theme_shares,
)
from analysis.winloss.findings import (
    decision_maker_sentence,
    driver_sentences,
    findings_markdown,
    head_to_head_sentence,
    loss_reason_sentences,
    scorecard_sentence,
    theme_sentences,
    win_rate_sentences,
)
from analysis.winloss.outcomes import (
    HeadToHead,
    LossReasonPareto,
    head_to_head,
    loss_reason_pareto,
    lost_stage,
    with_owner_attributes,
)
from analysis.winloss.plots import odds_ratio_forest, pareto_chart, theme_share_chart
from analysis.winloss.qualification import CriteriaTable, criteria_table, default_criteria
from analysis.winloss.scorecard import Scorecard, build_scorecard

__all__ = [
    "CriteriaTable",
    "DistinguishingPhrases",
    "HeadToHead",
    "LossReasonPareto",
    "Scorecard",
    "ShareChange",
    "ThemeShares",
    "WinDrivers",
    "WinRates",
    "build_scorecard",
    "coded_comments",
    "columns",
    "CHANGE_PERCENT",
    "compare_head_to_head",
    "compare_loss_reasons",
    "criteria_table",
    "decision_maker_sentence",
    "default_criteria",
    "distinguishing_phrases",
    "driver_bands",
    "driver_sentences",
    "findings_markdown",
    "head_to_head",
    "head_to_head_sentence",
    "load_themes",
    "loss_reason_pareto",
    "loss_reason_sentences",
    "lost_stage",
    "odds_ratio_forest",
    "pareto_chart",
    "resolve_windows",
    "scorecard_sentence",
    "theme_sentences",
    "theme_share_chart",
    "theme_shares",
    "win_drivers",
    "DEFAULT_FEATURES",
    "DriverFeatures",
    "driver_features",
    "win_rate_sentences",
    "win_rates",
    "with_owner_attributes",
]
