"""What customers and reps say: comment themes and the phrases that tell wins from losses.

Comments are coded against a theme lexicon (:mod:`.coding`), counted per
group (:mod:`.themes`) and compared word by word between wins and losses
(:mod:`.phrases`).
"""

from __future__ import annotations

from analysis.winloss.feedback.coding import coded_comments, load_themes
from analysis.winloss.feedback.phrases import DistinguishingPhrases, distinguishing_phrases
from analysis.winloss.feedback.themes import ThemeShares, theme_shares

__all__ = [
    "DistinguishingPhrases",
    "ThemeShares",
    "coded_comments",
    "distinguishing_phrases",
    "load_themes",
    "theme_shares",
]
